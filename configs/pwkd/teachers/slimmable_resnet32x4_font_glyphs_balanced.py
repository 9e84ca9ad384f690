# The slimmable ResNet32x4 of the balanced font glyphs (47 classes), widths
# 0.25/0.5/0.75/1.0 trained jointly: the teacher of the capacity-gap cell of
# benchmarks/regimes.py (ResNet32x4 -> ResNet8x4, the paper's headline pair,
# at the glyphs' 16x16).
_base_ = ['../../fonts/resnet32x4_font_glyphs_balanced.py']

train_cfg = dict(max_epochs=4, val_interval=4)

slimmable = dict(widths=(0.25, 0.5, 0.75, 1.0),
                 input_shape=(3, {{_base_.image_size}}, {{_base_.image_size}}))
