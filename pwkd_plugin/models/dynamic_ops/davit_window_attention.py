"""DaViT's window attention over the heads active at a width."""
import torch
from mmpretrain.models.backbones.davit import DaViTWindowMSA
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, head_scale, split_heads


class HeadsDaViTWindowMSA(DaViTWindowMSA):
    """mmpretrain's ``DaViTWindowMSA`` whose heads need not span its input
    features.

    mmpretrain's forward splits ``qkv``'s output into ``num_heads`` heads
    of ``input features // num_heads``. Here the head count is read from
    ``qkv``'s output (``head_dims`` each) and q, k and v are its three
    equal spans, so a narrow network may keep a stage's tokens and heads
    at different counts. The computation is mmpretrain's wherever they
    agree.
    """

    @property
    def head_dims(self) -> int:
        return self.embed_dims // self.num_heads

    def forward(self, x: torch.Tensor, mask=None) -> torch.Tensor:
        windows, tokens = x.shape[0], x.shape[1]
        qkv = self.qkv(x)
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        qkv = qkv.chunk(3, dim=-1)
        q, k, v = (qkv[part].reshape(windows, tokens, heads,
                                     dims).transpose(1, 2)
                   for part in range(3))
        scale = head_scale(self.scale, self.num_heads, self.head_dims, dims)
        attn = (q * scale) @ k.transpose(-2, -1)
        if mask is not None:
            count = mask.shape[0]
            attn = attn.view(windows // count, count, heads, tokens,
                             tokens) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, tokens, tokens)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(windows, tokens, heads * dims)
        return self.proj_drop(self.proj(x))


@MODELS.register_module()
class SlimmableDaViTWindowMSA(ProjHeadsMixin, HeadsDaViTWindowMSA,
                              DynamicChannelMixin):
    """DaViT's window attention whose head count follows the width.

    As :class:`~.multihead_attention.SlimmableMultiheadAttention`: q, k and
    v are split from ``qkv``'s output by the active features
    (``splits_by_width``), so the channel tracer binds them head dim by
    head dim into the heads unit ``proj`` reads (each head keeps
    ``head_dims``). mmpretrain's forward splits ``qkv`` by a reshape into
    ``(3, num_heads, C // num_heads)``, which the tracer reads as one run
    of channels. :meth:`to_static_op` gives :class:`HeadsDaViTWindowMSA`
    of the active heads.
    """

    @property
    def static_op_factory(self):
        return HeadsDaViTWindowMSA
