# The vgg13 teacher of the CIFAR-100 benchmark, trained alone.
_base_ = ['./resnet32x4_cifar100.py']

model = dict(
    backbone=dict(type='mmrazor.CIFARVGG', arch='vgg13', _delete_=True),
    head=dict(in_channels=512))
