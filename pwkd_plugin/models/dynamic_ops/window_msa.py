"""Swin's window attention over the heads active at a width."""
import torch
import torch.nn as nn
from mmpretrain.models.utils.attention import WindowMSA
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableWindowMSA(InPlaceSlimmableMixin, WindowMSA,
                         DynamicChannelMixin):
    """mmpretrain's ``WindowMSA`` whose head count follows the width.

    As :class:`~.multihead_attention.SlimmableMultiheadAttention`: the
    heads unit slices the ``qkv`` outputs (q, k and v spans) and the
    ``proj`` inputs, each head keeps its ``head_dims``, and the forward
    reads the head count from the ``qkv`` output; the relative position
    bias table (one column per head) gives the active heads' columns.
    """

    @property
    def head_dims(self) -> int:
        return self.embed_dims // self.num_heads

    @property
    def num_features(self) -> int:
        return self.embed_dims

    @property
    def static_op_factory(self):
        return WindowMSA

    def active_heads(self) -> int:
        """The number of heads active at the width."""
        return self.active_count() // self.head_dims

    def forward(self, x: torch.Tensor, mask=None) -> torch.Tensor:
        windows, tokens, _ = x.shape
        qkv = self.qkv(x)
        heads = qkv.shape[-1] // (3 * self.head_dims)
        qkv = qkv.reshape(windows, tokens, 3, heads,
                          self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        area = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[
            self.relative_position_index.view(-1)][:, :heads].view(
                area, area, heads).permute(2, 0, 1).contiguous()
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            count = mask.shape[0]
            attn = attn.view(windows // count, count, heads, tokens,
                             tokens) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, tokens, tokens)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(windows, tokens,
                                                heads * self.head_dims)
        return self.proj_drop(self.proj(x))

    def to_static_op(self) -> WindowMSA:
        """The attention itself as mmpretrain's, at the active heads."""
        heads, head_dims = self.active_heads(), self.head_dims
        table = self.relative_position_bias_table[:, :heads].detach().clone()
        self.to_static_class(WindowMSA)
        self.num_heads = heads
        self.embed_dims = heads * head_dims
        self.relative_position_bias_table = nn.Parameter(table)
        return self
