"""mmrazor's channel tracer, checking units with every layer type the
plugin slices."""
import contextlib
from typing import Dict

import torch.nn as nn
from mmrazor.models.task_modules.tracer import ChannelAnalyzer
from mmrazor.models.task_modules.tracer import \
    channel_analyzer as razor_channel_analyzer

from .traced_channel_unit import TracedChannelUnit


@contextlib.contextmanager
def _units_checked_as(unit_type):
    original = razor_channel_analyzer.SequentialMutableChannelUnit
    razor_channel_analyzer.SequentialMutableChannelUnit = unit_type
    try:
        yield
    finally:
        razor_channel_analyzer.SequentialMutableChannelUnit = original


class TeacherChannelAnalyzer(ChannelAnalyzer):
    """mmrazor's ``ChannelAnalyzer`` whose check of each traced unit (can
    its channels be masked and the model still run?) also knows the layers
    of :class:`TracedChannelUnit` (timm's ``BatchNormAct2d``).

    :class:`SlimmableTeacherMutator` traces with it where its config names
    mmrazor's ``ChannelAnalyzer`` (mmrazor's mutators accept no other
    analyzer type name). Arguments as mmrazor's ``ChannelAnalyzer``.
    """

    def _find_mutable_units(self, model: nn.Module,
                            units_config: Dict) -> Dict:
        # mmrazor's check, unchanged, builds its units by this module name.
        with _units_checked_as(TracedChannelUnit):
            return super()._find_mutable_units(model, units_config)
