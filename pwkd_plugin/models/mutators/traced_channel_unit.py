"""The channel unit the channel tracer checks each traced unit with."""
import torch.nn as nn
from mmrazor.models.mutables import SequentialMutableChannelUnit
from mmrazor.registry import MODELS

from ..dynamic_ops import TRACER_OPS
from .attention_heads import attention_heads, unit_heads
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
    attention's heads is checked with whole heads (counts that are
    multiples of ``head_dims``).
    """

    def prepare_for_pruning(self, model: nn.Module) -> None:
        """Replace the unit's layers by masked dynamic ops."""
        heads = heads_of(self) or unit_heads(self, attention_heads(model))
        if heads is not None:
            self.divisor = self.min_value = heads[1]
        self._replace_with_dynamic_ops(model, TRACER_OPS)
        super().prepare_for_pruning(model)
        slice_parameter_channels(self, model)
