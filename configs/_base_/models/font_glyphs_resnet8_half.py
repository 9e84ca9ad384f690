# CIFAR ResNet8 at half width (channels 8/8/16/32) for the 36 font glyph
# classes: the student of the font glyph benchmark.
font_glyphs_resnet8_half = dict(
    type='ImageClassifier',
    backbone=dict(type='mmrazor.CIFARResNet', arch='resnet8', width_ratio=0.5),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=36,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
