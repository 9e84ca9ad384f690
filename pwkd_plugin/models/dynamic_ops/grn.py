"""ConvNeXt-V2's global response normalisation over the active channels."""
import torch.nn as nn
from mmpretrain.models.utils import GRN
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableGRN(InPlaceSlimmableMixin, GRN, DynamicChannelMixin):
    """mmpretrain's ``GRN`` whose ``gamma`` and ``beta`` read the entries
    of the channels active at the width, so its own forward runs at every
    width: each channel's response is divided by the mean over the active
    channels, as in the narrow network's GRN. The parameters keep their
    names, so the state dict is the layer's."""

    sliced_params = ('gamma', 'beta')

    @property
    def num_features(self) -> int:
        return self._parameters['gamma'].numel()

    @property
    def static_op_factory(self):
        return GRN

    def to_static_op(self) -> GRN:
        """The layer itself as a ``GRN`` of the active channels."""
        gamma, beta = (self.gamma.detach().clone(),
                       self.beta.detach().clone())
        self.to_static_class(GRN)
        self.gamma, self.beta = nn.Parameter(gamma), nn.Parameter(beta)
        self.in_channels = gamma.numel()
        return self
