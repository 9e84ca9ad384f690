# The demo student trained alone (the floor that distillation should beat).
_base_ = [
    '../_base_/models/digits_resnet8.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/digits_runtime.py',
]

model = _base_.pop('digits_resnet8')
