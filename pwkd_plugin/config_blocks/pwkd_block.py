"""The ``pwkd`` config block: any single-teacher distillation config -> PWKD.

Add ``pwkd = dict(teacher_ckpt=...)`` to an mmrazor distillation config
(``SingleTeacherDistill`` or a subclass) and nothing else. The keys, defaults
and meanings are ``PWKD_KEYS`` and, for ``pwkd.lr_cycle``, ``LR_CYCLE_KEYS``
below, shown in ``docs/config_blocks.md``. The base recipe's learning-rate
schedulers are replaced, not stacked.
"""
import copy
from numbers import Real
from typing import Optional, Sequence

from mmengine.config import Config, ConfigDict
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS

from ..checkpoints import (check_checkpoint_file, is_loaded,
                           read_slimmable_teacher)
from ..engine.schedulers import check_cycle, check_stage_lengths
from ..models.algorithms.fast_teacher import check_precision
from ..models.losses import FEATURE_STRATEGIES
from ..models.utils import (check_widths, equal_stage_lengths,
                            proportional_stage_lengths,
                            short_partial_stage_ratios)
from .block_checks import (check_bool, check_feature_losses, check_keys,
                           check_slimmable_backbone, refuse_sync_bn)
from .block_keys import BlockKey, defaults_of
from .teacher_fit import check_teacher_fits

LR_CYCLE_KEYS = (
    BlockKey('mode', 'cosine',
             "the cycle of each stage: `'cosine'`, `'step'` "
             "(`step_milestones`, `gamma`) or `'constant'`"),
    BlockKey('eta_min', None,
             'the cosine floor as an absolute learning rate (instead of '
             '`eta_min_ratio`)'),
    BlockKey('eta_min_ratio', 0.01, 'the cosine floor / the base rate'),
    BlockKey('warmup_length', 0,
             'a linear warm-up at the start of every stage, in the unit of '
             'the stage lengths'),
    BlockKey('warmup_start_ratio', 0.1,
             "the warm-up starts at this ratio of the stage's peak"),
    BlockKey('step_milestones', (0.5, 0.75),
             "`'step'` mode: where the rate drops, as fractions of a stage"),
    BlockKey('gamma', 0.1, "`'step'` mode: the factor of each drop"),
    BlockKey('peak_decay', 1.0,
             'in (0, 1]: each stage restarts at this ratio of the previous '
             "stage's peak (0.5: 1, 0.5, 0.25, 0.125 of the base rate); 1.0 "
             'restarts every stage at the base rate'),
    BlockKey('convert_to_iter_based', True,
             'in epoch-based training, update the rate every iteration'),
)
LR_CYCLE_DEFAULTS = defaults_of(LR_CYCLE_KEYS)

