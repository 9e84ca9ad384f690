"""DaViT's channel attention over the heads active at a width."""
import torch
from mmpretrain.models.backbones.davit import ChannelAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, head_scale, split_heads


class HeadsChannelAttention(ChannelAttention):
    """mmpretrain's DaViT ``ChannelAttention`` whose heads need not span
    its input features.

    Each head attends over its ``head_dims`` channels (``k^T v``, scaled,
    softmax, applied to q). mmpretrain's forward reshapes ``qkv``'s output
    into ``num_heads`` heads and its result into ``embed_dims`` features,
    both fixed when it was built. Here the head count is read from
    ``qkv``'s output and q, k and v are its three equal spans. The
    computation is mmpretrain's wherever the counts agree.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        qkv = self.qkv(x)
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        qkv = qkv.chunk(3, dim=-1)
        q, k, v = (qkv[part].reshape(batch, tokens, heads,
                                     dims).transpose(1, 2)
                   for part in range(3))
        scale = head_scale(self.scale, self.num_heads, self.head_dims, dims)
        attention = ((k * scale).transpose(-1, -2) @ v).softmax(dim=-1)
        x = (attention @ q.transpose(-1, -2)).transpose(-1, -2)
        x = x.transpose(1, 2).reshape(batch, tokens, heads * dims)
        return self.proj(x)


@MODELS.register_module()
class SlimmableChannelAttention(ProjHeadsMixin, HeadsChannelAttention,
                                DynamicChannelMixin):
    """DaViT's channel attention whose head count follows the width.

    As :class:`~.davit_window_attention.SlimmableDaViTWindowMSA`: q, k and
    v are split from ``qkv``'s output by the active features
    (``splits_by_width``); the tracer binds channel ``c`` of q, k and v
    (``k^T v`` binds k's and v's, its product with ``q^T`` q's) into the
    heads unit ``proj`` reads, whose heads keep ``head_dims``.
    mmpretrain's forward splits ``qkv`` by a reshape into ``(3, num_heads,
    head_dims)``, which the tracer reads as one run of channels.
    :meth:`to_static_op` gives :class:`HeadsChannelAttention` of the
    active heads.
    """

    @property
    def static_op_factory(self):
        return HeadsChannelAttention
