# The demo teacher: an ordinary ResNet20 classifier on the digits data.
_base_ = [
    '../_base_/models/digits_resnet20.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
]

model = _base_.pop('digits_resnet20')