PWKD_KEYS = (
    BlockKey('teacher_ckpt', None, 'a checkpoint of the slimmable teacher',
             shown_default='required'),
    BlockKey('widths', None,
             'teacher width of each stage, ascending, ending at 1.0',
             shown_default="the checkpoint's widths"),
    BlockKey('stage_split', 'short_partial',
             'the stages when neither `stage_lengths` nor `stage_ratios` is '
             "given: `'short_partial'` (the narrower widths share 3/8 of the "
             'training length equally, the whole width trains the last 5/8: '
             '1:1:1:5 with four widths; the plan measured best, with '
             "`lr_cycle=None`) or `'equal'` (the paper's equal stages)"),
    BlockKey('stage_lengths', None,
             'epochs (or iterations, for iteration-based training) per '
             'stage; they add up to the training length',
             shown_default='`stage_split`'),
    BlockKey('stage_ratios', None,
             'relative stage lengths instead of `stage_lengths`, e.g. '
             '`(1, 1, 1, 5)` (rounded to whole epochs or iterations, each '
             'stage at least one)'),
    BlockKey('lr_cycle', None,
             'the learning rate of every stage, restarted at each stage '
             "(keys: the `pwkd.lr_cycle` table; `dict(mode='cosine')` is the "
             "paper's cycle); `None` keeps the base recipe's schedule",
             shown_default="`None`: the base recipe's schedule, no restarts"),
    BlockKey('reset_optimizer_state', False,
             'clear the optimizer state (momentum) at each stage'),
    BlockKey('feature_strategy', 'slice',
             "feature losses with a narrower teacher: `'slice'` (compare its "
             "active channels), `'pad'` (zero-pad its features) or "
             "`'per_stage'` (one student-side connector per stage; DDP then "
             'looks for unused parameters)'),
    BlockKey('accept_new_plan', False,
             'on `--resume`, when the config plans otherwise than the '
             'checkpoint (training length, `widths`, `stage_lengths`, '
             '`lr_cycle`): `False` refuses to start, naming each change '
             '(`train_cfg.max_epochs 8 -> 12`, ...) and the `--cfg-options` '
             "that resume the checkpoint's plan; `True` continues with the "
             "config's plan, stage, teacher width and learning rate alike, "
             'from the resumed step on. A `feature_strategy` change (and, '
             "with `'per_stage'`, a `widths` change) changes the model's "
             "parameters and is refused either way, before the checkpoint's "
             'weights are loaded'),
    BlockKey('teacher_precision', 'auto',
             'the teacher forward on a fast copy (batch norms folded, '
             "channels-last): `'auto'` (bf16 / fp16 where the hardware has "
             "it natively, else fp32), `'bf16'`, `'fp16'`, or `'fp32'` (the "
             'static copy as it is); see `fast_teacher.precision`'),
)
PWKD_DEFAULTS = defaults_of(PWKD_KEYS)

#: Methods PWKD cannot apply to, and why.
UNSUPPORTED_METHODS = {
    'SelfDistill':
    'self-distillation (e.g. BYOT) distils a network into itself; it has no '
    'separate pre-trained teacher to decompose into widths',
    'DataFreeDistillation':
    'data-free distillation (e.g. DAFL, DFAD, ZSKT) trains a generator '
    'against the teacher; PWKD plugs into offline distillation from a '
    'pre-trained teacher on real data',
    'DAFLDataFreeDistillation':
    'data-free distillation (DAFL) trains a generator against the teacher; '
    'PWKD plugs into offline distillation from a pre-trained teacher on '
    'real data',
}


def _base_type(model: dict) -> str:
    type_name = model.get('type')
    if not isinstance(type_name, str):
        raise ValueError('pwkd: the config\'s model has no type; PWKD plugs '
                         'into an mmrazor distillation model')
    name = type_name.split('.')[-1]
    if name in UNSUPPORTED_METHODS:
        raise ValueError(
            f'pwkd cannot apply to {name}: {UNSUPPORTED_METHODS[name]}')
    if 'teacher' not in model or 'distiller' not in model:
        missing = [k for k in ('teacher', 'distiller') if k not in model]
        raise ValueError(
            f'pwkd: the config\'s model ({type_name}) has no {missing[0]}; '
            'PWKD plugs into a distillation config (mmrazor '
            'SingleTeacherDistill or a subclass, with a teacher and a '
            'distiller)')
    cls = MODELS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, SingleTeacherDistill)):
        raise ValueError(
            f'pwkd plugs into SingleTeacherDistill or a subclass of it, got '
            f'{type_name}')
    return name


def _training_length(cfg: Config):
    train_cfg = cfg.get('train_cfg') or {}
    by_epoch = train_cfg.get('by_epoch',
                             'Iter' not in str(train_cfg.get('type', '')))
    key = 'max_epochs' if by_epoch else 'max_iters'
    if not isinstance(train_cfg.get(key), int):
        raise ValueError(f'pwkd needs train_cfg.{key} to split the training '
                         'into stages')
    return by_epoch, train_cfg[key], key


#: ``pwkd.stage_split`` values.
STAGE_SPLITS = ('short_partial', 'equal')


def split_stages(split: str, total: int, num_stages: int) -> list:
    """The stage lengths of ``pwkd.stage_split`` ``split`` for a training
    length of ``total`` epochs or iterations."""
    if split == 'equal':
        return equal_stage_lengths(total, num_stages)
    return proportional_stage_lengths(total,
                                      short_partial_stage_ratios(num_stages))


