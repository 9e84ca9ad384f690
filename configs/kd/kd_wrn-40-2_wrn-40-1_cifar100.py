# Logit KD, wrn-40-2 -> wrn-40-1 on CIFAR-100, the standard recipe (temperature 4,
# CE weight 0.1, KL weight 0.9, 240 epochs).
_base_ = ['./kd_resnet32x4_resnet8x4_cifar100.py']

model = dict(
    architecture=dict(
        backbone=dict(type='mmrazor.CIFARWideResNet', arch='wrn_40_1', _delete_=True),
        head=dict(in_channels=64)),
    teacher=dict(
        backbone=dict(type='mmrazor.CIFARWideResNet', arch='wrn_40_2', _delete_=True),
        head=dict(in_channels=128)),
    teacher_ckpt='work_dirs/wrn-40-2_cifar100/epoch_240.pth')
