# CIFAR ResNet8 (the benchmark definition) for 10 classes.
digits_resnet8 = dict(
    type='ImageClassifier',
    backbone=dict(type='mmrazor.CIFARResNet', arch='resnet8'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
