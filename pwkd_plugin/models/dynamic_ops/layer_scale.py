"""mmpretrain's ``LayerScale`` over the channels active at a width."""
import torch.nn as nn
from mmpretrain.models.utils import LayerScale
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableLayerScale(InPlaceSlimmableMixin, LayerScale,
                          DynamicChannelMixin):
    """A layer scale (one factor per channel) whose ``weight`` reads the
    factors of the channels active at the width, so mmpretrain's own
    forward runs at every width (channels first or last, in place or not).
    The parameter keeps its name, so the state dict is the layer's."""

    sliced_params = ('weight', )

    @property
    def num_features(self) -> int:
        return self._parameters['weight'].numel()

    @property
    def static_op_factory(self):
        return LayerScale

    def to_static_op(self) -> LayerScale:
        """The layer itself as a ``LayerScale`` of the active factors."""
        weight = self.weight.detach().clone()
        self.to_static_class(LayerScale)
        self.weight = nn.Parameter(weight)
        return self
