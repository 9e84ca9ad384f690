"""Sets the teacher's width from the training progress, stage by stage."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmrazor.registry import HOOKS

from ...checkpoints.student_checkpoint import TEACHER_MUTATOR_META
from ...models.utils import check_widths, stage_boundaries, teacher_stage
from .resume_plan import (PLAN_INFO_KEY, check_resumed_plan,
                          lr_cycle_schedulers, run_plan)


def _plain(value):
    """Plain dicts and lists (a checkpoint loads them weights-only)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


@HOOKS.register_module()
class PWKDStageHook(Hook):
    """Partial to whole: stage ``k`` distils from teacher width ``widths[k]``.

    The stage follows from the training progress alone (the epoch, or the
    iteration for iteration-based training), so a resumed run lands in the
    right stage at the right width. Every iteration logs ``pwkd/stage``
    (1-based) and ``pwkd/teacher_width`` next to the learning rate.

    The run's plan (training length, widths, stage lengths and the
    ``PWKDCyclicLR`` cycle) is kept in the message hub, so every checkpoint
    holds it. A resumed run whose config plans otherwise is refused before
    its first step, naming what changed, unless ``accept_new_plan``: then
    stage, width and learning rate all follow the config's plan.

    Args:
        widths (Sequence[float]): The teacher width of each stage,
            ascending, ending at 1.0.
        stage_lengths (Sequence[int]): Length of each stage, in epochs when
            ``by_epoch`` else in iterations; they add up to the training
            length.
        by_epoch (bool): Whether stage lengths count epochs. Defaults to
            True.
        reset_optimizer_state (bool): Clear the optimizer state (e.g. SGD
            momentum) when a new stage starts. Defaults to False (the state
            carries over).
        accept_new_plan (bool): On resume, continue with this plan when the
            checkpoint followed another one (``pwkd.accept_new_plan``).
            Defaults to False (such a resume is refused).
        teacher_mutator (dict, optional): The slimmable teacher's mutator
            config, written into every checkpoint's meta
            (``pwkd_teacher_mutator``) so that the checkpoint alone rebuilds
            the teacher (``tools/test.py``). Defaults to None.
        feature_strategy (str, optional): ``pwkd.feature_strategy``,
            recorded in the plan: a resume under another one (another set of
            connector parameters) is refused before the checkpoint's weights
            are loaded. Defaults to None (not recorded).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 widths: Sequence[float],
                 stage_lengths: Sequence[int],
                 by_epoch: bool = True,
                 reset_optimizer_state: bool = False,
                 accept_new_plan: bool = False,
                 teacher_mutator: Optional[dict] = None,
                 feature_strategy: Optional[str] = None) -> None:
        self.widths = check_widths(widths)
        if len(stage_lengths) != len(self.widths):
            raise ValueError(
                f'stage_lengths {list(stage_lengths)} must have one length '
                f'per width {list(self.widths)}')
        self.stage_lengths = [int(length) for length in stage_lengths]
        self.by_epoch = by_epoch
        self.reset_optimizer_state = reset_optimizer_state
        self.accept_new_plan = accept_new_plan
        self.teacher_mutator = teacher_mutator
        self.feature_strategy = feature_strategy
        self.stage: Optional[int] = None

    def _teacher_mutator(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        mutator = getattr(model, 'teacher_mutator', None)
        if mutator is None:
            raise TypeError(
                f'PWKDStageHook needs a PWKDDistill model, got '
                f'{type(model).__name__}')
        return mutator

    def _total(self, runner) -> int:
        return runner.max_epochs if self.by_epoch else runner.max_iters

    def _plan(self, runner) -> dict:
        length_key = ('train_cfg.max_epochs'
                      if self.by_epoch else 'train_cfg.max_iters')
        return run_plan(length_key, self._total(runner), self.widths,
                        self.stage_lengths, runner.param_schedulers,
                        self.feature_strategy)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse another plan before the checkpoint's weights and optimizer
        state are loaded (they may not fit the config's model)."""
        if not getattr(runner, '_resume', False):
            return
        info = checkpoint.get('message_hub', {}).get('runtime_info', {})
        check_resumed_plan(info.get(PLAN_INFO_KEY), self._plan(runner),
                           self.accept_new_plan)

    def before_train(self, runner) -> None:
        total = self._total(runner)
        if sum(self.stage_lengths) != total:
            unit = 'epochs' if self.by_epoch else 'iterations'
            raise ValueError(
                f'stage_lengths {self.stage_lengths} add up to '
                f'{sum(self.stage_lengths)} {unit}, but the run trains '
                f'{total} {unit}')
        self._follow_one_plan(runner)
        self.stage = None
        progress = runner.epoch if self.by_epoch else runner.iter
        if progress >= total:
            unit = 'epochs' if self.by_epoch else 'iterations'
            key = 'max_epochs' if self.by_epoch else 'max_iters'
            runner.logger.warning(
                f'PWKD: the resumed checkpoint has trained all {total} '
                f'{unit} of the run: nothing is left to train (to train '
                f'longer, raise train_cfg.{key} and add --cfg-options '
                'pwkd.accept_new_plan=True)')
            return
        self._enter_stage(runner, new_stage=False)

    def _follow_one_plan(self, runner) -> None:
        """Refuse (or, accepted, apply) a plan the resumed checkpoint did not
        follow; record this run's plan for its checkpoints."""
        plan = self._plan(runner)
        changes = check_resumed_plan(
            runner.message_hub.get_info(PLAN_INFO_KEY), plan,
            self.accept_new_plan)
        for scheduler in lr_cycle_schedulers(runner.param_schedulers):
            rescaled_from = getattr(scheduler, 'rescaled_from', None)
            if changes or rescaled_from:
                scheduler.apply_current_value()
            if rescaled_from:
                runner.logger.info(
                    f'PWKD: the checkpoint had {rescaled_from} iterations '
                    f'per epoch, this run has {scheduler.epoch_length}: the '
                    'learning-rate cycle continues at the same epoch in '
                    'this run\'s iterations')
        if changes:
            runner.logger.warning(
                'PWKD: continuing with the config\'s plan, not the resumed '
                f'checkpoint\'s ({"; ".join(changes)})')
        runner.message_hub.update_info(PLAN_INFO_KEY, plan)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.teacher_mutator is not None:
            checkpoint.setdefault('meta', {})[TEACHER_MUTATOR_META] = \
                _plain(self.teacher_mutator)

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._enter_stage(runner, new_stage=True)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if not self.by_epoch:
            self._enter_stage(runner, new_stage=True)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        runner.message_hub.update_scalar('train/pwkd/stage', self.stage + 1)
        runner.message_hub.update_scalar('train/pwkd/teacher_width',
                                         self.widths[self.stage])

    def _enter_stage(self, runner, new_stage: bool) -> None:
        progress = runner.epoch if self.by_epoch else runner.iter
        stage, width = teacher_stage(runner.epoch, runner.iter, self.widths,
                                     self.stage_lengths, self.by_epoch)
        if stage == self.stage:
            return
        self._teacher_mutator(runner).set_width(width)
        if new_stage and self.reset_optimizer_state:
            wrappers = runner.optim_wrapper
            for wrapper in (wrappers.values() if isinstance(
                    wrappers, OptimWrapperDict) else [wrappers]):
                wrapper.optimizer.state.clear()
        self.stage = stage
        unit = 'epoch' if self.by_epoch else 'iteration'
        start = stage_boundaries(self.stage_lengths)[stage]
        resumed = f' (resumed at {unit} {progress + 1})' \
            if progress != start else ''
        runner.logger.info(
            f'PWKD stage {stage + 1}/{len(self.widths)}: teacher width '
            f'{self.widths[stage]:g} from {unit} {start + 1}{resumed}')
