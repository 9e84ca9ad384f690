"""The channel unit the channel tracer checks each traced unit with."""
from typing import Union

import torch.nn as nn
from mmrazor.models.mutables import SequentialMutableChannelUnit
from mmrazor.registry import MODELS

from ..dynamic_ops import DYNAMIC_OPS, TRACER_OPS
from .head_channels import head_channel_map, unit_heads
from .parameter_channels import slice_parameter_channels


#: the tracer's masked ops, and the backbones whose tokens follow a unit
#: (:mod:`.token_channels`): their dynamic ops mask the tokens.
_TRACER_OPS = {
    **TRACER_OPS,
    **{
        module: op
        for module, op in DYNAMIC_OPS.items()
        if getattr(op, 'sliced_params', ())
    }
}


@MODELS.register_module()
class TracedChannelUnit(SequentialMutableChannelUnit):
    """mmrazor's ``SequentialMutableChannelUnit``, also over the layer types
    of :data:`~pwkd_plugin.models.dynamic_ops.TRACER_OPS`.

    mmrazor's tracer keeps a unit only if every layer of it can take a
    channel mask; a unit holding a layer type mmrazor does not know (timm's
    ``BatchNormAct2d``) was dropped, and all its layers stayed whole. Its
    per-channel parameters (layer scales) are sliced too. A unit of whole
    attention heads (:mod:`.head_channels`) takes whole heads, and is
    checked at half of them: every unit of one attention at the same count.
    """

    #: :func:`~.head_channels.unit_heads` of a unit of whole heads.
    heads = None

    def prepare_for_pruning(self, model: nn.Module) -> None:
        """Replace the unit's layers by masked dynamic ops."""
        self.heads = unit_heads(self, head_channel_map(model))
        self._replace_with_dynamic_ops(model, _TRACER_OPS)
        super().prepare_for_pruning(model)
        slice_parameter_channels(self, model)

    def sample_choice(self) -> Union[int, float]:
        if self.heads is None:
            return super().sample_choice()
        num_heads, dims = self.heads[:2]
        return max(1, num_heads // 2) * dims / self.num_channels

    def _make_divisible(self, choice_int: int) -> int:
        if self.heads is None:
            return super()._make_divisible(choice_int)
        dims = self.heads[1]
        return min(max(1, round(choice_int / dims)) * dims, self.num_channels)
