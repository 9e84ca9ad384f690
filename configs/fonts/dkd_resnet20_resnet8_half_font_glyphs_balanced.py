# DKD from ResNet20 to ResNet8 at half width on the balanced font glyphs:
# kd_resnet20_resnet8_half_font_glyphs_balanced.py with the DKD distiller.
_base_ = [
    './kd_resnet20_resnet8_half_font_glyphs_balanced.py',
    '../_base_/distill/dkd_logits.py'
]

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller={{_base_.dkd_distiller}})
