import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample

from pwkd_plugin.testing import (cifar_md5_check_disabled,
                                 write_fake_cifar10, write_fake_cifar100)
from pwkd_plugin.testing.fake_cifar import CIFAR100_FINE_TO_COARSE

TRAIN_PIPELINE = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]


@pytest.fixture
def cifar100_root(tmp_path):
    return write_fake_cifar100(tmp_path, num_train=120, num_test=40, seed=0)


def build(dataset_type, root, split, pipeline=()):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(
            dict(
                type=dataset_type,
                data_root=root,
                split=split,
                download=False,
                pipeline=list(pipeline)))


def load(root, name):
    with open(osp.join(root, 'cifar-100-python', name), 'rb') as f:
        return pickle.load(f, encoding='latin1')


def test_files_have_the_real_format(cifar100_root):
    train = load(cifar100_root, 'train')
    assert set(train) == {
        'filenames', 'batch_label', 'fine_labels', 'coarse_labels', 'data'
    }
    assert train['data'].dtype == np.uint8
    assert train['data'].shape == (120, 3072)
    assert train['batch_label'] == 'training batch 1 of 1'
    assert len(train['filenames']) == 120
    assert all(isinstance(label, int) for label in train['fine_labels'])
    assert train['coarse_labels'] == [
        CIFAR100_FINE_TO_COARSE[label] for label in train['fine_labels']
    ]
    assert len(set(train['fine_labels'])) == 100
    assert load(cifar100_root, 'test')['data'].shape == (40, 3072)
    meta = load(cifar100_root, 'meta')
    assert set(meta) == {'fine_label_names', 'coarse_label_names'}
    assert len(meta['fine_label_names']) == 100
    assert len(meta['coarse_label_names']) == 20
    assert np.bincount(CIFAR100_FINE_TO_COARSE).tolist() == [5] * 20


def test_md5_check_is_restored(cifar100_root):
    with cifar_md5_check_disabled():
        assert CIFAR100.train_list == [['train', None]]
        assert CIFAR100.meta['md5'] is None
    assert CIFAR100.train_list[0][1] is not None
    assert CIFAR100.meta['md5'] is not None
    with pytest.raises(RuntimeError):
        build('CIFAR100', cifar100_root, 'train')


@pytest.mark.parametrize('split,length', [('train', 120), ('test', 40)])
def test_load_with_mmpretrain_cifar100(cifar100_root, split, length):
    with cifar_md5_check_disabled():
        dataset = build('CIFAR100', cifar100_root, split)
    assert isinstance(dataset, CIFAR100)
    assert len(dataset) == length
    assert len(dataset.CLASSES) == 100
    assert dataset.CLASSES == tuple(load(cifar100_root, 'meta')
                                    ['fine_label_names'])
    info = dataset.get_data_info(0)
    assert info['img'].shape == (32, 32, 3)
    assert info['img'].dtype == np.uint8
    labels = dataset.get_gt_labels()
    assert len(set(labels.tolist())) == min(length, 100)
    raw = load(cifar100_root, split)
    assert labels.tolist() == raw['fine_labels']
    np.testing.assert_array_equal(
        info['img'], raw['data'][0].reshape(3, 32, 32).transpose(1, 2, 0))


def test_training_pipeline(cifar100_root):
    with cifar_md5_check_disabled():
        dataset = build('CIFAR100', cifar100_root, 'train', TRAIN_PIPELINE)
    for i in range(4):
        out = dataset[i]
        assert out['inputs'].shape == (3, 32, 32)
        assert out['inputs'].dtype == torch.uint8
        assert isinstance(out['data_samples'], DataSample)
        assert out['data_samples'].gt_label.tolist() == [
            dataset.get_data_info(i)['gt_label']
        ]


def test_deterministic(tmp_path):
    first = load(write_fake_cifar100(tmp_path / 'a', seed=3), 'train')
    second = load(write_fake_cifar100(tmp_path / 'b', seed=3), 'train')
    other = load(write_fake_cifar100(tmp_path / 'c', seed=4), 'train')
    np.testing.assert_array_equal(first['data'], second['data'])
    assert first['fine_labels'] == second['fine_labels']
    assert not np.array_equal(first['data'], other['data'])


def test_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match='num_train'):
        write_fake_cifar100(tmp_path, num_train=0)
    with pytest.raises(ValueError, match='num_test'):
        write_fake_cifar10(tmp_path, num_test=-1)


def test_fake_cifar10(tmp_path):
    root = write_fake_cifar10(tmp_path, num_train=23, num_test=7)
    with cifar_md5_check_disabled():
        train = build('CIFAR10', root, 'train', TRAIN_PIPELINE)
        test = build('CIFAR10', root, 'test')
    assert isinstance(train, CIFAR10)
    assert len(train) == 23 and len(test) == 7
    assert len(train.CLASSES) == 10
    assert set(train.get_gt_labels().tolist()) == set(range(10))
    assert train[0]['inputs'].shape == (3, 32, 32)
    assert test.get_data_info(0)['img'].shape == (32, 32, 3)
