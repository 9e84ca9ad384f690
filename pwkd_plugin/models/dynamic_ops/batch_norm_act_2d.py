"""Slimmable ``BatchNormAct2d`` (timm's batch norm and activation in one).

timm builds its networks (RegNet, ResNet, EfficientNet, ...) of
``BatchNormAct2d``: a batch norm that also applies its dropout and
activation. mmrazor's dynamic batch norms replace only ``nn.BatchNorm2d``
(by exact type), so a unit holding a ``BatchNormAct2d`` stayed whole.
"""
import copy

import torch
import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import (DynamicBatchNorm2d,
                                                      SwitchableBatchNorm2d)
from mmrazor.registry import MODELS
from timm.layers import BatchNormAct2d


class _ThenDropAndAct:
    """The norm of the class it is mixed into, then ``drop`` and ``act``."""

    @classmethod
    def convert_from(cls, module: BatchNormAct2d):
        """A dynamic copy of ``module``, with its dropout and activation.

        Like mmrazor's ``convert_from`` of batch norms, the norm's parameters
        start anew (a slimmable teacher is initialised or loaded afterwards).
        """
        dynamic = super().convert_from(module)
        dynamic.drop = module.drop
        dynamic.act = module.act
        return dynamic

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(input)))


@MODELS.register_module()
class DynamicBatchNormAct2d(_ThenDropAndAct, DynamicBatchNorm2d):
    """``BatchNormAct2d`` over the channels of a mask (the channel tracer's
    check that a unit can be sliced)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drop = nn.Identity()
        self.act = nn.Identity()


@MODELS.register_module()
class SwitchableBatchNormAct2d(_ThenDropAndAct, SwitchableBatchNorm2d):
    """``BatchNormAct2d`` with private statistics and affine parameters per
    width (mmrazor's ``SwitchableBatchNorm2d``); the same dropout and
    activation follow it at every width. Its static op is a
    ``BatchNormAct2d`` again."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drop = nn.Identity()
        self.act = nn.Identity()

    def to_static_op(self) -> BatchNormAct2d:
        """The active width's norm, as a ``BatchNormAct2d``."""
        norm = super().to_static_op()
        static = BatchNormAct2d(
            norm.num_features,
            eps=norm.eps,
            momentum=norm.momentum,
            affine=norm.affine,
            track_running_stats=norm.track_running_stats,
            apply_act=False)
        static.load_state_dict(norm.state_dict())
        static.drop = copy.deepcopy(self.drop)
        static.act = copy.deepcopy(self.act)
        return static.train(self.training)
