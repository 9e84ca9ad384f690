"""Twins' locally-grouped self-attention over the heads active at a width."""
import torch
import torch.nn.functional as F
from mmpretrain.models.backbones.twins import LocallyGroupedSelfAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, head_scale, split_heads


class HeadsLocallyGroupedSelfAttention(LocallyGroupedSelfAttention):
    """mmpretrain's ``LocallyGroupedSelfAttention`` (LSA) whose heads need
    not span its input features.

    mmpretrain's forward splits ``qkv``'s output into ``num_heads`` heads
    of ``input features // num_heads``, so its heads always span the
    tokens' features. Here the head count is read from ``qkv``'s output
    (``head_dims`` each) and q, k and v are its three equal spans, so a
    narrow network may keep fewer tokens' features than heads' (at a
    width where a stage's heads round up). The computation is mmpretrain's
    wherever both agree.
    """

    @property
    def head_dims(self) -> int:
        return self.embed_dims // self.num_heads

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        height, width = hw_shape
        size = self.window_size
        x = x.view(batch, height, width, -1)
        pad_r = (size - width % size) % size
        pad_b = (size - height % size) % size
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        padded_h, padded_w = x.shape[1], x.shape[2]
        rows, cols = padded_h // size, padded_w // size
        # mmpretrain's mask, the same where nothing is padded (all ones).
        mask = torch.zeros((1, padded_h, padded_w), device=x.device)
        mask[:, -pad_b:, :].fill_(1)
        mask[:, :, -pad_r:].fill_(1)
        x = x.reshape(batch, rows, size, cols, size, -1).transpose(2, 3)
        mask = mask.reshape(1, rows, size, cols, size).transpose(2, 3).reshape(
            1, rows * cols, size * size)
        attn_mask = mask.unsqueeze(2) - mask.unsqueeze(3)
        attn_mask = attn_mask.masked_fill(attn_mask != 0,
                                          float(-1000.0)).masked_fill(
                                              attn_mask == 0, float(0.0))
        # Tokens (B, N, C) for qkv: the tracer finds a split's channels
        # last in tokens, not in windows of them.
        qkv = self.qkv(x.reshape(batch, rows * cols * size * size, -1))
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        qkv = qkv.chunk(3, dim=-1)
        q, k, v = (qkv[part].reshape(batch, rows * cols, size * size, heads,
                                     dims).transpose(2, 3)
                   for part in range(3))
        attn = (q @ k.transpose(-2, -1)) * head_scale(
            self.scale, self.num_heads, self.head_dims, dims)
        attn = attn + attn_mask.unsqueeze(2)
        attn = self.attn_drop(attn.softmax(dim=-1))
        features = heads * dims
        attn = (attn @ v).transpose(2, 3).reshape(batch, rows, cols, size,
                                                  size, features)
        x = attn.transpose(2, 3).reshape(batch, rows * size, cols * size,
                                         features)
        if pad_r > 0 or pad_b > 0:
            x = x[:, :height, :width, :].contiguous()
        x = x.reshape(batch, tokens, features)
        return self.proj_drop(self.proj(x))


@MODELS.register_module()
class SlimmableLocallyGroupedSelfAttention(ProjHeadsMixin,
                                           HeadsLocallyGroupedSelfAttention,
                                           DynamicChannelMixin):
    """Twins' LSA whose head count follows the width.

    As :class:`~.multihead_attention.SlimmableMultiheadAttention`: q, k and
    v are split from ``qkv``'s output by the active features
    (``splits_by_width``), so the channel tracer binds them head dim by
    head dim into the heads unit ``proj`` reads (each head keeps
    ``head_dims``). mmpretrain's forward splits ``qkv`` by a reshape into
    ``(3, num_heads, C // num_heads)``, which the tracer reads as one run
    of channels. :meth:`to_static_op` gives
    :class:`HeadsLocallyGroupedSelfAttention` of the active heads.
    """

    @property
    def static_op_factory(self):
        return HeadsLocallyGroupedSelfAttention
