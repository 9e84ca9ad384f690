"""TinyViT's attention (mmpretrain's ``LeAttention``), narrowing by whole
heads."""
import torch
from mmpretrain.models.utils.attention import LeAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .heads_by_layers import HeadsByLayersMixin


@MODELS.register_module()
class SlimmableLeAttention(HeadsByLayersMixin, LeAttention,
                           DynamicChannelMixin):
    """mmpretrain's ``LeAttention`` (TinyViT's window attention) narrowing
    by whole heads, as LeViT's
    (:class:`~.heads_by_layers.HeadsByLayersMixin`); the tokens are
    normalised by its own LayerNorm first, a layer of the embedding's
    unit."""

    layout = ('qkv', )
    projections = ('qkv', )

    @property
    def static_op_factory(self):
        return LeAttention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.core(self.qkv(self.norm(x)), self.biases()))
