# PWKD on top of DKD, ResNet32x4 -> ResNet8x4 on CIFAR-100.
# pwkd.teacher_ckpt: a checkpoint of
# configs/pwkd/teachers/slimmable_resnet32x4_cifar100.py.
_base_ = ['../kd/dkd_resnet32x4_resnet8x4_cifar100.py']

pwkd = dict(
    teacher_ckpt='work_dirs/slimmable_resnet32x4_cifar100/epoch_240.pth',
    widths=(0.25, 0.5, 0.75, 1.0),
    # The paper's plan: equal stages, a cosine restarted per stage (a
    # minimal block trains the measured default: docs/config_blocks.md).
    stage_split='equal',
    lr_cycle=dict(mode='cosine'))
