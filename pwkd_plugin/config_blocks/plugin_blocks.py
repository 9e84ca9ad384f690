"""Turning the plugin's config blocks into the full runner config.

A config opts into the plugin with a top-level block; each block has an
expander that validates it (refusing bad values with the key and the rule
before any data is loaded) and rewrites the config. Configs without a block
pass through unchanged.
"""
import difflib
from typing import Callable, Dict, Iterable

from mmengine.config import Config

from .fast_teacher_block import expand_fast_teacher
from .pwkd_block import expand_pwkd_test, expand_pwkd_train
from .slimmable_block import expand_slimmable_test, expand_slimmable_train

#: block name -> function(cfg) -> cfg that expands it, for training configs
#: (``tools/train.py``) and for test configs (``tools/test.py``).
TRAIN_BLOCK_EXPANDERS: Dict[str, Callable[[Config], Config]] = {
    'fast_teacher': expand_fast_teacher,
    'pwkd': expand_pwkd_train,
    'slimmable': expand_slimmable_train,
}
TEST_BLOCK_EXPANDERS: Dict[str, Callable[[Config], Config]] = {
    'fast_teacher': expand_fast_teacher,
    'pwkd': expand_pwkd_test,
    'slimmable': expand_slimmable_test,
}


def refuse_misspelt_blocks(cfg: Config, names: Iterable[str]) -> None:
    """Refuse a top-level dict whose name is close to a block's name.

    mmengine keeps unknown top-level keys without a word, so a misspelt
    block (``slimable = dict(...)``) would silently train something else.

    Args:
        cfg (Config): The config.
        names (Iterable[str]): The block names.

    Raises:
        ValueError: Naming the key and the block it is likely meant as.
    """
    names = list(names)
    for key, value in cfg.items():
        if key in names or not isinstance(value, dict):
            continue
        # A misspelling is about as long as the name (not `teacher` for
        # `fast_teacher`).
        close = [
            name for name in difflib.get_close_matches(
                key.lower(), names, n=3, cutoff=0.7)
            if abs(len(name) - len(key)) <= 2
        ]
        if close:
            raise ValueError(
                f'the config has a top-level `{key}` block, which no part '
                f'of the run reads: did you mean `{close[0]}`? Rename it to '
                f'{close[0]} (or, if it is something else, give it a name '
                f'less like {close[0]!r})')


def refuse_untrained_distill_losses(cfg: Config) -> None:
    """Refuse a distillation loss whose name lacks ``'loss'``.

    mmengine adds up, and so trains, only the outputs whose names contain
    ``'loss'``: a distiller loss named ``hint`` is computed and logged
    (``distill.hint``) but never reaches the gradient, so the run silently
    trains without it.

    Args:
        cfg (Config): The config.

    Raises:
        ValueError: Naming the loss and the name to give it.
    """
    model = cfg.get('model')
    distiller = model.get('distiller') if isinstance(model, dict) else None
    losses = (distiller or {}).get('distill_losses') or {}
    for name in losses:
        if 'loss' not in name:
            raise ValueError(
                f'model.distiller.distill_losses has `{name}`, a name '
                "without 'loss': mmengine sums only the losses whose names "
                'contain it, so this one would be logged but never trained. '
                f'Rename it to `loss_{name}` (in loss_forward_mappings too)')


def _expand(cfg: Config, expanders: Dict[str, Callable]) -> Config:
    refuse_misspelt_blocks(cfg, expanders)
    present = [name for name in expanders if cfg.get(name) is not None]
    if len(present) > 1:
        raise ValueError(f'a config takes one plugin block, found {present}')
    for name in present:
        cfg = expanders[name](cfg)
    return cfg


def keep_random_state(cfg: Config) -> None:
    """Add ``RandomStateHook`` (exact resume of epoch-based runs), once."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(
            str(hook.get('type', '')).split('.')[-1] == 'RandomStateHook'
            for hook in hooks):
        cfg.custom_hooks = hooks + [dict(type='mmrazor.RandomStateHook')]


def prepare_train_config(cfg: Config) -> Config:
    """Expand the plugin block of a training config, if it has one.

    Every training config also gets a ``RandomStateHook``, so that its
    epoch checkpoints resume with the random state they were written with.

    Args:
        cfg (Config): The merged config (command-line options applied).

    Returns:
        Config: The config the Runner is built from.
    """
    refuse_untrained_distill_losses(cfg)
    cfg = _expand(cfg, TRAIN_BLOCK_EXPANDERS)
    keep_random_state(cfg)
    return cfg


def prepare_test_config(cfg: Config) -> Config:
    """Expand the plugin block of a test config, if it has one.

    Args:
        cfg (Config): The merged config.

    Returns:
        Config: The config the Runner is built from.
    """
    return _expand(cfg, TEST_BLOCK_EXPANDERS)
