# CIFAR ResNet32x4 (the CRD / DKD benchmark definition) on the balanced font
# glyphs (47 classes at 16x16): the large teacher of the capacity-gap cell of
# benchmarks/regimes.py.
_base_ = [
    '../_base_/models/cifar100_resnet32x4.py',
    '../_base_/datasets/font_glyphs_balanced.py',
    '../_base_/schedules/font_glyphs_sgd_20e.py',
    '../_base_/font_glyphs_runtime.py',
]

model = _base_.pop('cifar100_resnet32x4')
model.head.num_classes = 47
