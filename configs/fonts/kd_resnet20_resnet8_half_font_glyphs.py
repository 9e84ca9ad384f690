# Logit KD (mmrazor's SingleTeacherDistill) from ResNet20 to ResNet8 at half
# width on the font glyphs; the student's data and schedule are those of
# resnet8_half_font_glyphs.py. teacher_ckpt: a checkpoint of
# configs/fonts/resnet20_font_glyphs.py, or the whole width exported from
# configs/pwkd/teachers/slimmable_resnet20_font_glyphs.py (set it with
# --cfg-options model.teacher_ckpt=...).
_base_ = [
    '../_base_/datasets/font_glyphs.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
    '../_base_/distill/kd_logits.py',
]
model = dict(
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=36,
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=False),
    # As configs/_base_/models/font_glyphs_resnet8_half.py.
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(
            type='mmrazor.CIFARResNet', arch='resnet8', width_ratio=0.5),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=36,
            in_channels=32,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    teacher=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='mmrazor.CIFARResNet', arch='resnet20'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=36,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    teacher_ckpt='work_dirs/resnet20_font_glyphs/epoch_20.pth')
train_dataloader = dict(dataset=dict(font_step=8))
train_cfg = dict(max_epochs=16, val_interval=4)
default_hooks = dict(logger=dict(interval=50))
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
