# Logit KD with mmrazor's SingleTeacherDistill (temperature 4, KL weight 0.9,
# as the CIFAR-100 benchmark recipe). A config built on it sets
# model.architecture and model.teacher (classifier configs),
# model.teacher_ckpt and model.data_preprocessor, and
# val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop').
model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kl=dict(type='KLDivergence', tau=4, loss_weight=0.9)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
