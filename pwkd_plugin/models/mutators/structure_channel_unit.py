"""The channel unit of channels read from a block's structure."""
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .slimmable_teacher_channel_unit import SlimmableTeacherChannelUnit


@MODELS.register_module()
class StructureChannelUnit(SlimmableTeacherChannelUnit):
    """A slimmable unit built from a block's structure, not by the tracer.

    Its channels may have no producing layer: the output of a ShuffleNetV2
    block is a channel shuffle of a concatenation, yet the layers that read
    it take a channel count per width. mmrazor counts a unit as mutable only
    if it holds both producing and consuming layers; this unit is mutable
    when it holds any layer and every layer it holds is sliceable.
    """

    @property
    def is_mutable(self) -> bool:
        channels = list(self.output_related) + list(self.input_related)
        return bool(channels) and all(
            channel.is_mutable for channel in channels) and any(
                isinstance(channel.module, DynamicChannelMixin)
                for channel in channels)
