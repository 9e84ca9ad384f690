# Logit KD, ResNet32x4 -> ResNet8x4 on CIFAR-100, the standard recipe:
# temperature 4, CE weight 0.1, KL weight 0.9, 240 epochs.
# teacher_ckpt: the last checkpoint of configs/cifar100/resnet32x4_cifar100.py
# (save_best writes best_accuracy_top1_epoch_N.pth, a name known only after
# the run; give it with --cfg-options model.teacher_ckpt=... to use it).
_base_ = [
    '../_base_/models/cifar100_resnet8x4.py',
    '../_base_/models/cifar100_resnet32x4.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_kd_240e.py',
    '../_base_/cifar100_runtime.py',
    '../_base_/distill/kd_logits.py',
]

model = dict(
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=100,
        mean=[129.304, 124.070, 112.434],
        std=[68.170, 65.392, 70.418],
        to_rgb=False),
    architecture=dict(
        _scope_='mmpretrain', **_base_.pop('cifar100_resnet8x4')),
    teacher=dict(
        _scope_='mmpretrain', **_base_.pop('cifar100_resnet32x4')),
    teacher_ckpt='work_dirs/resnet32x4_cifar100/epoch_240.pth')
# The student's cross entropy weighs 0.1, beside the KL term's 0.9.
model['architecture']['head']['loss']['loss_weight'] = 0.1

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
