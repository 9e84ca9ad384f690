# Logit KD (mmrazor's SingleTeacherDistill) from ResNet20 to ResNet8 at half
# width on the font glyphs; the student's data and schedule are those of
# resnet8_half_font_glyphs.py. teacher_ckpt: a checkpoint of
# configs/fonts/resnet20_font_glyphs.py, or the whole width exported from
# configs/pwkd/teachers/slimmable_resnet20_font_glyphs.py (set it with
# --cfg-options model.teacher_ckpt=...).
_base_ = [
    '../_base_/models/font_glyphs_resnet8_half.py',
    '../_base_/models/font_glyphs_resnet20.py',
    '../_base_/datasets/font_glyphs.py',
    '../_base_/schedules/font_glyphs_sgd_20e.py',
    '../_base_/font_glyphs_runtime.py',
    '../_base_/distill/kd_logits.py',
]
model = dict(
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=36,
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=False),
    architecture=dict(
        _scope_='mmpretrain', **_base_.pop('font_glyphs_resnet8_half')),
    teacher=dict(
        _scope_='mmpretrain', **_base_.pop('font_glyphs_resnet20')),
    teacher_ckpt='work_dirs/resnet20_font_glyphs/epoch_20.pth')
train_dataloader = dict(dataset=dict(font_step=8))
train_cfg = dict(max_epochs=16, val_interval=4)
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
