# CIFAR ResNet32x4 (the CRD / DKD benchmark definition) on the balanced font
# glyphs (47 classes at 16x16): the large teacher of the capacity-gap cell of
# benchmarks/regimes.py.
_base_ = [
    '../_base_/models/cifar100_resnet32x4.py',
    '../_base_/datasets/font_glyphs_balanced.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
]
model = dict(head=dict(num_classes=47))
default_hooks = dict(logger=dict(interval=50))
