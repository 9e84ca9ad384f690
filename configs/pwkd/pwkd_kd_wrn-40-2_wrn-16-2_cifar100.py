# PWKD on top of logit KD, wrn-40-2 -> wrn-16-2 on CIFAR-100. pwkd.teacher_ckpt: a
# checkpoint of configs/pwkd/teachers/slimmable_wrn-40-2_cifar100.py.
_base_ = ['../kd/kd_wrn-40-2_wrn-16-2_cifar100.py']

pwkd = dict(
    teacher_ckpt='work_dirs/slimmable_wrn-40-2_cifar100/epoch_240.pth',
    widths=(0.25, 0.5, 0.75, 1.0),
    # The paper's plan: equal stages, a cosine restarted per stage (a
    # minimal block trains the measured default: docs/config_blocks.md).
    stage_split='equal',
    lr_cycle=dict(mode='cosine'))
