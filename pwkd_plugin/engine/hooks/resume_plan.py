"""The PWKD plan a run follows, recorded in its checkpoints and compared on
resume, so that stage, teacher width and learning rate follow one plan."""
from typing import Dict, List, Optional

from ..schedulers import StageCyclicParamScheduler

#: Where the plan lives in the message hub (saved with every checkpoint).
PLAN_INFO_KEY = 'pwkd/plan'

#: The config key that accepts a plan other than the checkpoint's.
ACCEPT_KEY = 'pwkd.accept_new_plan'


class PlanChangedError(RuntimeError):
    """A resumed checkpoint followed another PWKD plan than the config's."""


def lr_cycle_schedulers(param_schedulers) -> List:
    """The stage-cyclic schedulers among a runner's parameter schedulers."""
    if param_schedulers is None:
        return []
    groups = param_schedulers.values() if isinstance(
        param_schedulers, dict) else [param_schedulers]
    return [
        scheduler for group in groups for scheduler in group
        if isinstance(scheduler, StageCyclicParamScheduler)
    ]


def run_plan(length_key: str, total: int, widths, stage_lengths,
             param_schedulers) -> Dict:
    """The plan of a run, as plain values (stored in checkpoints).

    Args:
        length_key (str): ``'train_cfg.max_epochs'`` or
            ``'train_cfg.max_iters'``.
        total (int): The training length.
        widths (Sequence[float]): The stage widths.
        stage_lengths (Sequence[int]): The stage lengths.
        param_schedulers: The runner's parameter schedulers (built).

    Returns:
        dict: Config key -> value; ``pwkd.lr_cycle`` is one entry per
        stage-cyclic scheduler (None without one: the base schedule).
    """
    cycles = [s.plan() for s in lr_cycle_schedulers(param_schedulers)]
    return {
        length_key: int(total),
        'pwkd.widths': [float(w) for w in widths],
        'pwkd.stage_lengths': [int(n) for n in stage_lengths],
        'pwkd.lr_cycle': cycles or None,
    }


def _cycle_changes(old, new) -> List[str]:
    if old is None or new is None or len(old) != len(new):
        return [f'pwkd.lr_cycle {old} -> {new}']
    changes = []
    for before, after in zip(old, new):
        before = dict(StageCyclicParamScheduler.PLAN_KEYS_ADDED, **before)
        for key in after:
            if before.get(key) != after[key]:
                changes.append(
                    f'pwkd.lr_cycle.{key} {before.get(key)} -> {after[key]}')
    return changes


def _checkpoint_values(changes: List[str]) -> str:
    """``key=old`` of each ``key old -> new`` change: the options that
    resume the checkpoint's plan."""
    options = []
    for change in changes:
        key, values = change.split(' ', 1)
        old = values.rsplit(' -> ', 1)[0]
        options.append(f'{key}={old.replace(" ", "")}')
    return ' '.join(options)


def plan_changes(old: Dict, new: Dict) -> List[str]:
    """What differs between two plans, as ``key old -> new`` lines."""
    changes = [
        f'{key} {old.get(key)} -> {value}' for key, value in new.items()
        if key != 'pwkd.lr_cycle' and old.get(key) != value
    ]
    if old.get('pwkd.lr_cycle') != new['pwkd.lr_cycle']:
        cycle = _cycle_changes(old.get('pwkd.lr_cycle'), new['pwkd.lr_cycle'])
        if changes:
            # Stage lengths in scheduler steps follow from the ones above.
            cycle = [c for c in cycle if '.stage_lengths ' not in c]
        changes += cycle
    return changes


def check_resumed_plan(old: Optional[Dict], new: Dict,
                       accept: bool) -> List[str]:
    """Compare a checkpoint's plan with the config's.

    Args:
        old (dict, optional): The checkpoint's plan (None for a checkpoint
            that records none, or a fresh run).
        new (dict): The config's plan.
        accept (bool): Whether the config's plan may replace the
            checkpoint's (``pwkd.accept_new_plan``).

    Returns:
        list[str]: The changes (empty when the plans agree).

    Raises:
        PlanChangedError: When they differ and ``accept`` is False, or the
            change cannot be applied to the learning rate.
    """
    if old is None:
        return []
    changes = plan_changes(old, new)
    if not changes:
        return []
    listed = '; '.join(changes)
    if not accept:
        raise PlanChangedError(
            f'the resumed checkpoint followed another PWKD plan than the '
            f'config: {listed}. Resuming would mix the two (stage and '
            'teacher width from one, learning rate from the other). To '
            'continue with the config\'s plan, add --cfg-options '
            f'{ACCEPT_KEY}=True (stage, teacher width and learning rate then '
            'all follow it from the resumed step on); to continue the '
            'checkpoint\'s plan, resume with its values: --cfg-options '
            f'{_checkpoint_values(changes)}')
    if (old.get('pwkd.lr_cycle') is None) != (new['pwkd.lr_cycle'] is None):
        raise PlanChangedError(
            f'{ACCEPT_KEY}=True cannot resume across a change between a '
            f'pwkd.lr_cycle and the base schedule ({listed}): the '
            'checkpoint\'s scheduler states belong to the other schedule. '
            'Start a new run (load_from=CHECKPOINT) instead')
    length_changed = any(c.startswith('train_cfg.') for c in changes)
    if new['pwkd.lr_cycle'] is None and length_changed:
        raise PlanChangedError(
            f'{ACCEPT_KEY}=True cannot apply a new training length ({listed})'
            ' with pwkd.lr_cycle=None: the base schedule\'s schedulers '
            'restore their own state (their length) from the checkpoint, so '
            'the learning rate would keep the old length. Keep the '
            'checkpoint\'s training length, or use a pwkd.lr_cycle')
    return changes
