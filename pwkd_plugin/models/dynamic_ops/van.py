"""mmpretrain's ``VAN`` whose stage outputs follow the width."""
from mmpretrain.models.backbones import VAN
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableVAN(InPlaceSlimmableMixin, VAN, DynamicChannelMixin):
    """VAN whose stages give back a feature map of the channels that flow.

    mmpretrain's forward turns each stage's tokens back into a feature map
    by ``block.out_channels``, a number fixed when the backbone is built;
    here by the tokens' own channel count, so a narrow width runs. Swapped
    in before tracing (see ``FORWARD_OPS``); it holds no mutable, its layers
    are sliced by their own units. :meth:`to_static_op` sets the blocks'
    ``out_channels`` and ``embed_dims`` from each stage's output norm.
    """

    @property
    def static_op_factory(self):
        return VAN

    def forward(self, x):
        outs = []
        for i in range(self.num_stages):
            x, hw_shape = getattr(self, f'patch_embed{i + 1}')(x)
            for block in getattr(self, f'blocks{i + 1}'):
                x = block(x)
            x = getattr(self, f'norm{i + 1}')(x.flatten(2).transpose(1, 2))
            x = x.reshape(-1, *hw_shape,
                          x.shape[-1]).permute(0, 3, 1, 2).contiguous()
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def to_static_op(self) -> VAN:
        """The backbone itself as mmpretrain's, with the active widths."""
        channels = []
        for i in range(self.num_stages):
            norm = getattr(self, f'norm{i + 1}')
            channels.append(norm.active_features() if hasattr(
                norm, 'active_features') else norm.normalized_shape[0])
            for block in getattr(self, f'blocks{i + 1}'):
                block.out_channels = channels[i]
        self.to_static_class(VAN)
        self.embed_dims = channels
        return self
