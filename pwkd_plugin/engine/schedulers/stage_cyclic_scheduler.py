"""A parameter schedule that restarts at every PWKD stage boundary."""
import math
from numbers import Real
from typing import Optional, Sequence

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler
from mmrazor.registry import PARAM_SCHEDULERS

from ...models.utils import stage_boundaries, stage_index

CYCLE_MODES = ('cosine', 'step', 'constant')

#: What the config decides; a checkpoint restores only the progress (the
#: step counts and the last values), never these.
PLAN_ATTRIBUTES = ('stage_lengths', 'starts', 'mode', 'eta_min',
                   'eta_min_ratio', 'warmup_length', 'warmup_start_ratio',
                   'step_milestones', 'gamma', 'peak_decay', 'begin', 'end',
                   'by_epoch')


@PARAM_SCHEDULERS.register_module()
class StageCyclicParamScheduler(_ParamScheduler):
    """Restart a parameter at every stage boundary and decay it within.

    Within each stage: an optional linear warm-up from
    ``warmup_start_ratio`` of the base value, then

    * ``'cosine'``: cosine annealing to the floor ``eta_min`` (default
      ``eta_min_ratio`` of the base value);
    * ``'step'``: ``gamma`` times at each of ``step_milestones`` (fractions
      of the stage, counted from its start);
    * ``'constant'``: the base value.

    With ``peak_decay`` below 1, stage ``k`` (from 0) restarts at
    ``peak_decay**k`` times the base value instead of the base value itself
    (warm-up, cosine, step and constant values scale with it; the cosine
    floor does not), so the restarts grow smaller stage by stage.

    The value follows from the step count alone (closed form), so a resumed
    run lands on exactly the value an uninterrupted run has there; the
    plan (stage lengths, mode, floor, warm-up, ...) always comes from the
    config, a checkpoint restores only the progress, so the learning rate
    follows the same plan as ``PWKDStageHook``'s stages. Unlike
    chained mmengine schedulers, it restarts from the base value (mmengine's
    chainable ``CosineAnnealingLR`` per stage would start from the current
    value instead).

    Args:
        optimizer (Optimizer | OptimWrapper): The wrapped optimizer.
        param_name (str): The parameter to schedule, e.g. ``'lr'``.
        stage_lengths (Sequence[int]): Length of each stage, in epochs when
            ``by_epoch`` else in iterations.
        mode (str): ``'cosine'``, ``'step'`` or ``'constant'``. Defaults to
            ``'cosine'``.
        eta_min (float, optional): The cosine floor. Defaults to None
            (``eta_min_ratio`` of the base value).
        eta_min_ratio (float): The cosine floor as a ratio of the base
            value. Defaults to 0.01.
        warmup_length (int): Warm-up length at the start of every stage, in
            the unit of ``stage_lengths``. Defaults to 0.
        warmup_start_ratio (float): Warm-up starting value as a ratio of the
            base value. Defaults to 0.1.
        step_milestones (Sequence[float]): For ``'step'``: fractions of the
            stage where the value is multiplied by ``gamma``. Defaults to
            (0.5, 0.75).
        gamma (float): For ``'step'``. Defaults to 0.1.
        peak_decay (float): The restart peak of each stage as a ratio of
            the previous stage's, in (0, 1]. Defaults to 1.0 (every stage
            restarts at the base value).
        begin (int): First step of the schedule. Defaults to 0.
        end (int, optional): End of the schedule. Defaults to ``begin`` plus
            the sum of ``stage_lengths``.
        last_step (int): Defaults to -1.
        by_epoch (bool): Whether steps are epochs. Defaults to True.
        verbose (bool): Defaults to False.
    """

    #: Plan keys that older checkpoints do not record, with the value those
    #: checkpoints' runs followed.
    PLAN_KEYS_ADDED = dict(peak_decay=1.0)

    def __init__(self,
                 optimizer,
                 param_name: str,
                 stage_lengths: Sequence[int],
                 mode: str = 'cosine',
                 eta_min: Optional[float] = None,
                 eta_min_ratio: float = 0.01,
                 warmup_length: int = 0,
                 warmup_start_ratio: float = 0.1,
                 step_milestones: Sequence[float] = (0.5, 0.75),
                 gamma: float = 0.1,
                 peak_decay: float = 1.0,
                 begin: int = 0,
                 end: Optional[int] = None,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_cycle(stage_lengths, mode, warmup_length, warmup_start_ratio,
                    step_milestones, gamma, eta_min, eta_min_ratio,
                    peak_decay=peak_decay)
        self.stage_lengths = [int(length) for length in stage_lengths]
        self.starts = stage_boundaries(self.stage_lengths)
        self.mode = mode
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.warmup_length = int(warmup_length)
        self.warmup_start_ratio = warmup_start_ratio
        self.step_milestones = tuple(step_milestones)
        self.gamma = gamma
        self.peak_decay = peak_decay
        if end is None:
            end = begin + sum(self.stage_lengths)
        super().__init__(
            optimizer,
            param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              stage_lengths,
                              warmup_length=0,
                              begin=0,
                              end=None,
                              by_epoch=True,
                              epoch_length=None,
                              **kwargs):
        """The same schedule with epochs converted to iterations.

        The epoch length is kept (``epoch_length``, also in the state): a
        run resumed with another number of iterations per epoch (another
        number of processes or batch size) continues the cycle at the same
        epoch, in its own iterations.
        """
        assert by_epoch and epoch_length, \
            'only an epoch-based schedule converts to iterations'
        scheduler = cls(
            *args,
            stage_lengths=[length * epoch_length for length in stage_lengths],
            warmup_length=warmup_length * epoch_length,
            begin=begin * epoch_length,
            end=None if end is None else end * epoch_length,
            by_epoch=False,
            **kwargs)
        scheduler.epoch_length = epoch_length
        return scheduler

    def value_at(self, base: float, step: int) -> float:
        """The value at ``step`` (0-based, counted from ``begin``)."""
        stage = stage_index(step, self.stage_lengths)
        position = step - self.starts[stage]
        length = self.stage_lengths[stage]
        floor = base * self.eta_min_ratio if self.eta_min is None \
            else self.eta_min
        base = base * self.peak_decay**stage
        warmup = min(self.warmup_length, length - 1)
        if position < warmup:
            start = self.warmup_start_ratio
            return base * (start + (1 - start) * position / warmup)
        if self.mode == 'cosine':
            floor = min(floor, base)
            progress = (position - warmup) / max(length - warmup, 1)
            return floor + (base - floor) * (1 + math.cos(math.pi * progress)) / 2
        if self.mode == 'step':
            passed = sum(position >= milestone * length
                         for milestone in self.step_milestones)
            return base * self.gamma**passed
        return base

    def _get_value(self):
        return [self.value_at(base, self.last_step) for base in self.base_values]

    def plan(self) -> dict:
        """The schedule this scheduler follows, as ``pwkd.lr_cycle`` keys
        and values (plain values; lengths in the config's unit, epochs for a
        schedule converted to iterations).

        Returns:
            dict: Mode, floor, warm-up, step settings and
            ``convert_to_iter_based``.
        """
        epoch_length = getattr(self, 'epoch_length', None)
        return dict(
            mode=self.mode,
            eta_min=self.eta_min,
            eta_min_ratio=self.eta_min_ratio,
            warmup_length=self.warmup_length // (epoch_length or 1),
            warmup_start_ratio=self.warmup_start_ratio,
            step_milestones=list(self.step_milestones),
            gamma=self.gamma,
            peak_decay=self.peak_decay,
            convert_to_iter_based=epoch_length is not None)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the progress; keep the plan of the config.

        A schedule converted to iterations that resumes with another epoch
        length rescales its step counts to the same epoch
        (``rescaled_from`` then holds the checkpoint's epoch length).

        Args:
            state_dict (dict): A state from :meth:`state_dict`.
        """
        epoch_length = getattr(self, 'epoch_length', None)
        self.__dict__.update({
            key: value
            for key, value in state_dict.items()
            if key not in PLAN_ATTRIBUTES
        })
        self.rescaled_from = None
        old = state_dict.get('epoch_length', epoch_length)
        if epoch_length is not None and old and old != epoch_length:
            for key in ('last_step', '_global_step'):
                setattr(self, key,
                        getattr(self, key) * epoch_length // old)
            self.rescaled_from = old
        if epoch_length is not None:
            self.epoch_length = epoch_length

    def apply_current_value(self) -> None:
        """Set the optimizer to this schedule's value at the current step
        (after a resume whose checkpoint followed another plan)."""
        values = self._get_value()
        for group, value in zip(self.optimizer.param_groups, values):
            group[self.param_name] = value
        self._last_value = values


@PARAM_SCHEDULERS.register_module()
class PWKDCyclicLR(LRSchedulerMixin, StageCyclicParamScheduler):
    """The PWKD learning-rate cycle: restarted at every stage boundary.

    See :class:`StageCyclicParamScheduler` for the arguments (without
    ``param_name``).
    """


def check_stage_lengths(stage_lengths, key: str = 'stage_lengths') -> None:
    """Refuse stage lengths that are not a list of positive integers."""
    if isinstance(stage_lengths, (str, bytes)) or not isinstance(
            stage_lengths, Sequence) or not stage_lengths or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 1
                for v in stage_lengths):
        raise ValueError(f'{key} must be a list of positive integers, got '
                         f'{stage_lengths!r}')


def check_cycle(stage_lengths, mode, warmup_length, warmup_start_ratio,
                step_milestones, gamma, eta_min, eta_min_ratio,
                prefix: str = '', peak_decay: float = 1.0) -> None:
    """Validate a cycle's settings; errors name the key (with ``prefix``)."""
    check_stage_lengths(stage_lengths, f'{prefix}stage_lengths')
    if mode not in CYCLE_MODES:
        raise ValueError(
            f'{prefix}mode must be one of {CYCLE_MODES}, got {mode!r}')
    if isinstance(warmup_length, bool) or not isinstance(
            warmup_length, int) or warmup_length < 0 or any(
                warmup_length >= length for length in stage_lengths):
        raise ValueError(
            f'{prefix}warmup_length must be an integer from 0 to less than '
            f'the shortest stage ({min(stage_lengths)}), got '
            f'{warmup_length!r}')
    for key, value in (('warmup_start_ratio', warmup_start_ratio),
                       ('gamma', gamma), ('eta_min_ratio', eta_min_ratio)):
        if isinstance(value, bool) or not isinstance(value, Real) or not (
                0 <= value <= 1):
            raise ValueError(
                f'{prefix}{key} must be a number in [0, 1], got {value!r}')
    if eta_min is not None and (not isinstance(eta_min, Real)
                                or eta_min < 0):
        raise ValueError(
            f'{prefix}eta_min must be a number >= 0 or None, got {eta_min!r}')
    if any(not isinstance(m, Real) or not 0 < m < 1 for m in step_milestones) \
            or list(step_milestones) != sorted(step_milestones):
        raise ValueError(f'{prefix}step_milestones must be ascending '
                         f'fractions in (0, 1), got {step_milestones!r}')
    if isinstance(peak_decay, bool) or not isinstance(
            peak_decay, Real) or not 0 < peak_decay <= 1:
        raise ValueError(
            f'{prefix}peak_decay must be a number in (0, 1], got '
            f'{peak_decay!r}')
