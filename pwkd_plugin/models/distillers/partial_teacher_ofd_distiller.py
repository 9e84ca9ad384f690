"""Overhaul Feature Distillation (OFD) with a partial teacher."""
from operator import attrgetter

import torch
import torch.nn as nn
from mmrazor.models.architectures.connectors import OFDTeacherConnector
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.models.distillers import OFDDistiller
from mmrazor.models.losses import OFDLoss
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


@MODELS.register_module()
class PartialTeacherOFDDistiller(OFDDistiller):
    """``OFDDistiller`` for a slimmable teacher: accepts its switchable batch
    norms and gives every width the margin of its own batch norm."""

    def init_ofd_connectors(self, teacher: nn.Module) -> None:
        for loss_key, mapping in self.loss_forward_mappings.items():
            if not isinstance(self.distill_losses[loss_key], OFDLoss):
                continue
            for record in mapping.values():
                if record.get('from_student', True) or 'connector' not in \
                        record:
                    continue
                source = self.teacher_recorders.get_recorder(
                    record['recorder']).source
                bn = attrgetter(source)(teacher)
                if not isinstance(bn, SwitchableBatchNorm2d):
                    raise TypeError(
                        f'OFD with a partial teacher needs {source} to be a '
                        f'slimmable batch norm, got {type(bn).__name__}')
                margins = {bn.num_features: self._get_margin_from_BN(bn)}
                for channels, candidate in bn.candidate_bn.items():
                    if int(channels) != bn.num_features:
                        margins[int(channels)] = self._get_margin_from_BN(
                            candidate)
                connector = WidthMarginOFDConnector()
                connector.init_margins(margins)
                self.connectors[record['connector']] = connector
