"""Turning the plugin's config blocks into the full runner config.

A config opts into the plugin with a top-level block; each block has an
expander that validates it (refusing bad values with the key and the rule
before any data is loaded) and rewrites the config. Configs without a block
pass through unchanged.
"""
from typing import Callable, Dict

from mmengine.config import Config

#: block name -> function(cfg) -> cfg, filled by the modules that define them.
TRAIN_BLOCK_EXPANDERS: Dict[str, Callable[[Config], Config]] = {}
TEST_BLOCK_EXPANDERS: Dict[str, Callable[[Config], Config]] = {}


def _expand(cfg: Config, expanders: Dict[str, Callable]) -> Config:
    present = [name for name in expanders if cfg.get(name) is not None]
    if len(present) > 1:
        raise ValueError(f'a config takes one plugin block, found {present}')
    for name in present:
        cfg = expanders[name](cfg)
    return cfg


def prepare_train_config(cfg: Config) -> Config:
    """Expand the plugin block of a training config, if it has one.

    Args:
        cfg (Config): The merged config (command-line options applied).

    Returns:
        Config: The config the Runner is built from.
    """
    return _expand(cfg, TRAIN_BLOCK_EXPANDERS)


def prepare_test_config(cfg: Config) -> Config:
    """Expand the plugin block of a test config, if it has one.

    Args:
        cfg (Config): The merged config.

    Returns:
        Config: The config the Runner is built from.
    """
    return _expand(cfg, TEST_BLOCK_EXPANDERS)
