"""mmpretrain's ``DistilledVisionTransformer`` (DeiT) whose tokens follow
the width."""
from mmpretrain.models.backbones import DistilledVisionTransformer
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .vision_transformer import SlicedTokensMixin


@MODELS.register_module()
class SlimmableDistilledVisionTransformer(SlicedTokensMixin,
                                          DistilledVisionTransformer,
                                          DynamicChannelMixin):
    """DeiT's backbone with its class and distillation tokens and position
    embedding sliced with the embedding (see :class:`SlicedTokensMixin`)."""

    @property
    def static_op_factory(self):
        return DistilledVisionTransformer
