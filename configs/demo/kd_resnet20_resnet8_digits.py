# Logit KD (mmrazor's SingleTeacherDistill) from the demo ResNet20 teacher to
# ResNet8 on the digits data. teacher_ckpt: a checkpoint of
# configs/demo/resnet20_digits.py (set it with --cfg-options).
_base_ = [
    '../_base_/models/digits_resnet8.py',
    '../_base_/models/digits_resnet20.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
    '../_base_/distill/kd_logits.py',
]

model = dict(
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=10,
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=False),
    architecture=dict(
        _scope_='mmpretrain', **_base_.pop('digits_resnet8')),
    teacher=dict(
        _scope_='mmpretrain', **_base_.pop('digits_resnet20')),
    teacher_ckpt='work_dirs/resnet20_digits/epoch_20.pth')

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
