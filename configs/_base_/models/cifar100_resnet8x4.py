# CIFAR resnet8x4 (the CRD / DKD benchmark definition) for CIFAR-100.
cifar100_resnet8x4 = dict(
    type='ImageClassifier',
    backbone=dict(type='mmrazor.CIFARResNet', arch='resnet8x4'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
