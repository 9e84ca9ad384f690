# FitNet (a hint on the last stage's features, mmrazor's L2Loss through a
# 1x1 conv connector) from the demo ResNet20 teacher to ResNet8 on the
# digits data, with the student's cross entropy. teacher_ckpt: as in
# kd_resnet20_resnet8_digits.py.
_base_ = ['./kd_resnet20_resnet8_digits.py']

model = dict(
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer3')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer3')),
        distill_losses=dict(loss_hint=dict(type='L2Loss', loss_weight=10)),
        connectors=dict(
            hint_sfeat=dict(
                type='ConvModuleConnector',
                in_channel=64,
                out_channel=64,
                norm_cfg=dict(type='BN'))),
        loss_forward_mappings=dict(
            loss_hint=dict(
                s_feature=dict(
                    from_student=True, recorder='feat',
                    connector='hint_sfeat'),
                t_feature=dict(from_student=False, recorder='feat')))))
