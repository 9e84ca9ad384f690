# The ResNet32x4 teacher of the CIFAR-100 benchmark, trained alone.
_base_ = [
    '../_base_/models/cifar100_resnet32x4.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_kd_240e.py',
    '../_base_/cifar100_runtime.py',
]

model = _base_.pop('cifar100_resnet32x4')
