"""Res2Net's block, splitting its channels into scales of the active
width."""
from mmpretrain.models.backbones.res2net import Bottle2neck
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .hornet import active_channels
from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableBottle2neck(InPlaceSlimmableMixin, Bottle2neck,
                           DynamicChannelMixin):
    """Res2Net's bottleneck, splitting the output of its first convolution
    into ``scales`` equal runs of the channels active at the width.

    mmpretrain's forward splits by ``self.width``, a number fixed when it
    is built; here ``width`` is the first convolution's active output
    channels over ``scales``, so the forward is mmpretrain's at every width
    where the runs narrow together (the tracer checks the units of a split
    into equal runs as one group). Swapped in before tracing (see
    ``FORWARD_OPS``); it holds no mutable, its layers are sliced by their
    own units (the tracer gives each run of the split its own channels).
    """

    #: the tracer follows the pieces of its split (``split_channels``).
    splits_by_width = True

    @property
    def width(self) -> int:
        return active_channels(self.conv1, 'out_channels') // self.scales

    @property
    def static_op_factory(self):
        return Bottle2neck

    def to_static_op(self) -> Bottle2neck:
        """The block itself as mmpretrain's, with the active ``width``."""
        width = self.width
        self.to_static_class(Bottle2neck)
        self.width = width
        return self
