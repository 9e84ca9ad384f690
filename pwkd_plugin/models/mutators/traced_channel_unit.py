"""The channel unit the channel tracer checks each traced unit with."""
import torch.nn as nn
from mmrazor.models.mutables import SequentialMutableChannelUnit
from mmrazor.registry import MODELS

from ..dynamic_ops import TRACER_OPS
from .heads_channels import heads_of
from .parameter_channels import slice_parameter_channels


@MODELS.register_module()
class TracedChannelUnit(SequentialMutableChannelUnit):
    """mmrazor's ``SequentialMutableChannelUnit``, also over the layer types
    of :data:`~pwkd_plugin.models.dynamic_ops.TRACER_OPS`.

    mmrazor's tracer keeps a unit only if every layer of it can take a
    channel mask; a unit holding a layer type mmrazor does not know (timm's
    ``BatchNormAct2d``) was dropped, and all its layers stayed whole. Its
    per-channel parameters (layer scales) are sliced too. A unit of an
    attention's heads is checked at a count of whole heads.
    """

    def _get_valid_int_choice(self, choice) -> int:
        count = super()._get_valid_int_choice(choice)
        heads = heads_of(self)
        if heads is None:
            return count
        return max(1, round(count / heads[1])) * heads[1]

    def prepare_for_pruning(self, model: nn.Module) -> None:
        """Replace the unit's layers by masked dynamic ops."""
        self._replace_with_dynamic_ops(model, TRACER_OPS)
        super().prepare_for_pruning(model)
        slice_parameter_channels(self, model)
