"""LeViT's attentions, narrowing by whole heads."""
from typing import List, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.backbones.levit import Attention, AttentionSubsample
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .head_attention import HeadAttention
from .hornet import active_channels
from .in_place import InPlaceSlimmableMixin


class _HeadsByLayers(InPlaceSlimmableMixin):
    """An attention whose head-major projections its units slice by whole
    heads, and whose product of heads is a :class:`HeadAttention`
    (``core``) reading the head count from them.

    A subclass names ``layout`` (the core's) and ``projections``: the
    projection layers feeding the core, in ``layout``'s order.
    """

    layout: Tuple[str, ...] = ()
    projections: Tuple[str, ...] = ()

    @classmethod
    def convert_from(cls, module: nn.Module) -> nn.Module:
        """``module`` itself, its forward running ``core``."""
        module = super().convert_from(module)
        module.core = HeadAttention(module.num_heads, module.key_dim,
                                    module.d, cls.layout, module.scale)
        return module

    def head_channels(self) -> List[Tuple[str, bool, int]]:
        """The layers whose channels are whole heads: ``(name, output
        channels?, features of a head)``, names relative to the module
        (the tracer's units of these channels narrow by whole heads)."""
        dims = self.core.head_dims()
        return [(f'{name}.linear', True, dims[index])
                for index, name in enumerate(self.projections)
                ] + [('proj.1.linear', False, self.d)]

    def active_heads(self) -> int:
        """The number of heads active at the width."""
        layer = self.get_submodule(f'{self.projections[0]}.linear')
        return active_channels(layer, 'out_features') // \
            self.core.head_dims()[0]

    def biases(self) -> torch.Tensor:
        """The attention bias of every head, ``(num_heads, N_q, N_k)``."""
        return self.attention_biases[:, self.attention_bias_idxs]

    def to_static_op(self) -> nn.Module:
        """The module itself as mmpretrain's, with the active heads."""
        heads = self.active_heads()
        biases = self.attention_biases[:heads].detach().clone()
        static = self.static_op_factory
        del self.core
        self.to_static_class(static)
        self.num_heads = heads
        self.nh_kd = heads * self.key_dim
        self.dh = heads * self.d
        self.attention_biases = nn.Parameter(biases)
        # mmpretrain keeps the biases of eval mode in ``ab``.
        self.train(self.training)
        return self


@MODELS.register_module()
class SlimmableLeViTAttention(_HeadsByLayers, Attention, DynamicChannelMixin):
    """LeViT's ``Attention`` narrowing by whole heads: ``qkv`` gives each
    head its query, key and value side by side, so the first heads are the
    first channels of ``qkv`` (and of ``proj``'s input); every head keeps
    ``key_dim`` and ``d`` and its own row of ``attention_biases``."""

    layout = ('qkv', )
    projections = ('qkv', )

    @property
    def static_op_factory(self):
        return Attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.core(self.qkv(x), self.biases()))


@MODELS.register_module()
class SlimmableLeViTAttentionSubsample(_HeadsByLayers, AttentionSubsample,
                                       DynamicChannelMixin):
    """LeViT's ``AttentionSubsample`` narrowing by whole heads (``kv``
    gives each head its key and value, ``q`` its query of the subsampled
    tokens), as :class:`SlimmableLeViTAttention`."""

    layout = ('kv', 'q')
    projections = ('kv', 'q.1')

    @property
    def static_op_factory(self):
        return AttentionSubsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.core(self.kv(x), self.q(x), self.biases()))
