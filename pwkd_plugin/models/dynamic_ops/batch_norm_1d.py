"""A ``BatchNorm1d`` with private statistics and affine parameters per
width.

mmrazor slims ``nn.BatchNorm2d`` by ``SwitchableBatchNorm2d`` (one batch
norm per width) and masks a ``BatchNorm1d`` with ``DynamicBatchNorm1d``,
but has no switchable 1d norm: a unit holding one (LeViT's linear layers
and heads normalise features by a ``BatchNorm1d``) stayed whole.
"""
from typing import List

import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import (DynamicBatchNorm1d,
                                                      SwitchableBatchNorm2d)
from mmrazor.registry import MODELS


@MODELS.register_module()
class SwitchableBatchNorm1d(SwitchableBatchNorm2d):
    """mmrazor's ``SwitchableBatchNorm2d`` over ``(N, C)`` or ``(N, C, L)``
    inputs: at a width of ``c`` channels its private ``nn.BatchNorm1d`` of
    ``c`` features normalises them, at the whole width its own parameters.

    It is a ``SwitchableBatchNorm2d`` for everything that handles the
    private norms (the mutator's fitting of their sizes, the batch norm
    recalibration hook, checkpoints' ``candidate_bn`` entries).
    """

    def init_candidates(self, candidates: List[int]) -> None:
        """One private ``nn.BatchNorm1d`` per channel count."""
        assert len(self.candidate_bn) == 0
        self._check_candidates(candidates)
        for num in candidates:
            self.candidate_bn[str(num)] = nn.BatchNorm1d(
                num, self.eps, self.momentum, self.affine,
                self.track_running_stats)

    _check_input_dim = DynamicBatchNorm1d._check_input_dim

    @property
    def static_op_factory(self):
        return nn.BatchNorm1d
