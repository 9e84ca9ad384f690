"""Making a configured distiller accept a partial teacher."""
from typing import Dict, Optional

import torch.nn as nn

from ..architectures.connectors import (PaddedTeacherConnector,
                                        PerStageConnector,
                                        expected_in_channels)
from .channel_adapted_loss import FEATURE_STRATEGIES, ChannelAdaptedLoss

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


def _per_stage_connectors(distiller, forward_mappings, connector_cfgs,
                          mutator) -> bool:
    """Give the student-side connectors of a loss one copy per width."""
    replaced = False
    for record in forward_mappings.values():
        name = record.get('connector')
        if not record.get('from_student', True) or name is None or \
                record.get('connector_idx') is not None:
            continue
        if not isinstance(distiller.connectors[name], PerStageConnector):
            distiller.connectors[name] = PerStageConnector(
                connector_cfgs[name], mutator)
        replaced = True
    return replaced


def adapt_distiller(distiller: nn.Module,
                    strategy: str = 'slice',
                    connector_cfgs: Optional[Dict] = None,
                    mutator: Optional[nn.Module] = None) -> Dict:
    """Make every loss and teacher-side connector accept a partial teacher.

    Teacher-side connectors get :class:`PaddedTeacherConnector`; losses that
    compare features channel by channel (:data:`LOSS_ADAPTERS`, and any loss
    not in the table that has teacher inputs) get :class:`ChannelAdaptedLoss`
    or, with ``'per_stage'``, one student-side connector per width
    (:class:`PerStageConnector`; losses without a student-side connector
    fall back to ``'slice'``). Logit and relation losses are left as they
    are.

    Args:
        distiller (ConfigurableDistiller): The built distiller.
        strategy (str): ``'slice'``, ``'pad'`` (see
            :class:`ChannelAdaptedLoss`) or ``'per_stage'``. Defaults to
            ``'slice'``.
        connector_cfgs (dict, optional): The distiller's connector configs;
            needed by ``'per_stage'``.
        mutator (nn.Module, optional): The teacher's width mutator; needed
            by ``'per_stage'``.

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
        if strategy == 'per_stage' and _per_stage_connectors(
                distiller, forward_mappings, connector_cfgs or {}, mutator):
            done[loss_name] = 'per_stage'
            continue
        adapted = 'slice' if strategy == 'per_stage' else strategy
        distiller.distill_losses[loss_name] = ChannelAdaptedLoss(
            loss, adapted)
        done[loss_name] = adapted
    return done
