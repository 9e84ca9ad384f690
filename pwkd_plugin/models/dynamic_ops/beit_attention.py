"""BEiT's attention over the heads active at a width."""
import torch
import torch.nn as nn
from mmpretrain.models.utils.attention import BEiTAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, head_scale, split_heads


@MODELS.register_module()
class SlimmableBEiTAttention(ProjHeadsMixin, BEiTAttention,
                             DynamicChannelMixin):
    """mmpretrain's ``BEiTAttention`` whose head count follows the width.

    As :class:`~.multihead_attention.SlimmableMultiheadAttention`: q, k and
    v are split from ``qkv``'s output by the active features
    (``splits_by_width``), so the channel tracer binds them head dim by
    head dim into the heads unit ``proj`` reads; each head keeps its
    ``head_dims``. mmpretrain's forward adds ``q_bias`` and ``v_bias``
    through a bias concatenated for the whole ``qkv`` weight; here each is
    added to its span, so the tracer binds them to the heads unit (a
    per-channel parameter added to a tensor), which slices them. The
    relative position bias table (one column per head, ``head_tables``)
    gives the active heads' columns. :meth:`to_static_op` gives
    mmpretrain's attention of the active heads, with their biases and
    table columns. A bias table the backbone shares among its layers
    (``use_shared_rel_pos_bias``) is no table of the attention's: the
    tracer does not follow it and such a BEiT keeps its layers whole.
    """

    #: its input is its embedding of ``num_heads * head_dims`` (see
    #: :class:`~.multihead_attention.SlimmableMultiheadAttention`).
    embeds_in_heads = True
    #: read at the active heads' columns: constants to the channel tracer.
    head_tables = ('relative_position_bias_table', 'relative_position_index')

    @property
    def head_dims(self) -> int:
        return self.embed_dims // self.num_heads

    @property
    def static_op_factory(self):
        return BEiTAttention

    def forward(self,
                x: torch.Tensor,
                rel_pos_bias: torch.Tensor = None) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        qkv = self.qkv(x)
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        q, k, v = qkv.chunk(3, dim=-1)
        if self.bias == 'qv_bias':
            q = q + self.q_bias
            v = v + self.v_bias
        q, k, v = (part.reshape(batch, tokens, heads, dims).transpose(1, 2)
                   for part in (q, k, v))
        scale = head_scale(self.scale, self.num_heads, self.head_dims, dims)
        attn = (q * scale) @ k.transpose(-2, -1)
        if self.relative_position_bias_table is not None:
            area = self.window_size[0] * self.window_size[1] + 1
            bias = self.relative_position_bias_table[
                self.relative_position_index.view(-1)][:, :heads]
            attn = attn + bias.view(area, area, heads).permute(
                2, 0, 1).unsqueeze(0)
        if rel_pos_bias is not None:
            attn = attn + rel_pos_bias[:heads]
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(batch, tokens, heads * dims)
        return self.proj_drop(self.proj(x))

    def to_static_op(self) -> BEiTAttention:
        """The attention itself as mmpretrain's, at the active heads."""
        heads = self.active_heads()
        table = self.relative_position_bias_table
        if table is not None:
            table = nn.Parameter(table[:, :heads].detach().clone())
        super().to_static_op()
        if table is not None:
            self.relative_position_bias_table = table
        return self
