"""One student-side connector per teacher width."""
import copy

import torch
import torch.nn as nn
from mmrazor.registry import MODELS

from ...utils import slim_channels

#: Keys that hold a connector's output channels.
OUT_CHANNEL_KEYS = ('out_channel', 'out_channels', 'out_features')


@MODELS.register_module()
class PerStageConnector(nn.Module):
    """A student-side connector with its own copy for every teacher width.

    A connector built to map student features to the whole teacher's
    channels gets one copy per width, each mapping to the channels the
    teacher has at that width; the copy of the teacher's current width is
    used. No loss input is cut or padded.

    Args:
        connector (dict): The connector config (its output channels are
            those of the whole teacher).
        mutator (SlimmableTeacherMutator): The teacher's width mutator.
    """

    def __init__(self, connector: dict, mutator: nn.Module) -> None:
        super().__init__()
        key = next((k for k in OUT_CHANNEL_KEYS if k in connector), None)
        if key is None:
            raise ValueError(
                f'feature_strategy="per_stage" needs the connector\'s output '
                f'channels ({"/".join(OUT_CHANNEL_KEYS)}), got {connector}')
        self.widths = tuple(mutator.widths)
        copies = []
        for width in self.widths:
            cfg = copy.deepcopy(connector)
            cfg[key] = slim_channels(cfg[key], width, mutator.divisor,
                                     mutator.min_channels)
            copies.append(MODELS.build(cfg))
        self.connectors = nn.ModuleList(copies)
        # Not a submodule: the mutator belongs to the teacher.
        self.__dict__['mutator'] = mutator

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        index = self.widths.index(self.mutator.current_width)
        return self.connectors[index](feature)
