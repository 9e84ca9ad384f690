# DKD (mmrazor's DKDLoss) from the demo ResNet20 teacher to ResNet8 on the
# digits data: CE weight 1.0, alpha 1, beta 8, temperature 4 (the DKD
# benchmark setting). teacher_ckpt: as in kd_resnet20_resnet8_digits.py.
_base_ = [
    './kd_resnet20_resnet8_digits.py', '../_base_/distill/dkd_logits.py'
]

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller={{_base_.dkd_distiller}})
