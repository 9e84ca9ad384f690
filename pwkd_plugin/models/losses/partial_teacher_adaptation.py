"""Making a configured distiller accept a partial teacher."""
from typing import Dict

import torch.nn as nn

from .channel_adapted_loss import FEATURE_STRATEGIES, ChannelAdaptedLoss
from .padded_teacher_connector import (PaddedTeacherConnector,
                                       expected_in_channels)

#: mmrazor distillation losses and what a partial teacher needs for each.
#: ``None``: nothing (they compare logits, whose class outputs every width
#: keeps, or relations that do not depend on the channel count).
#: ``'channels'``: teacher and student features are compared channel by
#: channel; the loss is wrapped in :class:`ChannelAdaptedLoss`.
LOSS_ADAPTERS = {
    'KLDivergence': None,
    'DKDLoss': None,
    'WSLD': None,
    'DISTLoss': None,
    'KDSoftCELoss': None,
    'CrossEntropyLoss': None,
    'DistanceWiseRKD': None,
    'AngleWiseRKD': None,
    'ATLoss': None,
    'CRDLoss': None,
    'L1Loss': 'channels',
    'L2Loss': 'channels',
    'ABLoss': 'channels',
    'FTLoss': 'channels',
    'OFDLoss': 'channels',
    'ChannelWiseDivergence': 'channels',
    'MGDLoss': 'channels',
    'PKDLoss': 'channels',
    'FBKDLoss': 'channels',
}


def _teacher_args(forward_mappings: Dict) -> list:
    return [
        name for name, record in forward_mappings.items()
        if not record.get('from_student', True)
    ]


def _wrap_teacher_connector(distiller, name: str, index) -> None:
    connectors = distiller.connectors[name] if index is None else \
        distiller.connectors[name][index]
    if isinstance(connectors, PaddedTeacherConnector):
        return
    in_channels = expected_in_channels(connectors)
    if in_channels is None:
        return
    wrapped = PaddedTeacherConnector(connectors, in_channels)
    if index is None:
        distiller.connectors[name] = wrapped
    else:
        distiller.connectors[name][index] = wrapped


def adapt_distiller(distiller: nn.Module, strategy: str = 'slice') -> Dict:
    """Make every loss and teacher-side connector accept a partial teacher.

    Teacher-side connectors get :class:`PaddedTeacherConnector`; losses that
    compare features channel by channel (:data:`LOSS_ADAPTERS`, and any loss
    not in the table that has teacher inputs) get :class:`ChannelAdaptedLoss`.
    Logit and relation losses are left as they are.

    Args:
        distiller (ConfigurableDistiller): The built distiller.
        strategy (str): ``'slice'`` or ``'pad'`` (see
            :class:`ChannelAdaptedLoss`). Defaults to ``'slice'``.

    Returns:
        dict: loss name -> what was done (``'none'`` or the strategy).
    """
    if strategy not in FEATURE_STRATEGIES:
        raise ValueError(
            f'feature_strategy must be one of {FEATURE_STRATEGIES}, got '
            f'{strategy!r}')
    done = {}
    for loss_name, forward_mappings in distiller.loss_forward_mappings.items():
        for record in forward_mappings.values():
            if not record.get('from_student', True) and record.get(
                    'connector'):
                _wrap_teacher_connector(distiller, record['connector'],
                                        record.get('connector_idx'))
        loss = distiller.distill_losses[loss_name]
        teacher_args = _teacher_args(forward_mappings)
        kind = LOSS_ADAPTERS.get(type(loss).__name__, 'channels')
        if kind is None or not teacher_args or isinstance(
                loss, ChannelAdaptedLoss):
            done[loss_name] = 'none'
            continue
        distiller.distill_losses[loss_name] = ChannelAdaptedLoss(
            loss, strategy)
        done[loss_name] = strategy
    return done
