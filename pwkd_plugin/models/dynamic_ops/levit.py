"""LeViT's attentions, narrowing by whole heads."""
import torch
from mmpretrain.models.backbones.levit import Attention, AttentionSubsample
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .heads_by_layers import HeadsByLayersMixin


@MODELS.register_module()
class SlimmableLeViTAttention(HeadsByLayersMixin, Attention,
                              DynamicChannelMixin):
    """LeViT's ``Attention`` narrowing by whole heads: ``qkv`` gives each
    head its query, key and value side by side, so the first heads are the
    first channels of ``qkv`` (and of ``proj``'s input); every head keeps
    ``key_dim`` and ``d`` and its own row of ``attention_biases``."""

    layout = ('qkv', )
    projections = ('qkv.linear', )
    output_layer = 'proj.1.linear'

    @property
    def static_op_factory(self):
        return Attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.core(self.qkv(x), self.biases()))


@MODELS.register_module()
class SlimmableLeViTAttentionSubsample(HeadsByLayersMixin, AttentionSubsample,
                                       DynamicChannelMixin):
    """LeViT's ``AttentionSubsample`` narrowing by whole heads (``kv``
    gives each head its key and value, ``q`` its query of the subsampled
    tokens), as :class:`SlimmableLeViTAttention`."""

    layout = ('kv', 'q')
    projections = ('kv.linear', 'q.1.linear')
    output_layer = 'proj.1.linear'

    @property
    def static_op_factory(self):
        return AttentionSubsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.core(self.kv(x), self.q(x), self.biases()))
