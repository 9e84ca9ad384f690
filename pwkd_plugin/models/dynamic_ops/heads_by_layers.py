"""A head-major attention whose projections its units narrow by whole
heads."""
from typing import List, Tuple

import torch
import torch.nn as nn

from .head_attention import HeadAttention
from .hornet import active_channels
from .in_place import InPlaceSlimmableMixin


class HeadsByLayersMixin(InPlaceSlimmableMixin):
    """An attention of head-major projections with a learned bias per head
    (LeViT's, EfficientFormer's ``AttentionWithBias``, TinyViT's
    ``LeAttention``), made slimmable in place.

    Its product of heads is a :class:`HeadAttention` (``core``) that reads
    the head count from its inputs; the projections feeding it and the
    layer reading it are the channel tracer's units of whole heads
    (:meth:`head_channels`), so every width keeps the first heads, each
    with its ``key_dim``, its value size ``d`` and its row of
    ``attention_biases``. A subclass names ``layout`` (the core's),
    ``projections`` (the linear layers feeding the core, in ``layout``'s
    order) and ``output_layer`` (the linear layer reading it); its forward
    runs ``core`` on the projections and :meth:`biases`.
    """

    layout: Tuple[str, ...] = ()
    projections: Tuple[str, ...] = ()
    output_layer: str = 'proj'

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
        return [(name, True, dims[index])
                for index, name in enumerate(self.projections)
                ] + [(self.output_layer, False, self.d)]

    def active_heads(self) -> int:
        """The number of heads active at the width."""
        layer = self.get_submodule(self.projections[0])
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
