# CIFAR ResNet56 (the benchmark definition) on the balanced font glyphs (47
# classes at 16x16): the deep teacher of the capacity-gap cell of
# benchmarks/regimes.py (about 40x the parameters of ResNet8 at half width,
# 3x those of ResNet20).
_base_ = ['./resnet20_font_glyphs_balanced.py']

model = dict(backbone=dict(arch='resnet56'))
