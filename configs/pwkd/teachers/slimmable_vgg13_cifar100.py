# Slimmable vgg13 teacher for CIFAR-100 (widths 0.25/0.5/0.75/1.0 trained
# jointly, the standard 240-epoch recipe).
_base_ = ['../../cifar100/vgg13_cifar100.py']

slimmable = dict(widths=(0.25, 0.5, 0.75, 1.0), input_shape=(3, 32, 32))
