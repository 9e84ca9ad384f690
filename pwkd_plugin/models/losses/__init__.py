from .channel_adapted_loss import FEATURE_STRATEGIES, ChannelAdaptedLoss
from .partial_teacher_adaptation import LOSS_ADAPTERS, adapt_distiller

__all__ = [
    'ChannelAdaptedLoss', 'adapt_distiller', 'LOSS_ADAPTERS',
    'FEATURE_STRATEGIES'
]
