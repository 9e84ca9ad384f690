# The demo: PWKD on top of logit KD, ResNet20 (slimmable) -> ResNet8 on the
# digits data. pwkd.teacher_ckpt: a checkpoint of
# configs/pwkd/teachers/slimmable_resnet20_digits.py (set it with
# --cfg-options pwkd.teacher_ckpt=...).
_base_ = ['../demo/kd_resnet20_resnet8_digits.py']

pwkd = dict(
    teacher_ckpt='work_dirs/slimmable_resnet20_digits/epoch_20.pth',
    widths=(0.25, 0.5, 0.75, 1.0),
    # The paper's plan: equal stages, a cosine restarted per stage (a
    # minimal block trains the measured default: docs/config_blocks.md).
    stage_split='equal',
    lr_cycle=dict(mode='cosine'))
