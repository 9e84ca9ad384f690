"""mmpretrain's ``DaViT`` whose stage outputs follow the width."""
from mmpretrain.models.backbones import DaViT
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin
from .swin_transformer import stage_outputs


@MODELS.register_module()
class SlimmableDaViT(InPlaceSlimmableMixin, DaViT, DynamicChannelMixin):
    """DaViT whose outputs are feature maps of the channels that flow.

    mmpretrain's forward turns each output's tokens into a feature map by
    ``self.num_features[i]``, a number fixed when the backbone is built;
    here by the tokens' own channel count, so a narrow width runs. Swapped
    in before tracing (see ``FORWARD_OPS``); it holds no mutable, its
    layers are sliced by their own units (``num_features``, which a
    mutable would take by default, is mmpretrain's list of stage widths).
    :meth:`to_static_op` sets ``num_features`` from the output norms'
    active features.
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
        return DaViT

    def forward(self, x):
        x, hw_shape = self.patch_embed(x)
        return stage_outputs(self, x, hw_shape)

    def to_static_op(self) -> DaViT:
        """The backbone itself as mmpretrain's, with the active widths."""
        features = list(self.num_features)
        for i in self.out_indices:
            norm = getattr(self, f'norm{i}')
            if hasattr(norm, 'active_features'):
                features[i] = norm.active_features()
        self.to_static_class(DaViT)
        self.num_features = features
        return self
