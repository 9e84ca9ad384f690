# Logit KD, vgg13 -> vgg8 on CIFAR-100, the standard recipe (temperature 4,
# CE weight 0.1, KL weight 0.9, 240 epochs).
_base_ = ['./kd_resnet32x4_resnet8x4_cifar100.py']

model = dict(
    architecture=dict(
        backbone=dict(type='mmrazor.CIFARVGG', arch='vgg8', _delete_=True),
        head=dict(in_channels=512)),
    teacher=dict(
        backbone=dict(type='mmrazor.CIFARVGG', arch='vgg13', _delete_=True),
        head=dict(in_channels=512)),
    teacher_ckpt='work_dirs/vgg13_cifar100/epoch_240.pth')
