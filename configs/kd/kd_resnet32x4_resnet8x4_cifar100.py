# Logit KD, ResNet32x4 -> ResNet8x4 on CIFAR-100, the standard recipe:
# temperature 4, CE weight 0.1, KL weight 0.9, 240 epochs.
# teacher_ckpt: a checkpoint of configs/cifar100/resnet32x4_cifar100.py.
_base_ = [
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
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='mmrazor.CIFARResNet', arch='resnet8x4'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=256,
            loss=dict(type='CrossEntropyLoss', loss_weight=0.1))),
    teacher=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='mmrazor.CIFARResNet', arch='resnet32x4'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=256,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    teacher_ckpt='work_dirs/resnet32x4_cifar100/best.pth')

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
