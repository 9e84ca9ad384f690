# The balanced font glyph benchmark's student trained alone: CIFAR ResNet8
# at half width on one training typeface in eight (font_step=8), 47 classes
# at 16x16, 16 epochs.
_base_ = [
    '../_base_/models/font_glyphs_resnet8_half.py',
    '../_base_/datasets/font_glyphs_balanced.py',
    '../_base_/schedules/font_glyphs_sgd_20e.py',
    '../_base_/font_glyphs_runtime.py',
]

model = _base_.pop('font_glyphs_resnet8_half')
model.head.num_classes = 47
train_dataloader = dict(dataset=dict(font_step=8))
train_cfg = dict(max_epochs=16, val_interval=4)
