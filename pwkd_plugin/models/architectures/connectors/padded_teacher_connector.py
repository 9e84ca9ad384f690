"""A teacher-side connector that accepts a partial (narrower) teacher."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS


def expected_in_channels(connector: nn.Module) -> Optional[int]:
    """Input channels of a connector's first layer (None if it has none)."""
    for module in connector.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            return module.in_channels
        if isinstance(module, nn.Linear):
            return module.in_features
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            return module.num_features
    return None


@MODELS.register_module()
class PaddedTeacherConnector(nn.Module):
    """Zero-pads the features of a partial teacher to the channels its
    connector was built for (the whole teacher's), then applies it.

    Teacher-side connectors (e.g. CRD's embedding, Factor Transfer's
    paraphraser) hold weights for every channel of the whole teacher; at a
    narrower width the channels the teacher does not have are zeros.

    Args:
        connector (nn.Module): The wrapped connector.
        in_channels (int): The channels it expects.
    """

    def __init__(self, connector: nn.Module, in_channels: int) -> None:
        super().__init__()
        self.connector = connector
        self.in_channels = in_channels

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        missing = self.in_channels - feature.shape[1]
        if missing > 0:
            padding = [0, 0] * (feature.dim() - 2) + [0, missing]
            feature = F.pad(feature, padding)
        return self.connector(feature)
