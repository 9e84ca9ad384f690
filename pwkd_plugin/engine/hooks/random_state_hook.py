"""Keeps the random generators' state in epoch checkpoints, so that a run
resumed from one draws what the uninterrupted run drew (augmentation,
dropout, ...).

mmengine's resume re-seeds the generators from the seed, which restarts
their streams: a resumed run's data augmentation then differs from the
uninterrupted run's, and so do its final weights.
"""
import random
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from mmrazor.registry import HOOKS

#: Where epoch checkpoints hold the state, one entry per rank.
RANDOM_STATE_META = 'random_state'

_NOT_READ = object()


def random_state() -> Dict:
    """This process's Python, NumPy, torch (and CUDA) generator states, as
    values a weights-only load reads."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=(kind, [int(k) for k in keys], position, has_gauss, gauss),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_random_state(state: Dict) -> None:
    """Restore what :func:`random_state` returned."""
    random.setstate(state['python'])
    kind, keys, position, has_gauss, gauss = state['numpy']
    np.random.set_state(
        (kind, np.array(keys, dtype=np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Resume an epoch-based run with the random state it had.

    At the end of every training epoch each rank's generator state is
    gathered; the checkpoint written at that epoch holds them (meta
    ``random_state``, one per rank). On resume each rank restores its own
    before training goes on. Validation runs on a copy of the state (it is
    restored afterwards), so the state at the checkpoint is the one the next
    epoch starts from whether or not the run validated in between.

    A checkpoint without the state (written without this hook, or at an
    iteration inside an epoch), or written by another number of processes,
    resumes with one warning that the run will not be exact. Iteration-based
    runs are left alone: mmengine replays their data loader on resume.
    Persistent data loader workers restart their streams on resume (a
    warning says so): set ``train_dataloader.persistent_workers=False`` for
    an exact resume with workers.
    """

    # After the other hooks' before_train and after_train_epoch, before the
    # checkpoint hook (VERY_LOW) saves.
    priority = 'LOW'

    def __init__(self) -> None:
        self._states = None
        self._states_iter = None
        self._resumed = _NOT_READ
        self._val_state = None
        self._epoch_based = False  # set while an epoch-based run trains

    def after_train_epoch(self, runner) -> None:
        if self._epoch_based:
            self._states = all_gather_object(random_state())
            self._states_iter = runner.iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._states is not None and runner.iter == self._states_iter:
            checkpoint.setdefault('meta', {})[RANDOM_STATE_META] = \
                self._states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):
            self._resumed = checkpoint.get('meta', {}).get(RANDOM_STATE_META)

    def before_train(self, runner) -> None:
        self._epoch_based = isinstance(runner.train_loop, EpochBasedTrainLoop)
        if self._resumed is _NOT_READ or not self._epoch_based:
            return
        states: Optional[list] = self._resumed
        self._resumed = _NOT_READ
        reason = None
        if not states:
            reason = 'holds no random generator state'
        elif len(states) != get_world_size():
            reason = (f'holds the random state of {len(states)} processes, '
                      f'and this run has {get_world_size()}')
        if reason is not None:
            runner.logger.warning(
                f'the resumed checkpoint {reason}: the generators restart '
                'from the seed, so data augmentation and other random draws '
                'differ from the uninterrupted run\'s, and so will the final '
                'weights')
            return
        set_random_state(states[get_rank()])
        loader = runner.train_loop.dataloader
        if getattr(loader, 'persistent_workers', False):
            runner.logger.warning(
                'the training data loader\'s workers are persistent: their '
                'random streams restart on resume, so the resumed run is not '
                'exact (set train_dataloader.persistent_workers=False for '
                'an exact resume)')

    def after_train(self, runner) -> None:
        self._epoch_based = False

    def before_val(self, runner) -> None:
        if self._epoch_based:
            self._val_state = random_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_random_state(self._val_state)
            self._val_state = None
