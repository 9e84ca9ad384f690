"""Helpers for tests and benchmarks: fake data sets and teacher checkpoints."""
from .fake_cifar import (cifar_md5_check_disabled, write_fake_cifar10,
                         write_fake_cifar100)
from .slimmable_checkpoints import save_untrained_slimmable_teacher

__all__ = [
    'cifar_md5_check_disabled', 'write_fake_cifar10', 'write_fake_cifar100',
    'save_untrained_slimmable_teacher'
]
