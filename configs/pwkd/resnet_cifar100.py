# The ResNet32x4 -> ResNet8x4 PWKD config of the CIFAR-100 pipeline (logit
# KD, the standard recipe): pwkd_kd_resnet32x4_resnet8x4_cifar100.py under
# this short name.
_base_ = ['./pwkd_kd_resnet32x4_resnet8x4_cifar100.py']
