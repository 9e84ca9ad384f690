"""Helpers for the tests: small fake data sets on disk."""
from .fake_cifar import (cifar_md5_check_disabled, write_fake_cifar10,
                         write_fake_cifar100)

__all__ = [
    'cifar_md5_check_disabled', 'write_fake_cifar10', 'write_fake_cifar100'
]
