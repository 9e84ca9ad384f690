"""mmpretrain's ``DeiT3`` whose tokens follow the width."""
from mmpretrain.models.backbones import DeiT3
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .vision_transformer import SlicedTokensMixin


@MODELS.register_module()
class SlimmableDeiT3(SlicedTokensMixin, DeiT3, DynamicChannelMixin):
    """DeiT III's backbone with its class token and position embedding
    sliced with the embedding (see :class:`SlicedTokensMixin`); its layer
    scales are sliced by :class:`SlimmableLayerScale`."""

    @property
    def static_op_factory(self):
        return DeiT3
