# CIFAR-100 as the CRD / DKD benchmarks train it: batch 64, random crop 32
# with padding 4, horizontal flip. Data under data/cifar100 (the
# cifar-100-python folder of the official archive).
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

train_dataloader = dict(batch_size=64, num_workers=4)
val_dataloader = dict(batch_size=64, num_workers=4)
test_dataloader = val_dataloader
