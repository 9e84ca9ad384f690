"""The PWKD plan a run follows, recorded in its checkpoints and compared on
resume, so that stage, teacher width and learning rate follow one plan."""
from typing import Dict, List, Optional, Tuple

from ..schedulers import StageCyclicParamScheduler

#: Where the plan lives in the message hub (saved with every checkpoint).
PLAN_INFO_KEY = 'pwkd/plan'

#: The config key that accepts a plan other than the checkpoint's.
ACCEPT_KEY = 'pwkd.accept_new_plan'

#: Keys whose change changes the model's parameters (and so the optimizer's
#: groups): no resume can carry the checkpoint's state across it.
MODEL_KEYS = ('pwkd.feature_strategy', )


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


def run_plan(length_key: str,
             total: int,
             widths,
             stage_lengths,
             param_schedulers,
             feature_strategy: Optional[str] = None) -> Dict:
    """The plan of a run, as plain values (stored in checkpoints).

    Args:
        length_key (str): ``'train_cfg.max_epochs'`` or
            ``'train_cfg.max_iters'``.
        total (int): The training length.
        widths (Sequence[float]): The stage widths.
        stage_lengths (Sequence[int]): The stage lengths.
        param_schedulers: The runner's parameter schedulers (built).
        feature_strategy (str, optional): ``pwkd.feature_strategy``.
            Defaults to None (not recorded).

    Returns:
        dict: Config key -> value; ``pwkd.lr_cycle`` is one entry of
        ``pwkd.lr_cycle`` keys per stage-cyclic scheduler (None without one:
        the base schedule).
    """
    cycles = [s.plan() for s in lr_cycle_schedulers(param_schedulers)]
    plan = {
        length_key: int(total),
        'pwkd.widths': [float(w) for w in widths],
        'pwkd.stage_lengths': [int(n) for n in stage_lengths],
        'pwkd.lr_cycle': cycles or None,
    }
    if feature_strategy is not None:
        plan['pwkd.feature_strategy'] = feature_strategy
    return plan


def _as_config_keys(plan: Dict) -> Dict:
    """A plan recorded with the scheduler's own lengths (iterations) and
    ``by_epoch``, as ``pwkd.lr_cycle`` keys in the config's unit."""
    cycles = plan.get('pwkd.lr_cycle')
    if not cycles or 'convert_to_iter_based' in cycles[0]:
        return plan
    stages = plan['pwkd.stage_lengths']
    converted = []
    for cycle in cycles:
        cycle = dict(cycle)
        steps = cycle.pop('stage_lengths')
        by_epoch = cycle.pop('by_epoch')
        converted_to_iters = not by_epoch and 'train_cfg.max_epochs' in plan
        cycle['convert_to_iter_based'] = converted_to_iters
        if converted_to_iters:
            cycle['warmup_length'] //= steps[0] // stages[0]
        converted.append(cycle)
    return dict(plan, **{'pwkd.lr_cycle': converted})


def _changes(old: Dict, new: Dict) -> List[Tuple[str, object, object]]:
    """``(key, old, new)`` of every difference; keys the checkpoint did not
    record are not compared."""
    old = _as_config_keys(old)
    changes = [(key, old[key], value) for key, value in new.items()
               if key != 'pwkd.lr_cycle' and key in old
               and old[key] != value]
    before, after = old.get('pwkd.lr_cycle'), new['pwkd.lr_cycle']
    if before is None or after is None or len(before) != len(after):
        if before != after:
            changes.append(('pwkd.lr_cycle', before, after))
        return changes
    for cycle_before, cycle_after in zip(before, after):
        cycle_before = dict(StageCyclicParamScheduler.PLAN_KEYS_ADDED,
                            **cycle_before)
        changes += [(f'pwkd.lr_cycle.{key}', cycle_before.get(key), value)
                    for key, value in cycle_after.items()
                    if cycle_before.get(key) != value]
    return changes


def plan_changes(old: Dict, new: Dict) -> List[str]:
    """What differs between two plans, as ``key old -> new`` lines."""
    return [f'{key} {before} -> {after}'
            for key, before, after in _changes(old, new)]


def _option_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_option_value(v) for v in value) + ']'
    return str(value)


def _options(key: str, value) -> List[str]:
    """``--cfg-options`` items that set ``key`` to ``value``."""
    if key == 'pwkd.lr_cycle' and value is not None:
        cycle = value[0]
        return [f'{key}._delete_=True'] + [
            f'{key}.{name}={_option_value(item)}'
            for name, item in cycle.items()
        ]
    if key == 'pwkd.stage_lengths':  # they replace the config's ratios
        return [f'{key}={_option_value(value)}', 'pwkd.stage_ratios=None']
    return [f'{key}={_option_value(value)}']


def checkpoint_options(old: Dict, new: Dict) -> str:
    """The ``--cfg-options`` items that resume the checkpoint's plan."""
    return ' '.join(option for key, before, _ in _changes(old, new)
                    for option in _options(key, before))


def _model_changes(old: Dict, new: Dict) -> List[str]:
    model_changed = [key for key, _, _ in _changes(old, new)
                     if key in MODEL_KEYS]
    per_stage = 'per_stage' in (old.get('pwkd.feature_strategy'),
                                new.get('pwkd.feature_strategy'))
    if per_stage and old['pwkd.widths'] != new['pwkd.widths']:
        model_changed.append('pwkd.widths (one connector per stage width)')
    return model_changed


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
        PlanChangedError: When they differ and ``accept`` is False, the
            change cannot be applied to the learning rate, or it changes
            the model's parameters.
    """
    if old is None:
        return []
    changes = plan_changes(old, new)
    if not changes:
        return []
    listed = '; '.join(changes)
    to_resume = ('to continue the checkpoint\'s plan, resume with its '
                 f'values: --cfg-options {checkpoint_options(old, new)}')
    model_changed = _model_changes(old, new)
    if model_changed:
        raise PlanChangedError(
            f'the resumed checkpoint followed another PWKD plan than the '
            f'config: {listed}. A change of {", ".join(model_changed)} '
            'changes the model\'s parameters and the optimizer\'s groups, '
            'so the '
            'checkpoint\'s state cannot continue under the config\'s plan. '
            f'{to_resume[0].upper()}{to_resume[1:]}; or start a new run '
            'from its weights (--cfg-options load_from=CHECKPOINT, without '
            '--resume, in another work dir)')
    if not accept:
        raise PlanChangedError(
            f'the resumed checkpoint followed another PWKD plan than the '
            f'config: {listed}. Resuming would mix the two (stage and '
            'teacher width from one, learning rate from the other). To '
            'continue with the config\'s plan, add --cfg-options '
            f'{ACCEPT_KEY}=True (stage, teacher width and learning rate then '
            f'all follow it from the resumed step on); {to_resume}')
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
