# CIFAR ResNet20 on the balanced font glyphs (47 classes, test typefaces
# unseen in training): the ordinary teacher.
_base_ = [
    '../_base_/models/font_glyphs_resnet20.py',
    '../_base_/datasets/font_glyphs_balanced.py',
    '../_base_/schedules/font_glyphs_sgd_20e.py',
    '../_base_/font_glyphs_runtime.py',
]

model = _base_.pop('font_glyphs_resnet20')
model.head.num_classes = 47
