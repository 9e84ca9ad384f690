"""mmpretrain's ``RevVisionTransformer`` whose tokens follow the width."""
from mmpretrain.models.backbones import RevVisionTransformer
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .vision_transformer import SlicedTokensMixin


@MODELS.register_module()
class SlimmableRevVisionTransformer(SlicedTokensMixin, RevVisionTransformer,
                                    DynamicChannelMixin):
    """The reversible ViT's backbone with its class token and position
    embedding sliced with the embedding (see :class:`SlicedTokensMixin`).

    Its stream is the embedding twice (``torch.cat([x, x], dim=-1)``),
    chunked into its two halves at every layer: the tracer binds both
    halves to the embedding's channels, each keeping its first channels
    (:mod:`~pwkd_plugin.models.mutators.chunked_channels`), so the final
    norm and the head read the first channels of each half.
    """

    @property
    def static_op_factory(self):
        return RevVisionTransformer
