# The slimmable teacher of the balanced font glyph benchmark: ResNet20,
# widths 0.25/0.5/0.75/1.0 trained jointly on 47 classes.
_base_ = ['../../fonts/resnet20_font_glyphs_balanced.py']

train_cfg = dict(max_epochs=4, val_interval=4)

slimmable = dict(widths=(0.25, 0.5, 0.75, 1.0),
                 input_shape=(3, {{_base_.image_size}}, {{_base_.image_size}}))
