# Logit KD from ResNet32x4 to ResNet8x4 (the paper's headline pair, as the
# CRD / DKD benchmark defines them) on the balanced font glyphs (47 classes
# at 16x16, one training typeface in eight, 16 epochs): the capacity-gap cell
# of benchmarks/regimes.py. teacher_ckpt: a checkpoint of
# configs/fonts/resnet32x4_font_glyphs_balanced.py, or the whole width
# exported from
# configs/pwkd/teachers/slimmable_resnet32x4_font_glyphs_balanced.py.
_base_ = ['./kd_resnet20_resnet8_half_font_glyphs_balanced.py']
model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='mmrazor.CIFARResNet',
                      arch='resnet8x4'),
        head=dict(in_channels=256)),
    teacher=dict(
        backbone=dict(arch='resnet32x4'), head=dict(in_channels=256)),
    teacher_ckpt='work_dirs/resnet32x4_font_glyphs_balanced/epoch_20.pth')
