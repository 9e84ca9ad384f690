"""mmpretrain's ``ViTEVA02`` whose tokens follow the width."""
import torch.nn as nn
from mmpretrain.models.backbones import ViTEVA02
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .vision_transformer import SlicedTokensMixin


@MODELS.register_module()
class SlimmableViTEVA02(SlicedTokensMixin, ViTEVA02, DynamicChannelMixin):
    """EVA02's backbone with its class token and position embedding sliced
    with the embedding (see :class:`SlicedTokensMixin`); its attentions
    narrow by whole heads (:class:`~.rope_attention.
    SlimmableAttentionWithRoPE`), sharing one rotary embedding of the
    whole head dims."""

    @property
    def static_op_factory(self):
        return ViTEVA02

    def to_static_op(self) -> nn.Module:
        """The backbone as mmpretrain's, with the active tokens and its
        rotary embedding's tables at the patch resolution it is built for.

        mmpretrain's rotary embedding keeps the tables of the last input's
        resolution as buffers, so after a forward at another input size
        (the tracer's) the state would not load into the backbone its
        config builds.
        """
        rope = self.rope
        if tuple(rope.patch_resolution) != tuple(self.patch_resolution):
            rope.patch_resolution = tuple(self.patch_resolution)
            cos, sin = rope.compute_position_embedding()
            rope.freqs_cos = cos.to(rope.freqs_cos)
            rope.freqs_sin = sin.to(rope.freqs_sin)
        return super().to_static_op()
