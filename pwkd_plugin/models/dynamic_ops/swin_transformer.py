"""mmpretrain's ``SwinTransformer`` whose stage outputs follow the width."""
import torch
import torch.nn as nn
from mmpretrain.models.backbones import SwinTransformer
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def stage_outputs(backbone: nn.Module, x: torch.Tensor,
                  hw_shape: tuple) -> tuple:
    """The stages of a Swin-like backbone (Swin, DaViT) from its patch
    tokens, each output map shaped by the channels that flow (mmpretrain
    shapes it by ``num_features``, fixed when it was built)."""
    outs = []
    for i, stage in enumerate(backbone.stages):
        x, hw_shape = stage(
            x, hw_shape, do_downsample=backbone.out_after_downsample)
        if i in backbone.out_indices:
            out = getattr(backbone, f'norm{i}')(x)
            outs.append(
                out.view(-1, *hw_shape,
                         out.shape[-1]).permute(0, 3, 1, 2).contiguous())
        if stage.downsample is not None and \
                not backbone.out_after_downsample:
            x, hw_shape = stage.downsample(x, hw_shape)
    return tuple(outs)


@MODELS.register_module()
class SlimmableSwinTransformer(InPlaceSlimmableMixin, SwinTransformer,
                               DynamicChannelMixin):
    """Swin whose stage outputs take the channel count of their width.

    mmpretrain's forward shapes each output with ``self.num_features[i]``;
    here with the channels that flow. Held by the unit of stage 0 (mutable
    ``embed_channels``); its layers are sliced by their own units.
    :meth:`to_static_op` sets ``embed_dims`` and ``num_features`` from the
    active widths of the patch embedding and the stages' output norms.
    """
    accepted_mutable_attrs = {'embed_channels'}
    attr_mappings = {
        'in_channels': 'embed_channels',
        'out_channels': 'embed_channels',
    }

    @property
    def embed_channels(self) -> int:
        return self.embed_dims

    @property
    def static_op_factory(self):
        return SwinTransformer

    @classmethod
    def check_convertible(cls, module: SwinTransformer) -> None:
        if module.use_abs_pos_embed:
            raise ValueError('a Swin with an absolute position embedding '
                             '(use_abs_pos_embed=True) is not sliced')

    def forward(self, x):
        x, hw_shape = self.patch_embed(x)
        x = self.drop_after_pos(x)
        return stage_outputs(self, x, hw_shape)

    def to_static_op(self) -> SwinTransformer:
        """The backbone itself as mmpretrain's, with the active widths."""
        embed = self.active_count()
        features = list(self.num_features)
        for i in self.out_indices:
            norm = getattr(self, f'norm{i}')
            if hasattr(norm, 'active_features'):
                features[i] = norm.active_features()
        self.to_static_class(SwinTransformer)
        self.embed_dims = embed
        self.num_features = features
        return self
