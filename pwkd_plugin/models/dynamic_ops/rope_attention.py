"""EVA02's attention with rotary position embedding over the heads active
at a width."""
import torch
from mmpretrain.models.backbones.vit_eva02 import AttentionWithRoPE
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, split_heads


@MODELS.register_module()
class SlimmableAttentionWithRoPE(ProjHeadsMixin, AttentionWithRoPE,
                                 DynamicChannelMixin):
    """mmpretrain's ``AttentionWithRoPE`` whose head count follows the
    width.

    As :class:`~.multihead_attention.SlimmableMultiheadAttention`: q, k and
    v are split from ``qkv``'s output by the active features
    (``splits_by_width``), so the channel tracer binds them head dim by
    head dim into the heads unit ``proj`` reads; each head keeps its
    ``head_dims``. The rotary embedding rotates pairs of each head's dims
    by a table of one row per head dim, the same for every head: it keeps
    its input's channels (the tracer passes them through it), and a width
    keeping whole heads reads the whole table. A single head keeps its
    dims too (its rotation needs all of them), so an attention of one head
    stays whole. :meth:`to_static_op` gives mmpretrain's attention of the
    active heads, with the same rotary embedding.
    """

    #: the rotary embedding rotates whole heads.
    narrows_single_head = False
    #: its input is its embedding of ``num_heads * head_dims`` (see
    #: :class:`~.multihead_attention.SlimmableMultiheadAttention`).
    embeds_in_heads = True

    @property
    def static_op_factory(self):
        return AttentionWithRoPE

    def forward(self, x: torch.Tensor, patch_resolution) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        qkv = self.qkv(x)
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        q, k, v = (part.reshape(batch, tokens, heads, dims).transpose(1, 2)
                   for part in qkv.chunk(3, dim=-1))
        if self.rope:
            q, k = (self._rotate(part, patch_resolution, v) for part in (q, k))
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = self.attn_drop(attn.softmax(dim=-1).type_as(x))
        x = (attn @ v).transpose(1, 2).reshape(batch, tokens, heads * dims)
        return self.proj_drop(self.proj(x))

    def _rotate(self, part: torch.Tensor, patch_resolution,
                v: torch.Tensor) -> torch.Tensor:
        """q or k rotated by the rotary embedding, a class token kept out
        (then cast as ``v``, as mmpretrain's forward does)."""
        if not self.with_cls_token:
            return self.rope(part, patch_resolution)
        rotated = self.rope(part[:, :, 1:, :], patch_resolution)
        return torch.cat((part[:, :, :1, :], rotated), -2).type_as(v)
