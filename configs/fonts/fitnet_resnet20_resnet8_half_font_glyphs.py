# FitNet (an L2 hint on the last stage's features, through a 1x1 connector
# from the student's 32 channels to the teacher's 64) from ResNet20 to
# ResNet8 at half width on the font glyphs.
_base_ = ['./kd_resnet20_resnet8_half_font_glyphs.py']

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
                in_channel=32,
                out_channel=64,
                norm_cfg=dict(type='BN'))),
        loss_forward_mappings=dict(
            loss_hint=dict(
                s_feature=dict(
                    from_student=True, recorder='feat',
                    connector='hint_sfeat'),
                t_feature=dict(from_student=False, recorder='feat')))))
