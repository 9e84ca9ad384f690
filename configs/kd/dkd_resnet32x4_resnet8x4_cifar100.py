# DKD (mmrazor's DKDLoss), ResNet32x4 -> ResNet8x4 on CIFAR-100: CE weight
# 1.0, alpha 1, beta 8, temperature 4 (the DKD benchmark setting).
_base_ = [
    './kd_resnet32x4_resnet8x4_cifar100.py', '../_base_/distill/dkd_logits.py'
]

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller={{_base_.dkd_distiller}})
