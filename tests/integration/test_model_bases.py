"""The classifiers of configs/_base_/models/ reach the configs built on them
and nothing more: each config takes its classifiers with
``_base_.pop(name)``, so no copy stays beside ``model`` (see
configs/_base_/models/README.md)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from ..conftest import config_path

CLASSIFIERS = {
    osp.basename(path)[:-len('.py')]
    for path in glob.glob(config_path('_base_/models/*.py'))
}


def builds_on_them(path):
    with open(path) as f:
        return '_base_/models/' in f.read()


BUILT_ON_THEM = sorted(
    path for path in glob.glob(config_path('**/*.py'), recursive=True)
    if '/_base_/' not in path and builds_on_them(path))


def test_the_distillation_configs_are_built_on_them():
    names = {osp.relpath(path, config_path('')) for path in BUILT_ON_THEM}
    assert {'kd/kd_resnet32x4_resnet8x4_cifar100.py',
            'demo/kd_resnet20_resnet8_digits.py',
            'fonts/kd_resnet20_resnet8_half_font_glyphs.py'} <= names


@pytest.mark.parametrize('path', BUILT_ON_THEM, ids=osp.basename)
def test_no_classifier_stays_beside_the_model(path):
    cfg = Config.fromfile(path)
    assert not CLASSIFIERS & set(cfg.keys())
    assert cfg.model.type in ('ImageClassifier', 'SingleTeacherDistill')
