"""A feature distillation loss that accepts a teacher of fewer channels."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS

#: How feature losses meet a narrower teacher (see ``adapt_distiller``).
FEATURE_STRATEGIES = ('slice', 'pad', 'per_stage')
LOSS_STRATEGIES = ('slice', 'pad')


def _pad_channels(tensor: torch.Tensor, channels: int) -> torch.Tensor:
    """Zero-pad dimension 1 of ``tensor`` up to ``channels``."""
    padding = [0, 0] * (tensor.dim() - 2) + [0, channels - tensor.shape[1]]
    return F.pad(tensor, padding)


@MODELS.register_module()
class ChannelAdaptedLoss(nn.Module):
    """Wraps a loss that compares features channel by channel, so that it
    accepts a partial (narrower) teacher.

    A slimmable teacher at width ``w`` keeps the first channels of every
    layer, so a teacher feature can have fewer channels (dimension 1) than
    the input it is compared with (the student's, through a connector built
    for the whole teacher; or the teacher's own, through such a connector).
    Among the loss's tensor inputs of equal other dimensions:

    * ``'slice'`` (default): every input is cut to the fewest channels, so
      only the teacher's active channels are compared;
    * ``'pad'``: every input is zero-padded to the most channels.

    At the whole width all channel counts agree and nothing changes.

    Args:
        loss (nn.Module): The wrapped loss.
        strategy (str): ``'slice'`` or ``'pad'``. Defaults to ``'slice'``.
    """

    def __init__(self, loss: nn.Module, strategy: str = 'slice') -> None:
        super().__init__()
        if strategy not in LOSS_STRATEGIES:
            raise ValueError(f'strategy must be one of {LOSS_STRATEGIES}, '
                             f'got {strategy!r}')
        self.loss = loss
        self.strategy = strategy

    def adapt(self, kwargs: dict) -> dict:
        """The loss inputs with equal channel counts."""
        groups = {}
        for key, value in kwargs.items():
            if torch.is_tensor(value) and value.dim() >= 2:
                groups.setdefault((value.dim(), tuple(value.shape[2:])),
                                  []).append(key)
        kwargs = dict(kwargs)
        for keys in groups.values():
            channels = [kwargs[key].shape[1] for key in keys]
            if len(set(channels)) < 2:
                continue
            for key in keys:
                if self.strategy == 'slice':
                    kwargs[key] = kwargs[key][:, :min(channels)]
                else:
                    kwargs[key] = _pad_channels(kwargs[key], max(channels))
        return kwargs

    def forward(self, **kwargs):
        return self.loss(**self.adapt(kwargs))
