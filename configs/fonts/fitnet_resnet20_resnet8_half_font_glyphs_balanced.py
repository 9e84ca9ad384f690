# FitNet from ResNet20 to ResNet8 at half width on the balanced font glyphs:
# kd_resnet20_resnet8_half_font_glyphs_balanced.py with the hint distiller
# of ../_base_/distill/fitnet_resnet8_half_resnet20.py.
_base_ = [
    './kd_resnet20_resnet8_half_font_glyphs_balanced.py',
    '../_base_/distill/fitnet_resnet8_half_resnet20.py'
]

model = dict(distiller={{_base_.fitnet_distiller}})
