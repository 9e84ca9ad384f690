"""Small fake CIFAR-10/100 files in the on-disk format of the real archives.

The files are the python pickles of ``cifar-10-python.tar.gz`` and
``cifar-100-python.tar.gz`` (same folder, file names, keys, dtypes and
layout), so :class:`mmpretrain.datasets.CIFAR10` and
:class:`mmpretrain.datasets.CIFAR100` read them unchanged. Those classes also
compare the md5 of every file with the one of the real archive, which fake
files cannot match: load them inside :func:`cifar_md5_check_disabled`.
"""
import os
import os.path as osp
import pickle
from contextlib import ExitStack, contextmanager
from typing import Iterator, Optional, Sequence
from unittest import mock

import numpy as np
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.categories import (CIFAR10_CATEGORIES,
                                            CIFAR100_CATEGORIES)

CIFAR100_COARSE_CATEGORIES = (
    'aquatic_mammals', 'fish', 'flowers', 'food_containers',
    'fruit_and_vegetables', 'household_electrical_devices',
    'household_furniture', 'insects', 'large_carnivores',
    'large_man-made_outdoor_things', 'large_natural_outdoor_scenes',
    'large_omnivores_and_herbivores', 'medium_mammals',
    'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals',
    'trees', 'vehicles_1', 'vehicles_2')

# The superclass (coarse label) of each of the 100 classes (fine labels).
CIFAR100_FINE_TO_COARSE = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11,
    5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8,
    8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17, 10, 3, 2,
    12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2,
    4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13)

_PICKLE_PROTOCOL = 2


def _fake_images(rng: np.random.Generator,
                 labels: np.ndarray,
                 num_classes: int) -> np.ndarray:
    """Images in the CIFAR row layout: uint8, ``N x 3072``, the 1024 red
    values first, then green, then blue, each plane row by row.

    Each class has its own mean colour and every pixel gets uniform noise,
    so that the classes are separable.
    """
    class_colors = rng.integers(32, 224, size=(num_classes, 3, 1, 1))
    noise = rng.integers(-32, 33, size=(len(labels), 3, 32, 32))
    images = np.clip(class_colors[labels] + noise, 0, 255).astype(np.uint8)
    return images.reshape(len(labels), 3 * 32 * 32)


def _fake_labels(rng: np.random.Generator, num: int,
                 num_classes: int) -> np.ndarray:
    """Labels cycling over the classes (``min(num, num_classes)`` distinct
    ones) in a random order."""
    return rng.permutation(np.arange(num) % num_classes)


def _filenames(labels: np.ndarray, class_names: Sequence[str],
               start: int) -> list:
    """File names in the style of the real ones,
    e.g. ``'apple_s_000012.png'``."""
    return [
        f'{class_names[label]}_s_{start + i:06d}.png'
        for i, label in enumerate(labels)
    ]


def _dump(obj: dict, path: str) -> None:
    """Pickle ``obj`` to ``path``."""
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=_PICKLE_PROTOCOL)


