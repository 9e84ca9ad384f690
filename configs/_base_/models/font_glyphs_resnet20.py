# CIFAR ResNet20 (the benchmark definition) for the 36 font glyph classes:
# the teacher of the font glyph benchmark.
font_glyphs_resnet20 = dict(
    type='ImageClassifier',
    backbone=dict(type='mmrazor.CIFARResNet', arch='resnet20'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=36,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
