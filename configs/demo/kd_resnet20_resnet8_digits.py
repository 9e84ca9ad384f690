# Logit KD (mmrazor's SingleTeacherDistill) from the demo ResNet20 teacher to
# ResNet8 on the digits data. teacher_ckpt: a checkpoint of
# configs/demo/resnet20_digits.py (set it with --cfg-options).
_base_ = [
    '../_base_/models/digits_resnet8.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
]

student = _base_.model
student._scope_ = 'mmpretrain'
teacher = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='mmrazor.CIFARResNet', arch='resnet20'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=10,
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=False),
    architecture=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/resnet20_digits/epoch_20.pth',
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

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
