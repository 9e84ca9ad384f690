"""HiViT's attention over the heads active at a width."""
import torch
import torch.nn as nn
from mmpretrain.models.backbones.hivit import Attention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, head_scale, split_heads


@MODELS.register_module()
class SlimmableHiViTAttention(ProjHeadsMixin, Attention, DynamicChannelMixin):
    """mmpretrain's HiViT ``Attention`` whose head count follows the width.

    As :class:`~.beit_attention.SlimmableBEiTAttention`: q, k and v are
    split from ``qkv``'s output by the active features
    (``splits_by_width``), so the channel tracer binds them head dim by
    head dim into the heads unit ``proj`` reads; each head keeps its
    ``dim // num_heads`` features. mmpretrain's forward reshapes ``qkv``'s
    output by the head count it was built with. The relative position bias
    table (one column per head, ``head_tables``) gives the active heads'
    columns. :meth:`to_static_op` gives mmpretrain's attention of the
    active heads and their table columns.
    """

    #: its input is its embedding of ``num_heads * head_dims``: the
    #: embedding narrows by whole heads, as ViT's does.
    embeds_in_heads = True
    #: read at the active heads' columns: constants to the channel tracer.
    head_tables = ('relative_position_bias_table', 'relative_position_index')

    @property
    def head_dims(self) -> int:
        return self.dim // self.num_heads

    @property
    def static_op_factory(self):
        return Attention

    def forward(self,
                x: torch.Tensor,
                rpe_index=None,
                mask: torch.Tensor = None) -> torch.Tensor:
        # Sizes by index and the head count from the qkv output, as
        # SlimmableMultiheadAttention's forward reads them.
        batch, tokens = x.shape[0], x.shape[1]
        qkv = self.qkv(x)
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        qkv = qkv.chunk(3, dim=-1)
        q, k, v = (qkv[part].reshape(batch, tokens, heads,
                                     dims).transpose(1, 2)
                   for part in range(3))
        scale = head_scale(self.scale, self.num_heads, self.head_dims, dims)
        attn = (q * scale) @ k.transpose(-2, -1)
        if rpe_index is not None:
            index = self.relative_position_index.view(-1)
            side = self.input_size * self.input_size
            bias = self.relative_position_bias_table[index][:, :heads]
            attn = attn + bias.view(side, side, heads).permute(2, 0,
                                                               1).unsqueeze(0)
        if mask is not None:
            mask = mask.bool()
            attn = attn.masked_fill(~mask[:, None, None, :], float('-inf'))
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(batch, tokens, heads * dims)
        return self.proj_drop(self.proj(x))

    def to_static_op(self) -> Attention:
        """The attention itself as mmpretrain's, at the active heads."""
        heads = self.active_heads()
        table = self.relative_position_bias_table
        if table is not None:
            table = nn.Parameter(table[:, :heads].detach().clone())
        super().to_static_op()
        self.dim = self.embed_dims
        del self.embed_dims
        if table is not None:
            self.relative_position_bias_table = table
        return self