def _check_sizes(num_train: int, num_test: int) -> None:
    """Refuse empty splits."""
    for key, value in (('num_train', num_train), ('num_test', num_test)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{key} must be a positive int, got {value!r}.')


def write_fake_cifar100(root: str,
                        num_train: int = 200,
                        num_test: int = 100,
                        seed: int = 0) -> str:
    """Write a small fake CIFAR-100 in the format of the real archive.

    Creates ``root/cifar-100-python/`` with the pickles ``train``, ``test``
    (dicts with ``filenames``, ``batch_label``, ``fine_labels``,
    ``coarse_labels`` and ``data``, a uint8 array of shape ``N x 3072``) and
    ``meta`` (``fine_label_names`` and ``coarse_label_names``). Labels cycle
    over the 100 classes in a random order, coarse labels follow the real
    class to superclass map. Everything is a function of the arguments.

    Args:
        root (str): The data root; created when missing.
        num_train (int): Number of training images. Defaults to 200.
        num_test (int): Number of test images. Defaults to 100.
        seed (int): Seed of the images and labels. Defaults to 0.

    Returns:
        str: ``root``, to be passed as ``data_root`` of ``CIFAR100``.
    """
    _check_sizes(num_train, num_test)
    root = str(root)
    folder = osp.join(root, CIFAR100.base_folder)
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    fine_to_coarse = np.asarray(CIFAR100_FINE_TO_COARSE)

    for name, num, batch_label in (('train', num_train,
                                    'training batch 1 of 1'),
                                   ('test', num_test,
                                    'testing batch 1 of 1')):
        labels = _fake_labels(rng, num, len(CIFAR100_CATEGORIES))
        _dump(
            {
                'filenames': _filenames(labels, CIFAR100_CATEGORIES, 0),
                'batch_label': batch_label,
                'fine_labels': labels.tolist(),
                'coarse_labels': fine_to_coarse[labels].tolist(),
                'data': _fake_images(rng, labels, len(CIFAR100_CATEGORIES)),
            }, osp.join(folder, name))

    _dump(
        {
            'fine_label_names': list(CIFAR100_CATEGORIES),
            'coarse_label_names': list(CIFAR100_COARSE_CATEGORIES),
        }, osp.join(folder, CIFAR100.meta['filename']))
    return root


def write_fake_cifar10(root: str,
                       num_train: int = 50,
                       num_test: int = 20,
                       seed: int = 0) -> str:
    """Write a small fake CIFAR-10 in the format of the real archive.

    Creates ``root/cifar-10-batches-py/`` with the pickles ``data_batch_1``
    to ``data_batch_5`` (the training images split as evenly as possible),
    ``test_batch`` (dicts with ``batch_label``, ``labels``, ``data``, a
    uint8 array of shape ``N x 3072``, and ``filenames``) and
    ``batches.meta`` (``num_cases_per_batch``, ``label_names`` and
    ``num_vis``). Labels cycle over the 10 classes in a random order.

    Args:
        root (str): The data root; created when missing.
        num_train (int): Number of training images. Defaults to 50.
        num_test (int): Number of test images. Defaults to 20.
        seed (int): Seed of the images and labels. Defaults to 0.

    Returns:
        str: ``root``, to be passed as ``data_root`` of ``CIFAR10``.
    """
    _check_sizes(num_train, num_test)
    root = str(root)
    folder = osp.join(root, CIFAR10.base_folder)
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    num_classes = len(CIFAR10_CATEGORIES)

    train_labels = _fake_labels(rng, num_train, num_classes)
    train_images = _fake_images(rng, train_labels, num_classes)
    num_batches = len(CIFAR10.train_list)
    start = 0
    for i, (labels, images) in enumerate(
            zip(
                np.array_split(train_labels, num_batches),
                np.array_split(train_images, num_batches)), 1):
        _dump(
            {
                'batch_label': f'training batch {i} of {num_batches}',
                'labels': labels.tolist(),
                'data': images,
                'filenames': _filenames(labels, CIFAR10_CATEGORIES, start),
            }, osp.join(folder, f'data_batch_{i}'))
        start += len(labels)

    test_labels = _fake_labels(rng, num_test, num_classes)
    _dump(
        {
            'batch_label': 'testing batch 1 of 1',
            'labels': test_labels.tolist(),
            'data': _fake_images(rng, test_labels, num_classes),
            'filenames': _filenames(test_labels, CIFAR10_CATEGORIES, 0),
        }, osp.join(folder, 'test_batch'))

    _dump(
        {
            'num_cases_per_batch': -(-num_train // num_batches),
            'label_names': list(CIFAR10_CATEGORIES),
            'num_vis': 3 * 32 * 32,
        }, osp.join(folder, CIFAR10.meta['filename']))
    return root


@contextmanager
def cifar_md5_check_disabled(
        dataset_classes: Optional[Sequence[type]] = None) -> Iterator[None]:
    """Let mmpretrain's CIFAR data sets load files whose md5 differs from the
    real archive's, such as those of :func:`write_fake_cifar100`.

    ``CIFAR10``/``CIFAR100`` check the md5 of their files against the class
    attributes ``train_list``, ``test_list`` and ``meta``, and skip the check
    of an entry whose md5 is None. Inside the context these attributes are
    replaced with copies whose md5 entries are None; they are restored on
    exit. Build the data set inside the context (with ``lazy_init=True``,
    call ``full_init()`` inside it too).

    Args:
        dataset_classes (Sequence[type], optional): The classes to patch.
            Defaults to None, which means ``(CIFAR10, CIFAR100)``.
    """
    if dataset_classes is None:
        dataset_classes = (CIFAR10, CIFAR100)
    with ExitStack() as stack:
        for cls in dataset_classes:
            for attr in ('train_list', 'test_list'):
                entries = [[name, None] for name, _ in getattr(cls, attr)]
                stack.enter_context(mock.patch.object(cls, attr, entries))
            stack.enter_context(
                mock.patch.object(cls, 'meta', {**cls.meta, 'md5': None}))
        yield