def _lengths_from_ratios(ratios, stage_lengths, widths, total: int,
                         key: str) -> list:
    if stage_lengths is not None:
        raise ValueError('give pwkd.stage_lengths or pwkd.stage_ratios, not '
                         'both')
    if isinstance(ratios, (str, bytes)) or not isinstance(
            ratios, Sequence) or not ratios or any(
                isinstance(r, bool) or not isinstance(r, Real) or r <= 0
                for r in ratios):
        raise ValueError('pwkd.stage_ratios must be a list of positive '
                         f'numbers, got {ratios!r}')
    if len(ratios) != len(widths):
        raise ValueError(f'pwkd.stage_ratios {list(ratios)} must have one '
                         f'ratio per width {list(widths)}')
    if total < len(widths):
        raise ValueError(
            f'train_cfg.{key}={total} is too short for the {len(widths)} '
            f'stages of pwkd.stage_ratios {list(ratios)}: every stage needs '
            'at least one epoch or iteration')
    return proportional_stage_lengths(total, ratios)


def check_pwkd_block(cfg: Config,
                     block: dict,
                     teacher_widths: Optional[Sequence[float]] = None) -> dict:
    """Validate a ``pwkd`` block against its config; fill in defaults.

    Every check runs here, when the config is read: before any data is
    loaded or any model is built.

    Args:
        cfg (Config): The distillation config.
        block (dict): The ``pwkd`` block.
        teacher_widths (Sequence[float], optional): The teacher's widths,
            when known without reading ``teacher_ckpt`` (which is then
            neither read nor required to exist; e.g. to plot the schedule
            before the teacher is trained). Defaults to None (read them
            from the checkpoint).

    Returns:
        dict: Every key, with ``base_type``, ``by_epoch``, the resolved
        ``widths`` and ``stage_lengths``, and ``teacher_mutator`` (the
        teacher's mutator config as trained; None with ``teacher_widths``).
    """
    if not isinstance(block, dict):
        raise ValueError(f'pwkd must be a dict, got {block!r}')
    check_keys(block, PWKD_DEFAULTS, 'pwkd')
    settings = dict(PWKD_DEFAULTS, **block)
    settings['base_type'] = _base_type(cfg.model)
    refuse_sync_bn(cfg, 'pwkd')
    check_slimmable_backbone(cfg.model.teacher, 'model.teacher')
    unloaded = copy.deepcopy(cfg.model)
    without_pretrained_weights(unloaded)
    check_feature_losses(unloaded)
    if cfg.model.get('teacher_trainable', False):
        raise ValueError(
            'pwkd needs model.teacher_trainable=False: PWKD distils from a '
            'pre-trained slimmable teacher, which stays frozen at every width')
    if settings['teacher_ckpt'] is None:
        raise ValueError('pwkd.teacher_ckpt is required: the checkpoint of a '
                         'slimmable teacher (a `slimmable` run)')
    settings['teacher_mutator'] = None
    if teacher_widths is None:
        if not is_loaded(settings['teacher_ckpt']):
            check_checkpoint_file(settings['teacher_ckpt'],
                                  'pwkd.teacher_ckpt')
        saved = read_slimmable_teacher(settings['teacher_ckpt'])
        check_teacher_fits(unloaded.teacher, saved, settings['teacher_ckpt'])
        settings['teacher_mutator'] = saved['mutator']
        teacher_widths = settings['teacher_mutator']['widths']
    trained = [float(w) for w in teacher_widths]
    widths = settings['widths'] if settings['widths'] is not None else trained
    widths = check_widths(widths, 'pwkd.widths')
    missing = [w for w in widths if w not in trained]
    if missing:
        raise ValueError(
            f'pwkd.widths {missing} are not in the teacher checkpoint '
            f'{settings["teacher_ckpt"]}, which has widths {trained}')
    settings['widths'] = widths
    by_epoch, total, key = _training_length(cfg)
    settings['by_epoch'] = by_epoch
    if settings['stage_split'] not in STAGE_SPLITS:
        raise ValueError(f'pwkd.stage_split must be one of {STAGE_SPLITS}, '
                         f'got {settings["stage_split"]!r}')
    ratios = settings.pop('stage_ratios')
    if ratios is not None:
        settings['stage_lengths'] = _lengths_from_ratios(
            ratios, settings['stage_lengths'], widths, total, key)
    if settings['stage_lengths'] is None:
        if total < len(widths):
            unit = 'epoch' if by_epoch else 'iteration'
            raise ValueError(
                f'train_cfg.{key}={total} is too short for the '
                f'{len(widths)} stages of pwkd.widths {list(widths)}: every '
                f'stage needs at least one {unit}. Train at least '
                f'{len(widths)} {unit}s, or give fewer pwkd.widths (with '
                f'pwkd.stage_lengths adding up to train_cfg.{key})')
        settings['stage_lengths'] = split_stages(settings['stage_split'],
                                                 total, len(widths))
    lengths = settings['stage_lengths']
    check_stage_lengths(lengths, 'pwkd.stage_lengths')
    if len(lengths) != len(widths):
        raise ValueError(f'pwkd.stage_lengths {list(lengths)} must have one '
                         f'length per width {list(widths)}')
    if sum(lengths) != total:
        raise ValueError(
            f'pwkd.stage_lengths {list(lengths)} add up to {sum(lengths)}, '
            f'but train_cfg.{key} is {total}')
    check_bool(settings['reset_optimizer_state'], 'pwkd.reset_optimizer_state')
    check_bool(settings['accept_new_plan'], 'pwkd.accept_new_plan')
    check_precision(settings['teacher_precision'], 'pwkd.teacher_precision')
    if settings['feature_strategy'] not in FEATURE_STRATEGIES:
        raise ValueError(
            f'pwkd.feature_strategy must be one of {FEATURE_STRATEGIES}, got '
            f'{settings["feature_strategy"]!r}')
    if settings['lr_cycle'] is not None:
        if not isinstance(settings['lr_cycle'], dict):
            raise ValueError('pwkd.lr_cycle must be a dict or None, got '
                             f'{settings["lr_cycle"]!r}')
        check_keys(settings['lr_cycle'], LR_CYCLE_DEFAULTS, 'pwkd.lr_cycle')
        cycle = dict(LR_CYCLE_DEFAULTS, **settings['lr_cycle'])
        check_bool(cycle['convert_to_iter_based'],
                   'pwkd.lr_cycle.convert_to_iter_based')
        check_cycle(
            lengths,
            cycle['mode'],
            cycle['warmup_length'],
            cycle['warmup_start_ratio'],
            cycle['step_milestones'],
            cycle['gamma'],
            cycle['eta_min'],
            cycle['eta_min_ratio'],
            prefix='pwkd.lr_cycle.',
            peak_decay=cycle['peak_decay'])
        settings['lr_cycle'] = cycle
    return settings


