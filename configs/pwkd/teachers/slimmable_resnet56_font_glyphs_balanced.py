# The slimmable ResNet56 of the balanced font glyphs (47 classes), widths
# 0.25/0.5/0.75/1.0 trained jointly: the teacher of the capacity-gap cell of
# benchmarks/regimes.py (ResNet56 -> ResNet8 at half width).
_base_ = ['../../fonts/resnet56_font_glyphs_balanced.py']

train_cfg = dict(max_epochs=4, val_interval=4)

slimmable = dict(widths=(0.25, 0.5, 0.75, 1.0),
                 input_shape=(3, {{_base_.image_size}}, {{_base_.image_size}}))
