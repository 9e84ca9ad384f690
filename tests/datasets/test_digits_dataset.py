import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.evaluation import Accuracy
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample

from pwkd_plugin.datasets import DigitsDataset

NUM_TRAIN, NUM_TEST = 1437, 360


@pytest.fixture(scope='module')
def train_set():
    return DigitsDataset(split='train')


@pytest.fixture(scope='module')
def test_set():
    return DigitsDataset(split='test')


@pytest.fixture
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def test_split_sizes(train_set, test_set):
    assert len(train_set) == NUM_TRAIN
    assert len(test_set) == NUM_TEST
    assert NUM_TRAIN + NUM_TEST == 1797


def test_splits_are_disjoint(train_set, test_set):
    train_idx = {train_set.get_data_info(i)['source_idx']
                 for i in range(len(train_set))}
    test_idx = {test_set.get_data_info(i)['source_idx']
                for i in range(len(test_set))}
    assert len(train_idx) == NUM_TRAIN
    assert len(test_idx) == NUM_TEST
    assert train_idx.isdisjoint(test_idx)
    assert train_idx | test_idx == set(range(1797))
    np.testing.assert_array_equal(
        sorted(test_idx), DigitsDataset.split_indices('test'))


def test_labels_cover_all_classes(train_set, test_set):
    assert train_set.METAINFO['classes'] == tuple('0123456789')
    assert train_set.CLASSES == tuple('0123456789')
    for dataset in (train_set, test_set):
        labels = dataset.get_gt_labels()
        assert labels.min() >= 0 and labels.max() <= 9
        assert set(labels.tolist()) == set(range(10))
    # stratified: every class keeps about 20% of its images in the test set
    counts = np.bincount(test_set.get_gt_labels(), minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


@pytest.mark.parametrize('image_size', [8, 32])
def test_image_shape_and_dtype(image_size):
    dataset = DigitsDataset(split='test', image_size=image_size)
    img = dataset.get_data_info(0)['img']
    assert img.shape == (image_size, image_size, 3)
    assert img.dtype == np.uint8
    assert isinstance(dataset.get_data_info(0)['gt_label'], int)
    np.testing.assert_array_equal(img[..., 0], img[..., 1])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    assert img.max() <= 255 and img.max() > 200


def test_pixel_values_match_sklearn(test_set):
    from sklearn.datasets import load_digits
    digits = load_digits()
    info = test_set.get_data_info(3)
    expected = np.rint(digits.images[info['source_idx']] * 255 / 16)
    np.testing.assert_array_equal(info['img'][..., 0], expected)
    assert info['gt_label'] == digits.target[info['source_idx']]


def test_upscaling():
    small = DigitsDataset(split='test').get_data_info(0)['img']
    nearest = DigitsDataset(split='test', image_size=32).get_data_info(0)
    np.testing.assert_array_equal(
        nearest['img'], np.repeat(np.repeat(small, 4, axis=0), 4, axis=1))
    bilinear = DigitsDataset(
        split='test', image_size=32, interpolation='bilinear')
    assert bilinear.get_data_info(0)['img'].shape == (32, 32, 3)
    assert bilinear.get_data_info(0)['gt_label'] == nearest['gt_label']


def test_deterministic():
    first = DigitsDataset(split='train', image_size=32)
    second = DigitsDataset(split='train', image_size=32)
    assert len(first) == len(second)
    for i in range(len(first)):
        a, b = first.get_data_info(i), second.get_data_info(i)
        assert a['gt_label'] == b['gt_label']
        assert a['source_idx'] == b['source_idx']
        np.testing.assert_array_equal(a['img'], b['img'])


def test_lazy_init_and_no_serialization():
    dataset = DigitsDataset(split='test', lazy_init=True)
    assert not dataset._fully_initialized
    dataset.full_init()
    assert len(dataset) == NUM_TEST
    plain = DigitsDataset(split='test', serialize_data=False)
    np.testing.assert_array_equal(plain.get_data_info(5)['img'],
                                  dataset.get_data_info(5)['img'])


def test_build_from_config(mmpretrain_scope, test_set):
    cfg = dict(
        type='mmrazor.DigitsDataset',
        split='test',
        image_size=32,
        test_mode=True,
        pipeline=[
            dict(type='RandomCrop', crop_size=32, padding=4),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs'),
        ])
    dataset = DATASETS.build(cfg)
    assert isinstance(dataset, DigitsDataset)
    out = dataset[7]
    assert out['inputs'].shape == (3, 32, 32)
    assert out['inputs'].dtype == torch.uint8
    sample = out['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [test_set.get_data_info(7)['gt_label']]


def test_resize_pipeline(mmpretrain_scope):
    dataset = DATASETS.build(
        dict(
            type='mmrazor.DigitsDataset',
            split='train',
            pipeline=[dict(type='Resize', scale=16),
                      dict(type='PackInputs')]))
    assert dataset[0]['inputs'].shape == (3, 16, 16)


def test_bad_split():
    with pytest.raises(ValueError, match="split='val'.*train.*test"):
        DigitsDataset(split='val')


@pytest.mark.parametrize('image_size', [0, 4, 7, -8])
def test_bad_image_size(image_size):
    with pytest.raises(ValueError, match=f'image_size={image_size}'):
        DigitsDataset(image_size=image_size)


def test_bad_image_size_type_and_interpolation():
    with pytest.raises(TypeError, match='image_size'):
        DigitsDataset(image_size=16.0)
    with pytest.raises(ValueError, match='interpolation'):
        DigitsDataset(image_size=16, interpolation='bicubic')


def test_accuracy_metric(test_set):
    labels = test_set.get_gt_labels()
    wrong = np.flatnonzero(labels != 0)[:36]
    preds = labels.copy()
    preds[wrong] = (labels[wrong] + 1) % 10
    samples = [
        DataSample().set_gt_label(int(gt)).set_pred_label(int(pred)).to_dict()
        for gt, pred in zip(labels, preds)
    ]
    metric = Accuracy(topk=(1, ))
    metric.process(None, samples)
    result = metric.evaluate(len(samples))
    assert result['accuracy/top1'] == pytest.approx(90.0)
