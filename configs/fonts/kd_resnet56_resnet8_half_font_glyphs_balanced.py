# Logit KD from ResNet56 to ResNet8 at half width on the balanced font glyphs
# (47 classes at 16x16, one training typeface in eight, 16 epochs): the
# capacity-gap cell of benchmarks/regimes.py. teacher_ckpt: a checkpoint of
# configs/fonts/resnet56_font_glyphs_balanced.py, or the whole width exported
# from configs/pwkd/teachers/slimmable_resnet56_font_glyphs_balanced.py.
_base_ = ['./kd_resnet20_resnet8_half_font_glyphs_balanced.py']
model = dict(
    teacher=dict(backbone=dict(arch='resnet56')),
    teacher_ckpt='work_dirs/resnet56_font_glyphs_balanced/epoch_20.pth')
