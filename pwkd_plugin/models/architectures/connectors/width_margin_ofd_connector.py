"""OFD's teacher connector for a slimmable teacher."""
import torch
from mmrazor.models.architectures.connectors import OFDTeacherConnector
from mmrazor.registry import MODELS


@MODELS.register_module()
class WidthMarginOFDConnector(OFDTeacherConnector):
    """OFD's teacher connector with one margin per teacher width.

    OFD clips the teacher's pre-ReLU features at a margin computed from the
    batch norm that produced them. A slimmable teacher has a private batch
    norm per width, so each width has its own margin; the one whose channel
    count matches the feature is used. The margins are buffers (outside the
    state dict: they are computed from the teacher), so they move with the
    model once instead of being copied to its device every step.
    """

    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.margins = {}

    def init_margins(self, margins: dict) -> None:
        """Set the margins, keyed by channel count."""
        for channels, margin in margins.items():
            self.register_buffer(
                f'margin_{channels}', margin.detach(), persistent=False)
        self.margins = {int(c): f'margin_{c}' for c in margins}

    def forward_train(self, feature: torch.Tensor) -> torch.Tensor:
        margin = getattr(self, self.margins[feature.shape[1]])
        return torch.max(feature.detach(), margin)
