from .cifar_resnet import CIFARResNet
from .cifar_vgg import CIFARVGG
from .cifar_wide_resnet import CIFARWideResNet

__all__ = ['CIFARResNet', 'CIFARWideResNet', 'CIFARVGG']
