"""Recompute the narrower widths' batch-norm statistics of a slimmable model."""
import itertools

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from torch.nn.modules.batchnorm import _BatchNorm
from mmrazor.registry import HOOKS


@torch.no_grad()
def recalibrate_bn_statistics(model, dataloader, num_batches: int) -> None:
    """Re-estimate the running statistics of every width below 1.0.

    At each narrower width, the active private batch norms are reset and
    fed ``num_batches`` training batches in training mode, with a
    cumulative average (``momentum=None``). The whole width is left as it
    is. Nothing is learned.

    Args:
        model (SlimmableTeacher): The model (unwrapped).
        dataloader (Iterable): Training batches.
        num_batches (int): Batches per width.
    """
    mutator = model.mutator
    previous_width, was_training = mutator.current_width, model.training
    switchable = [
        m for m in model.modules() if isinstance(m, SwitchableBatchNorm2d)
    ]
    every_bn = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    model.train()
    for width in mutator.widths[:-1]:
        mutator.set_width(width)
        active = []
        for module in switchable:
            channels = module.activated_channel_num()
            if channels != module.num_features:
                active.append(module.candidate_bn[str(channels)])
        # Batch norms that stay whole at this width (rounding, or layers the
        # tracer keeps whole) run too: keep their statistics as they are.
        kept = {
            bn: [buffer.clone() for buffer in bn.buffers(recurse=False)]
            for bn in every_bn if bn.track_running_stats and all(
                bn is not other for other in active)
        }
        momenta = [bn.momentum for bn in active]
        for bn in active:
            bn.reset_running_stats()
            bn.momentum = None
        for data in itertools.islice(dataloader, num_batches):
            data = model.data_preprocessor(data, True)
            model(data['inputs'], data['data_samples'], mode='tensor')
        for bn, momentum in zip(active, momenta):
            bn.momentum = momentum
        for bn, saved in kept.items():
            for buffer, value in zip(bn.buffers(recurse=False), saved):
                buffer.copy_(value)
    mutator.set_width(previous_width)
    model.train(was_training)


@HOOKS.register_module()
class SlimmableBNRecalibrationHook(Hook):
    """Recalibrate narrower widths' batch norms before training starts.

    Meant for a slimmable model that starts from an ordinary full-width
    checkpoint: the narrower widths' batch norms start as copies of the
    whole one's, whose statistics do not fit a sliced layer. A resumed run
    (iteration > 0) keeps the statistics of its checkpoint.

    Args:
        num_batches (int): Training batches per width. Defaults to 20.
    """

    priority = 'LOW'

    def __init__(self, num_batches: int = 20) -> None:
        if num_batches < 1:
            raise ValueError(
                f'num_batches must be at least 1, got {num_batches!r}')
        self.num_batches = num_batches

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        runner.logger.info(
            f'recalibrating the batch norms of widths '
            f'{list(model.mutator.widths[:-1])} on {self.num_batches} '
            'training batches each')
        recalibrate_bn_statistics(model, runner.train_dataloader,
                                  self.num_batches)
