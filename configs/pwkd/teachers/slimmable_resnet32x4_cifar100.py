# Slimmable ResNet32x4 teacher for CIFAR-100, the standard recipe (SGD 0.05,
# weight decay 5e-4, batch 64, 240 epochs, x0.1 at 150/180/210), widths
# 0.25/0.5/0.75/1.0 trained jointly. To fine-tune an ordinary ResNet32x4
# checkpoint instead of training from scratch, set
# slimmable.init_from='path/to/resnet32x4.pth' (and a shorter schedule).
_base_ = ['../../cifar100/resnet32x4_cifar100.py']

slimmable = dict(widths=(0.25, 0.5, 0.75, 1.0), input_shape=(3, 32, 32))
