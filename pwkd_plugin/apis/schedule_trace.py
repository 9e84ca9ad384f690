"""The learning rate and teacher width a config trains with, step by step.

The schedule is computed by the config's own parameter schedulers (built as
mmengine's Runner builds them, with its default ``end`` and
``convert_to_iter_based``, on a one-parameter optimizer, stepped as its
``ParamSchedulerHook`` steps them) and the PWKD stage plan, without data or
models.
"""
import copy
import inspect
import logging
import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DATASETS, PARAM_SCHEDULERS

from ..config_blocks import expand_pwkd_train, prepare_train_config
from ..models.utils import quiet_logger, teacher_stage


def train_epoch_length(cfg: Config) -> Optional[int]:
    """Iterations per epoch of the config's training data (one process),
    or None when its data set cannot be built here.

    Args:
        cfg (Config): A training config.

    Returns:
        int, optional: ``len(train_dataloader)`` as the Runner has it.
    """
    loader = cfg.get('train_dataloader')
    if not loader or 'dataset' not in loader:
        return None
    dataset_cfg = copy.deepcopy(loader.dataset)
    scope = dataset_cfg.pop('_scope_', None) or cfg.get(
        'default_scope') or 'mmpretrain'
    try:
        with DATASETS.switch_scope_and_registry(scope) as registry, \
                quiet_logger(logging.ERROR):
            cls = registry.get(dataset_cfg['type'])
            if 'download' in inspect.signature(cls).parameters:
                dataset_cfg['download'] = False  # count what is here, only
            size = len(registry.build(dataset_cfg))
    except Exception:  # e.g. the data is not on this machine
        return None
    batch = loader.batch_size
    if loader.get('drop_last', False):
        return size // batch
    return math.ceil(size / batch)


def expand_for_schedule(cfg: Config) -> Config:
    """Expand a config's blocks; a ``pwkd`` block whose teacher checkpoint
    does not exist yet uses its own ``widths``."""
    block = cfg.get('pwkd')
    if isinstance(block, dict) and not osp.isfile(
            str(block.get('teacher_ckpt'))):
        if block.get('widths') is None:
            raise ValueError(
                f'pwkd.teacher_ckpt {block.get("teacher_ckpt")!r} does not '
                'exist and pwkd.widths is not given, so the teacher widths '
                'are unknown: give one of them (e.g. --cfg-options '
                'pwkd.teacher_ckpt=PATH)')
        cfg = expand_pwkd_train(cfg, teacher_widths=block['widths'])
    return prepare_train_config(cfg)


def _by_epoch(train_cfg) -> bool:
    return train_cfg.get('by_epoch',
                         'Iter' not in str(train_cfg.get('type', '')))


def _training_length(train_cfg, iters_per_epoch: int):
    """(max_epochs, max_iters) as the Runner's train loop has them."""
    if _by_epoch(train_cfg):
        return train_cfg.max_epochs, train_cfg.max_epochs * iters_per_epoch
    return 1, train_cfg.max_iters


def _build_schedulers(cfg: Config, optim_wrapper: OptimWrapper,
                      iters_per_epoch: int) -> list:
    """The schedulers as mmengine's ``Runner._build_param_scheduler`` builds
    them: a missing ``end`` is the training length (in the scheduler's own
    unit), and ``convert_to_iter_based`` converts with the epoch length."""
    configs = cfg.get('param_scheduler') or []
    if isinstance(configs, dict):
        configs = [configs]
    max_epochs, max_iters = _training_length(cfg.train_cfg, iters_per_epoch)
    schedulers = []
    for scheduler in copy.deepcopy(list(configs)):
        scheduler = dict(scheduler)
        scheduler.setdefault(
            'end', max_epochs if scheduler.get('by_epoch', True) else max_iters)
        schedulers.append(
            PARAM_SCHEDULERS.build(
                scheduler,
                default_args=dict(
                    optimizer=optim_wrapper, epoch_length=iters_per_epoch)))
    return schedulers


def trace_schedule(cfg: Config, iters_per_epoch: int = 1) -> Dict[str, List]:
    """The learning rate and teacher width at every training iteration.

    Args:
        cfg (Config): A training config (blocks not yet expanded).
        iters_per_epoch (int): Iterations per epoch, for epoch-based
            training. Defaults to 1.

    Returns:
        dict: ``progress`` (epochs, or iterations for iteration-based
        training, at the start of each iteration), ``lr``, ``width`` (the
        teacher width; None without a PWKD stage plan), ``unit``
        (``'epoch'`` or ``'iteration'``) and ``stage_lengths``.
    """
    if isinstance(iters_per_epoch, bool) or not isinstance(
            iters_per_epoch, int) or iters_per_epoch < 1:
        raise ValueError('iters_per_epoch must be a positive integer, got '
                         f'{iters_per_epoch!r}')
    cfg = expand_for_schedule(copy.deepcopy(cfg))
    train_cfg = cfg.train_cfg
    by_epoch = _by_epoch(train_cfg)
    if by_epoch:
        epochs, per_epoch = train_cfg.max_epochs, iters_per_epoch
    else:
        epochs, per_epoch = 1, train_cfg.max_iters
    lr = cfg.optim_wrapper.optimizer.lr
    optim_wrapper = OptimWrapper(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr))
    schedulers = _build_schedulers(cfg, optim_wrapper, iters_per_epoch)
    hook = next((h for h in cfg.get('custom_hooks') or []
                 if str(h.get('type', '')).endswith('PWKDStageHook')), None)

    trace = dict(progress=[], lr=[], width=[],
                 unit='epoch' if by_epoch else 'iteration',
                 stage_lengths=list(hook['stage_lengths']) if hook else None)
    for epoch in range(epochs):
        for index in range(per_epoch):
            iteration = epoch * per_epoch + index
            trace['progress'].append(epoch + index / per_epoch
                                     if by_epoch else index)
            trace['lr'].append(optim_wrapper.get_lr()['lr'][0])
            trace['width'].append(
                teacher_stage(epoch, iteration, hook['widths'],
                              hook['stage_lengths'], hook['by_epoch'])[1]
                if hook else None)
            optim_wrapper.step()  # no gradients: nothing moves
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
    return trace
