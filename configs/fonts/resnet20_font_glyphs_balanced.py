# CIFAR ResNet20 on the balanced font glyphs (47 classes, test typefaces
# unseen in training): the ordinary teacher.
_base_ = [
    '../_base_/models/digits_resnet20.py',
    '../_base_/datasets/font_glyphs_balanced.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
]
model = dict(head=dict(num_classes=47))
default_hooks = dict(logger=dict(interval=50))
