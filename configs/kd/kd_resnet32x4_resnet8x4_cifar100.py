# Logit KD, ResNet32x4 -> ResNet8x4 on CIFAR-100, the standard recipe:
# temperature 4, CE weight 0.1, KL weight 0.9, 240 epochs.
# teacher_ckpt: a checkpoint of configs/cifar100/resnet32x4_cifar100.py.
_base_ = [
    '../_base_/models/cifar100_resnet8x4.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_kd_240e.py',
    '../_base_/cifar100_runtime.py',
]

student = _base_.model
student._scope_ = 'mmpretrain'
student.head.loss.loss_weight = 0.1
teacher = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='mmrazor.CIFARResNet', arch='resnet32x4'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=100,
        mean=[129.304, 124.070, 112.434],
        std=[68.170, 65.392, 70.418],
        to_rgb=False),
    architecture=student,
    teacher=teacher,
    teacher_ckpt='work_dirs/resnet32x4_cifar100/best.pth',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kl=dict(type='KLDivergence', tau=4, loss_weight=0.9)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
