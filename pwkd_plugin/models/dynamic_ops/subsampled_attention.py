"""Twins' global sub-sampled attention over the heads active at a width."""
import torch
from mmpretrain.models.backbones.twins import GlobalSubsampledAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, attend, split_heads


class HeadsGlobalSubsampledAttention(GlobalSubsampledAttention):
    """mmpretrain's ``GlobalSubsampledAttention`` (GSA) whose heads need
    not span its input features.

    mmpretrain's forward splits ``q``'s output into heads of ``input
    features // num_heads`` and reshapes the sub-sampled keys back by the
    input's features, so its heads, its input and its sub-sampling
    convolution ``sr`` always have one count. Here the head count is read
    from ``q``'s output (``head_dims`` each), k and v are the two equal
    spans of ``kv``'s output, and ``sr``'s output keeps its own features:
    a narrow network may keep a stage's tokens, heads and sub-sampled keys
    at different counts. The computation is mmpretrain's wherever they
    agree.
    """

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        q = self.q(x)
        heads, dims = split_heads(q.shape[-1], self.num_heads,
                                  self.head_dims)
        q = q.reshape(batch, tokens, heads, dims).transpose(1, 2)
        if self.sr_ratio > 1:
            x = x.transpose(1, 2).reshape(batch, -1, *hw_shape)
            x = self.norm(self.sr(x).flatten(2).transpose(1, 2))
        # Pieces by index: torch.fx cannot iterate a traced split.
        kv = self.kv(x).chunk(2, dim=-1)
        k, v = (kv[part].reshape(batch, -1, heads, dims).transpose(1, 2)
                for part in range(2))
        x = attend(self, q, k, v, dims)
        x = x.transpose(1, 2).reshape(batch, tokens, heads * dims)
        x = self.out_drop(self.proj_drop(self.proj(x)))
        if self.v_shortcut:
            x = v.squeeze(1) + x
        return x


@MODELS.register_module()
class SlimmableGlobalSubsampledAttention(ProjHeadsMixin,
                                         HeadsGlobalSubsampledAttention,
                                         DynamicChannelMixin):
    """Twins' GSA whose head count follows the width.

    As :class:`~.multihead_attention.SlimmableMultiheadAttention`: k and v
    are split from ``kv``'s output by the active features
    (``splits_by_width``), so the channel tracer binds q, k and v head dim
    by head dim into the heads unit ``proj`` reads (each head keeps
    ``head_dims``); ``sr``'s outputs, its LayerNorm and ``kv``'s inputs are
    a unit of their own. mmpretrain's forward unpacks the tokens' shape,
    which torch.fx cannot do once mmrazor's tracer wraps the method, so the
    tracer kept the attention one opaque node. :meth:`to_static_op` gives
    :class:`HeadsGlobalSubsampledAttention` of the active heads.
    """

    input_layer = 'q'

    @property
    def static_op_factory(self):
        return HeadsGlobalSubsampledAttention
