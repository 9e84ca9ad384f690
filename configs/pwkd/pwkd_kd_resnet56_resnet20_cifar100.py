# PWKD on top of logit KD, resnet56 -> resnet20 on CIFAR-100. pwkd.teacher_ckpt: a
# checkpoint of configs/pwkd/teachers/slimmable_resnet56_cifar100.py.
_base_ = ['../kd/kd_resnet56_resnet20_cifar100.py']

pwkd = dict(
    teacher_ckpt='work_dirs/slimmable_resnet56_cifar100/epoch_240.pth',
    widths=(0.25, 0.5, 0.75, 1.0),
    # The paper's plan: equal stages, a cosine restarted per stage (a
    # minimal block trains the measured default: docs/config_blocks.md).
    stage_split='equal',
    lr_cycle=dict(mode='cosine'))
