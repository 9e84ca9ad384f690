# DKD (mmrazor's DKDLoss) on the classifiers' logits: alpha 1, beta 8,
# temperature 4 (the DKD benchmark setting). A KD config becomes DKD with
# this file in its _base_ and
#   model = dict(distiller={{_base_.dkd_distiller}},
#                architecture=dict(head=dict(loss=dict(loss_weight=1.0))))
dkd_distiller = dict(
    _delete_=True,
    type='ConfigurableDistiller',
    student_recorders=dict(
        fc=dict(type='ModuleOutputs', source='head.fc'),
        gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_dkd=dict(
            type='DKDLoss',
            tau=4,
            alpha=1.0,
            beta=8.0,
            reduction='batchmean',
            loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_dkd=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc'),
            gt_labels=dict(
                recorder='gt_labels', from_student=True, data_idx=1))))
