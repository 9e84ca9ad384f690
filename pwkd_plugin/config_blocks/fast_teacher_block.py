"""The ``fast_teacher`` config block: any single-teacher mmrazor config with
its frozen teacher forward on a fast copy.

Add ``fast_teacher = dict()`` (or with keys) to an mmrazor distillation
config (``SingleTeacherDistill`` or a subclass); the model becomes
``FastTeacherDistill`` around it. The keys, defaults and meanings are
``FAST_TEACHER_KEYS`` below, shown in ``docs/config_blocks.md``.

A PWKD config takes ``pwkd.teacher_precision`` instead (a config takes one
plugin block).
"""
from mmengine.config import Config, ConfigDict
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS

from ..models.algorithms.fast_teacher import check_precision
from .block_checks import check_bool, check_keys
from .block_keys import BlockKey, defaults_of

FAST_TEACHER_KEYS = (
    BlockKey('precision', 'auto',
             "`'auto'`: bf16 on CPUs with AVX512-BF16 or AMX and on CUDA GPUs "
             'of compute capability 8.0 or later, fp16 on CUDA GPUs of 7.x '
             '(fp16 tensor cores), fp32 arithmetic elsewhere, Pascal and '
             'older GPUs included (the copy is still folded and '
             "channels-last); `'bf16'` / `'fp16'` (emulated, and slow, where "
             "not native); `'fp32'`: no copy, the teacher runs as it is (on "
             'GPUs from compute capability 8.0 its convolutions run as TF32, '
             "PyTorch's default, and the log line says so)"),
    BlockKey('fold_bn', True,
             'fold batch norms into the convolutions before them'),
    BlockKey('channels_last', True,
             'run the teacher in the channels-last layout'),
    BlockKey('compile', None,
             '`torch.compile` options for the copy (a dict, `{}` for the '
             'defaults); `None`: not compiled'),
)
FAST_TEACHER_DEFAULTS = defaults_of(FAST_TEACHER_KEYS)


def check_fast_teacher_block(cfg: Config, block: dict) -> dict:
    """Validate a ``fast_teacher`` block against its config.

    Args:
        cfg (Config): The distillation config.
        block (dict): The block.

    Returns:
        dict: Every key, with ``base_type`` (the model's type).
    """
    if not isinstance(block, dict):
        raise ValueError(f'fast_teacher must be a dict, got {block!r}')
    check_keys(block, FAST_TEACHER_DEFAULTS, 'fast_teacher')
    settings = dict(FAST_TEACHER_DEFAULTS, **block)
    check_precision(settings['precision'], 'fast_teacher.precision')
    for key in ('fold_bn', 'channels_last'):
        check_bool(settings[key], f'fast_teacher.{key}')
    if settings['compile'] is not None and not isinstance(
            settings['compile'], dict):
        raise ValueError('fast_teacher.compile must be a dict of '
                         'torch.compile options or None, got '
                         f'{settings["compile"]!r}')
    type_name = str(cfg.model.get('type', ''))
    cls = MODELS.get(type_name.split('.')[-1])
    if not (isinstance(cls, type) and issubclass(cls, SingleTeacherDistill)):
        raise ValueError('fast_teacher plugs into SingleTeacherDistill or a '
                         f'subclass of it, got model.type={type_name!r}')
    if cfg.model.get('teacher_trainable', False):
        raise ValueError('fast_teacher needs model.teacher_trainable=False: '
                         'only a frozen teacher runs on a fast copy')
    settings['base_type'] = type_name.split('.')[-1]
    return settings


def expand_fast_teacher(cfg: Config) -> Config:
    """Turn the config's model into ``FastTeacherDistill`` around it.

    Args:
        cfg (Config): The config; its ``fast_teacher`` block is removed.

    Returns:
        Config: The expanded config.
    """
    settings = check_fast_teacher_block(cfg, cfg.pop('fast_teacher'))
    model = dict(cfg.model)
    model.pop('type')
    model['_scope_'] = 'mmrazor'
    cfg.model = ConfigDict(
        type='FastTeacherDistill',
        base_type=settings['base_type'],
        teacher_precision=settings['precision'],
        fold_bn=settings['fold_bn'],
        channels_last=settings['channels_last'],
        compile=settings['compile'],
        **model)
    return cfg
