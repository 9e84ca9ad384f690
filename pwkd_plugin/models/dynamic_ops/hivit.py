"""mmpretrain's ``HiViT`` whose position embedding follows the width."""
import torch.nn as nn
from mmpretrain.models.backbones import HiViT
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .vision_transformer import SlicedTokensMixin


@MODELS.register_module()
class SlimmableHiViT(SlicedTokensMixin, HiViT, DynamicChannelMixin):
    """HiViT's backbone with its absolute position embedding sliced with
    the main stage's embedding (see :class:`SlicedTokensMixin`); its
    attentions are :class:`~.hivit_attention.SlimmableHiViTAttention`."""

    sliced_params = ('pos_embed', )

    @property
    def static_op_factory(self):
        return HiViT

    def to_static_op(self) -> nn.Module:
        """The backbone itself as mmpretrain's, with the active position
        embedding."""
        super().to_static_op()
        self.num_features = self.embed_dims
        return self
