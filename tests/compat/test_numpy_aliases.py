"""Fix ``numpy_aliases``: mmrazor's metric predictor on numpy 2 (no
``np.int``)."""
import numpy
import pytest
from mmrazor.models.task_modules.predictor import metric_predictor
from mmrazor.models.task_modules.predictor.metric_predictor import \
    MetricPredictor
from mmrazor.utils.typing import DumpChosen

from pwkd_plugin.compat import restore_numpy_aliases


def model2vector():
    predictor = MetricPredictor(
        handler_cfg=dict(type='mmrazor.MLPHandler'),
        search_groups={'depth': ['unit'], 'width': ['unit']})
    subnet = {
        'depth': DumpChosen(chosen=3, meta={'all_choices': [2, 3, 4]}),
        'width': DumpChosen(chosen=8, meta={'all_choices': [8, 16]}),
    }
    return predictor.model2vector(subnet)


def test_numpy_itself_is_unchanged():
    assert not hasattr(numpy, 'int')
    assert metric_predictor.np.int is int
    assert metric_predictor.np.zeros is numpy.zeros


def test_metric_predictor_encodes_a_subnet():
    vectors = model2vector()
    assert vectors['normal_vector'] == [1, 0]
    assert [int(v) for v in vectors['onehot_vector']] == [0, 1, 0, 1, 0]


def test_without_the_fix_it_fails(monkeypatch):
    monkeypatch.setattr(metric_predictor, 'np', numpy)
    with pytest.raises(AttributeError, match="no attribute 'int'"):
        model2vector()


def test_applying_it_again_changes_nothing():
    view = metric_predictor.np
    assert restore_numpy_aliases()
    assert metric_predictor.np is view
