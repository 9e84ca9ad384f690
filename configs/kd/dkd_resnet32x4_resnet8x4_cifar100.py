# DKD (mmrazor's DKDLoss), ResNet32x4 -> ResNet8x4 on CIFAR-100: CE weight
# 1.0, alpha 1, beta 8, temperature 4 (the DKD benchmark setting).
_base_ = ['./kd_resnet32x4_resnet8x4_cifar100.py']

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc'),
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
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
                    recorder='gt_labels', from_student=True, data_idx=1)))))
