"""Overhaul Feature Distillation (OFD) with a partial teacher."""
from operator import attrgetter

import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.models.distillers import OFDDistiller
from mmrazor.models.losses import OFDLoss
from mmrazor.registry import MODELS

from ..architectures.connectors import WidthMarginOFDConnector


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
