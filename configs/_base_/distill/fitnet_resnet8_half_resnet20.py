# FitNet (an L2 hint, weight 10, on the last stage's features, through a 1x1
# connector from the student's 32 channels to the teacher's 64) from CIFAR
# ResNet20 to ResNet8 at half width. A KD config becomes FitNet with this
# file in its _base_ and
#   model = dict(distiller={{_base_.fitnet_distiller}})
fitnet_distiller = dict(
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
            in_channel=32,
            out_channel=64,
            norm_cfg=dict(type='BN'))),
    loss_forward_mappings=dict(
        loss_hint=dict(
            s_feature=dict(
                from_student=True, recorder='feat', connector='hint_sfeat'),
            t_feature=dict(from_student=False, recorder='feat'))))