#: Distillers that need a partial-teacher variant (the rest are used as
#: they are, their losses adapted by ``adapt_distiller``).
PARTIAL_TEACHER_DISTILLERS = {'OFDDistiller': 'PartialTeacherOFDDistiller'}


def without_pretrained_weights(node):
    """Drop the pre-trained weights a teacher config would load, in place.

    The slimmable checkpoint replaces every weight of the teacher, so what
    ``cfg_path`` models (``pretrained=True``), ``Pretrained`` initialisers
    and classifiers' ``pretrained`` name would only be downloaded or read to
    be thrown away (and fail where there is no network).

    Args:
        node (dict | list): A teacher config (or part of one).
    """
    if isinstance(node, dict):
        pretrained = node.get('pretrained')
        if 'cfg_path' in node or pretrained is True:  # hub / timm weights
            node['pretrained'] = False
        elif isinstance(pretrained, str):  # a classifier's checkpoint
            node.pop('pretrained')
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node.pop('init_cfg')
        elif isinstance(init_cfg, list):
            node['init_cfg'] = [
                c for c in init_cfg
                if not (isinstance(c, dict) and c.get('type') == 'Pretrained')
            ]
        for value in node.values():
            without_pretrained_weights(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            without_pretrained_weights(value)


def pwkd_model(cfg: Config, settings: dict) -> ConfigDict:
    """The ``PWKDDistill`` model config around the config's distiller."""
    model = copy.deepcopy(cfg.model)
    model.pop('teacher_ckpt', None)
    without_pretrained_weights(model.teacher)
    model.pop('type')
    model['_scope_'] = 'mmrazor'
    distiller_type = str(model.distiller.get('type', '')).split('.')[-1]
    if distiller_type in PARTIAL_TEACHER_DISTILLERS:
        model.distiller.type = PARTIAL_TEACHER_DISTILLERS[distiller_type]
    return ConfigDict(
        type='PWKDDistill',
        base_type=settings['base_type'],
        teacher_ckpt=settings['teacher_ckpt'],
        widths=list(settings['widths']),
        feature_strategy=settings['feature_strategy'],
        teacher_precision=settings['teacher_precision'],
        **model)


def _lr_schedule(cfg: Config, settings: dict) -> list:
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    kept = [
        s for s in schedulers
        if not str(s.get('type', '')).split('.')[-1].endswith('LR')
    ]
    cycle = dict(settings['lr_cycle'])
    convert = cycle.pop('convert_to_iter_based') and settings['by_epoch']
    return kept + [
        dict(
            type='mmrazor.PWKDCyclicLR',
            stage_lengths=list(settings['stage_lengths']),
            by_epoch=settings['by_epoch'],
            convert_to_iter_based=convert,
            **cycle)
    ]


def find_unused_parameters(cfg: Config, reason: str) -> None:
    """Make DDP look for parameters without a gradient, in place.

    mmengine reads the top-level ``find_unused_parameters`` for its default
    wrapper; a configured ``model_wrapper_cfg`` gets the key itself.

    Args:
        cfg (Config): The runner config.
        reason (str): Why some parameters go unused, for the refusal.

    Raises:
        ValueError: When the config sets ``find_unused_parameters=False``.
    """
    wrapper = cfg.get('model_wrapper_cfg', None)
    for key, node in (('find_unused_parameters', cfg),
                      ('model_wrapper_cfg.find_unused_parameters', wrapper)):
        if node is not None and node.get('find_unused_parameters',
                                         None) is False:
            raise ValueError(
                f'{key}=False cannot train this run under DDP: {reason}. '
                'Remove the setting (the plugin sets it to True)')
    cfg.find_unused_parameters = True
    if wrapper is not None:
        wrapper['find_unused_parameters'] = True


def expand_pwkd_train(cfg: Config,
                      teacher_widths: Optional[Sequence[float]] = None
                      ) -> Config:
    """Turn a distillation config with a ``pwkd`` block into a PWKD run.

    The model becomes ``PWKDDistill`` around the config's own algorithm, a
    ``PWKDStageHook`` is added, and (with ``lr_cycle``) the learning-rate
    schedulers are replaced by ``PWKDCyclicLR``.

    Args:
        cfg (Config): The config; its ``pwkd`` block is removed.
        teacher_widths (Sequence[float], optional): See
            :func:`check_pwkd_block`.

    Returns:
        Config: The expanded config.
    """
    settings = check_pwkd_block(cfg, cfg.pop('pwkd'), teacher_widths)
    cfg.model = pwkd_model(cfg, settings)
    if settings['feature_strategy'] == 'per_stage':
        find_unused_parameters(
            cfg, "pwkd.feature_strategy='per_stage' keeps one student "
            'connector per stage, and those of the other stages get no '
            'gradient')
    if settings['lr_cycle'] is not None:
        cfg.param_scheduler = _lr_schedule(cfg, settings)
    cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
        dict(
            type='mmrazor.PWKDStageHook',
            widths=list(settings['widths']),
            stage_lengths=list(settings['stage_lengths']),
            by_epoch=settings['by_epoch'],
            reset_optimizer_state=settings['reset_optimizer_state'],
            accept_new_plan=settings['accept_new_plan'],
            teacher_mutator=settings['teacher_mutator'],
            feature_strategy=settings['feature_strategy'])
    ]
    return cfg


def expand_pwkd_test(cfg: Config) -> Config:
    """The test-time counterpart: the same model, the teacher at full width."""
    settings = check_pwkd_block(cfg, cfg.pop('pwkd'))
    cfg.model = pwkd_model(cfg, settings)
    return cfg
