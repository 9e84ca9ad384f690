# The demo's slimmable teacher: ResNet20 on the digits data, widths
# 0.25/0.5/0.75/1.0 trained jointly.
_base_ = ['../../demo/resnet20_digits.py']

slimmable = dict(widths=(0.25, 0.5, 0.75, 1.0), input_shape=(3, 16, 16))
