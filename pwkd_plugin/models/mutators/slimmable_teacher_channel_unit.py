"""The channel unit of a slimmable teacher."""
import torch.nn as nn
from mmrazor.models.mutables import MutableChannelContainer
from mmrazor.models.mutables.mutable_channel.units import SlimmableChannelUnit
from mmrazor.registry import MODELS

from ..dynamic_ops import DYNAMIC_OPS
from .parameter_channels import slice_parameter_channels


@MODELS.register_module()
class SlimmableTeacherChannelUnit(SlimmableChannelUnit):
    """mmrazor's ``SlimmableChannelUnit`` over every layer type the plugin
    can slice (:data:`~pwkd_plugin.models.dynamic_ops.DYNAMIC_OPS`).

    mmrazor's unit replaces only ``nn.Conv2d``, ``nn.BatchNorm2d`` and
    ``nn.Linear``; a layer of any other type (EfficientNet's
    ``Conv2dAdaptivePadding``) kept its class, so its unit was not mutable
    and every layer of that unit stayed whole. The per-channel parameters
    its channels name (layer scales) are sliced with it.
    """

    def prepare_for_pruning(self, model: nn.Module) -> None:
        """Replace the unit's layers by dynamic ops, register its mutable."""
        self._replace_with_dynamic_ops(model, DYNAMIC_OPS)
        self.alter_candidates_of_switchbn(self.candidate_choices)
        self._register_channel_container(model, MutableChannelContainer)
        self._register_mutable_channel(self.mutable_channel)
        slice_parameter_channels(self, model)
