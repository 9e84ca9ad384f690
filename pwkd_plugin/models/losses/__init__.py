from .channel_adapted_loss import FEATURE_STRATEGIES, ChannelAdaptedLoss
from .padded_teacher_connector import PaddedTeacherConnector
from .per_stage_connector import PerStageConnector
from .partial_teacher_adaptation import LOSS_ADAPTERS, adapt_distiller
from .partial_teacher_ofd_distiller import (PartialTeacherOFDDistiller,
                                            WidthMarginOFDConnector)

__all__ = [
    'ChannelAdaptedLoss', 'PaddedTeacherConnector', 'adapt_distiller',
    'LOSS_ADAPTERS', 'FEATURE_STRATEGIES', 'PartialTeacherOFDDistiller',
    'WidthMarginOFDConnector', 'PerStageConnector'
]
