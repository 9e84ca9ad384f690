"""EdgeNeXt's SDTA encoder, splitting its channels by the width."""
from typing import List, Union

import torch
from mmpretrain.models.backbones.edgenext import SDTAEncoder
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .hornet import active_channels
from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableSDTAEncoder(InPlaceSlimmableMixin, SDTAEncoder,
                           DynamicChannelMixin):
    """EdgeNeXt's SDTA encoder, splitting its input by the widths of its
    convolutions.

    mmpretrain's forward splits the input into chunks of
    ``conv_channels``, a number fixed when it is built; here the chunks
    each depthwise convolution reads are its active channels and the last
    chunk (passed on unconvolved) the rest, so the forward is mmpretrain's
    at every width. Swapped in before tracing (see ``FORWARD_OPS``); it
    holds no mutable, its layers are sliced by their own units (the tracer
    gives each chunk its own channels; the chunks added to a convolution's
    output share its unit).
    """

    #: the tracer follows the pieces of its split (``split_channels``).
    splits_by_width = True

    @property
    def conv_channels(self) -> Union[int, List[int]]:
        return self.__dict__.get('_split_sizes') or active_channels(
            self.conv_modules[0], 'in_channels')

    @property
    def static_op_factory(self):
        return SDTAEncoder

    def split_sizes(self, channels: int) -> List[int]:
        """The chunks of an input of ``channels``: each convolution's
        active channels, then the rest."""
        conv = active_channels(self.conv_modules[0], 'in_channels')
        return [conv] * self.num_convs + [channels - conv * self.num_convs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # mmpretrain's forward splits by ``self.conv_channels``.
        self.__dict__['_split_sizes'] = self.split_sizes(x.shape[1])
        try:
            return super().forward(x)
        finally:
            del self.__dict__['_split_sizes']

    def to_static_op(self) -> SDTAEncoder:
        """The block itself as mmpretrain's, splitting by the active
        chunks (a list of sizes where the last chunk is not the smaller)."""
        norm = self.norm
        channels = norm.active_features() if hasattr(
            norm, 'active_features') else norm.normalized_shape[0]
        sizes = self.split_sizes(channels)
        self.to_static_class(SDTAEncoder)
        self.conv_channels = sizes[0] if 0 < sizes[-1] <= sizes[0] else sizes
        return self
