"""Fix ``mmcls_registry_scope``: dicts built in Python that name the
``mmcls`` scope (``_scope_='mmcls'``, ``type='mmcls.X'``)."""
import pytest
from mmengine.registry import DefaultScope, Registry
from mmpretrain.models import ImageClassifier, LabelSmoothLoss
from mmrazor.registry import MODELS

from pwkd_plugin.compat import mmcls_registry_scope, patch_mmcls_registry_scope

CLASSIFIER = dict(
    _scope_='mmcls',
    type='ImageClassifier',
    backbone=dict(type='mmcls.ResNet_CIFAR', depth=18, base_channels=8),
    neck=dict(type='mmcls.GlobalAveragePooling'),
    head=dict(
        type='mmcls.LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='mmcls.LabelSmoothLoss', label_smooth_val=0.1)))


@pytest.fixture(autouse=True)
def mmrazor_scope():
    # As mmrazor's own algorithms build their architectures.
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


@pytest.fixture
def without_the_fix(monkeypatch):
    monkeypatch.setattr(
        Registry, 'split_scope_key',
        staticmethod(mmcls_registry_scope._original_split_scope_key))
    monkeypatch.setattr(DefaultScope, '__init__',
                        mmcls_registry_scope._original_default_scope_init)
    monkeypatch.setattr(ImageClassifier, '__init__',
                        mmcls_registry_scope._original_classifier_init)


def test_mmcls_scoped_dicts_build_with_mmpretrain():
    model = MODELS.build(CLASSIFIER)
    assert isinstance(model, ImageClassifier)
    assert isinstance(model.head.loss_module, LabelSmoothLoss)
    # Its default data preprocessor is found in mmpretrain's registry too.
    assert type(model.data_preprocessor).__name__ == 'ClsDataPreprocessor'


def test_a_mmcls_default_scope_is_mmpretrain():
    with DefaultScope.overwrite_default_scope('mmcls'):
        assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    assert Registry.split_scope_key('mmcls.ResNet') == ('mmpretrain',
                                                        'ResNet')
    assert Registry.split_scope_key('ResNet') == (None, 'ResNet')
    assert Registry.split_scope_key('mmdet.X') == ('mmdet', 'X')


def test_without_the_fix_they_fail(without_the_fix):
    with pytest.raises(KeyError, match='not in the mmrazor::model registry'):
        MODELS.build(CLASSIFIER)
    with pytest.raises(KeyError,
                       match='mmcls.ResNet_CIFAR is not in the mmpretrain'):
        MODELS.build(dict(CLASSIFIER, _scope_='mmpretrain'))


def test_a_classifier_without_preprocessor_builds_in_any_scope():
    # mmrazor's SearchableImageClassifier in an mmrazor config (AutoFormer).
    cfg = {k: v for k, v in CLASSIFIER.items() if k != '_scope_'}
    cfg['type'] = 'mmpretrain.ImageClassifier'
    model = MODELS.build(cfg)
    assert type(model.data_preprocessor).__name__ == 'ClsDataPreprocessor'
    given = MODELS.build(
        dict(cfg, data_preprocessor=dict(mean=[1, 2, 3], std=[1, 1, 1])))
    assert given.data_preprocessor.mean.flatten().tolist() == [1, 2, 3]


def test_without_the_fix_the_default_preprocessor_is_not_found(
        without_the_fix):
    with pytest.raises(KeyError, match='ClsDataPreprocessor is not in the '
                       'mmrazor::model registry'):
        ImageClassifier(backbone=dict(
            type='mmpretrain.ResNet_CIFAR', depth=18, base_channels=8))


def test_applying_it_again_changes_nothing():
    split = Registry.split_scope_key
    init = DefaultScope.__init__
    classifier_init = ImageClassifier.__init__
    assert patch_mmcls_registry_scope()
    assert Registry.split_scope_key is split
    assert DefaultScope.__init__ is init
    assert ImageClassifier.__init__ is classifier_init
