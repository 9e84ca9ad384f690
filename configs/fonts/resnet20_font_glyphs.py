# CIFAR ResNet20 on the font glyphs (36 classes, test typefaces unseen in
# training): the ordinary teacher.
_base_ = [
    '../_base_/models/digits_resnet20.py',
    '../_base_/datasets/font_glyphs.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
]
model = dict(head=dict(num_classes=36))
default_hooks = dict(logger=dict(interval=50))
