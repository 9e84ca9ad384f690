"""mmpretrain's ``MultiheadAttention`` over the heads active at a width."""
import torch
from mmpretrain.models.utils.attention import MultiheadAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableMultiheadAttention(InPlaceSlimmableMixin, MultiheadAttention,
                                  DynamicChannelMixin):
    """Multi-head self-attention whose head count follows the width.

    The heads unit of the attention (``num_features``: ``num_heads *
    head_dims``) slices the outputs of ``qkv`` as three spans (the first
    heads of q, k and v) and the inputs of ``proj``; each head keeps its
    ``head_dims``. The forward reads the head count from the ``qkv``
    output, so it needs no state of its own; :meth:`to_static_op` gives
    mmpretrain's attention of the active ``num_heads`` and ``embed_dims``.
    A layer scale on its output (``gamma1``) is sliced with the embedding's
    unit.
    """

    @property
    def num_features(self) -> int:
        return self.num_heads * self.head_dims

    @property
    def static_op_factory(self):
        return MultiheadAttention

    def active_heads(self) -> int:
        """The number of heads active at the width."""
        return self.active_count() // self.head_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        qkv = self.qkv(x)
        heads = qkv.shape[-1] // (3 * self.head_dims)
        qkv = qkv.reshape(batch, tokens, 3, heads,
                          self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn_drop = self.attn_drop if self.training else 0.
        x = self.scaled_dot_product_attention(q, k, v, dropout_p=attn_drop)
        x = x.transpose(1, 2).reshape(batch, tokens, heads * self.head_dims)
        x = self.proj(x)
        x = self.out_drop(self.gamma1(self.proj_drop(x)))
        if self.v_shortcut:
            x = v.squeeze(1) + x
        return x

    def to_static_op(self) -> MultiheadAttention:
        """The attention itself as mmpretrain's, at the active heads."""
        heads = self.active_heads()
        self.to_static_class(MultiheadAttention)
        self.num_heads = heads
        self.embed_dims = heads * self.head_dims
        self.input_dims = self.embed_dims
        return self
