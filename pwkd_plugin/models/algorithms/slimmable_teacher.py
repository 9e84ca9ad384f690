"""A classifier trained as weight-sharing sub-networks of every width."""
import copy
import logging
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmrazor.models import SlimmableNetwork
from mmrazor.models.mutables import BaseMutable
from mmrazor.models.utils import (add_prefix,
                                  reinitialize_optim_wrapper_count_status)
from mmrazor.registry import MODELS
from mmrazor.structures.subnet.fix_subnet import _dynamic_to_static

from ...checkpoints import load_full_width_checkpoint
from ..utils import quiet_logger, width_tag


def train_widths_jointly(algorithm: 'SlimmableTeacher', forward,
                         batch_inputs: torch.Tensor, data_samples: List,
                         optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
    """One training step over every width, widest first.

    The gradients of all widths accumulate and the optimizer steps once, so
    the step minimises the mean of the widths' losses.

    Args:
        algorithm (SlimmableTeacher): The model (unwrapped).
        forward (Callable): What runs the forward pass: the model itself, or
            its DDP wrapper so that gradients are synchronised.
        batch_inputs (torch.Tensor): Preprocessed inputs.
        data_samples (list): Their data samples.
        optim_wrapper (OptimWrapper): The optimizer wrapper.

    Returns:
        dict: Every width's losses, prefixed with the width's tag.
    """
    mutator = algorithm.mutator
    if not algorithm._optim_wrapper_count_status_reinitialized:
        # Accumulate the gradients of all widths; step once, after the last.
        counts = getattr(optim_wrapper, '_accumulative_counts', None)
        if counts == 1:
            optim_wrapper._accumulative_counts = len(mutator.widths)
        elif counts != len(mutator.widths):
            raise ValueError(
                f'optim_wrapper.accumulative_counts is {counts}; a slimmable '
                f'teacher accumulates its {len(mutator.widths)} widths itself '
                '(leave it at 1)')
        # mmengine warns that accumulating gradients over batches with batch
        # norms may hurt; here every width runs on the same batch.
        with quiet_logger(logging.ERROR):
            reinitialize_optim_wrapper_count_status(
                model=forward,
                optim_wrapper=optim_wrapper,
                accumulative_counts=len(mutator.widths),
                verbose=False)
        algorithm._optim_wrapper_count_status_reinitialized = True
    soft_target = None
    total_losses = dict()
    for width in reversed(mutator.widths):
        mutator.set_width(width)
        with optim_wrapper.optim_context(forward):
            if algorithm.inplace_distill:
                logits = forward(batch_inputs, data_samples, mode='tensor')
                if soft_target is None:
                    losses = algorithm.architecture.head._get_loss(
                        logits, data_samples)
                    soft_target = logits.detach()
                else:
                    losses = dict(
                        loss_inplace_kd=algorithm.inplace_kd_loss(
                            logits, soft_target))
            else:
                losses = forward(batch_inputs, data_samples, mode='loss')
        parsed_losses, _ = algorithm.parse_losses(losses)
        optim_wrapper.update_params(parsed_losses)
        total_losses.update(add_prefix(losses, width_tag(width)))
    mutator.set_width(1.0)
    return total_losses


@MODELS.register_module()
class SlimmableTeacher(SlimmableNetwork):
    """Train a classifier as slimmable sub-networks of several widths.

    The sub-networks share weights (the first channels of every layer) and
    have private batch norms. Every step runs every width and sums their
    gradients (slimmable networks). With in-place distillation the whole
    width learns from the labels and every narrower width from the whole
    width's soft predictions of the same step.

    Args:
        architecture (dict | BaseModel): An mmpretrain classifier.
        mutator (dict): The mutator config. Defaults to
            ``dict(type='SlimmableTeacherMutator')``.
        inplace_distill (bool): Whether narrower widths learn from the whole
            width's soft output instead of the labels. Needs a classifier
            with a ``head`` (mmpretrain ``ClsHead``). Defaults to False.
        inplace_distill_tau (float): Temperature of in-place distillation.
            Defaults to 1.0.
        init_from (str, optional): An ordinary (not slimmable) checkpoint of
            the same classifier to start from: weights map one to one, the
            narrower widths' batch norms start from the first channels of
            the whole one (recalibrate their statistics with
            ``SlimmableBNRecalibrationHook``). Defaults to None.
        data_preprocessor (dict, optional): The data preprocessor config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 architecture: Union[BaseModel, Dict],
                 mutator: Dict = dict(type='SlimmableTeacherMutator'),
                 inplace_distill: bool = False,
                 inplace_distill_tau: float = 1.0,
                 init_from: Optional[str] = None,
                 data_preprocessor: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        if inplace_distill_tau <= 0:
            raise ValueError('inplace_distill_tau must be positive, got '
                             f'{inplace_distill_tau!r}')
        # Built here, as mmrazor's base would, so that the arguments are
        # checked before the mutator traces the network.
        if isinstance(architecture, dict):
            architecture = MODELS.build(architecture)
        if inplace_distill and getattr(architecture, 'head', None) is None:
            raise ValueError(
                'inplace_distill needs a classifier with a `head`, got '
                f'{type(architecture).__name__}')
        super().__init__(
            architecture=architecture,
            mutator=mutator,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.inplace_distill = inplace_distill
        self.inplace_distill_tau = inplace_distill_tau
        if init_from is not None:
            load_full_width_checkpoint(self.architecture, init_from)
            # Keep the loaded weights through the Runner's init_weights().
            self.architecture._is_init = True

    def inplace_kd_loss(self, logits: torch.Tensor,
                        soft_target: torch.Tensor) -> torch.Tensor:
        """KL divergence to the whole width's softened prediction."""
        tau = self.inplace_distill_tau
        return F.kl_div(
            F.log_softmax(logits / tau, dim=1),
            F.softmax(soft_target / tau, dim=1),
            reduction='batchmean') * tau**2

    def _slimmable_train_step(self, batch_inputs, data_samples,
                              optim_wrapper):
        return train_widths_jointly(self, self, batch_inputs, data_samples,
                                    optim_wrapper)

    def static_architecture(self, width: float) -> BaseModel:
        """An ordinary (static) copy of the classifier at ``width``.

        The copy's layers hold that width's weights (the first channels of
        every sliced layer, that width's private norms), so it costs what a
        network built at that width costs; the teacher is unchanged.

        Args:
            width (float): One of the mutator's widths.

        Returns:
            BaseModel: The static classifier, in eval mode.
        """
        current = self.mutator.current_width
        self.mutator.set_width(width)
        # Converted before the width is reset: a derived mutable (an
        # expanded channel) of the copy may still read the original's mask.
        try:
            copied = copy.deepcopy(self)
            copied.mutator.fix_channel_mutables()
            static = copied.architecture
            for module in static.modules():
                if isinstance(module, BaseMutable) and not module.is_fixed:
                    module.fix_chosen(None)
            _dynamic_to_static(static)
        finally:
            self.mutator.set_width(current)
        return static.eval()
