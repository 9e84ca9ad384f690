"""The slimmable teacher config an export reads: a classifier config with a
``slimmable`` block, or its expansion (a ``SlimmableTeacher`` model)."""
import copy
import os.path as osp
from typing import Optional, Tuple, Union

from mmengine.config import Config, ConfigDict

from ..config_blocks.slimmable_block import (SLIMMABLE_MODEL_TYPES,
                                             check_slimmable_block,
                                             expand_slimmable_test)
from ..models.utils import type_name
from .ordinary_config import WidthExportError


def load_config(cfg: Union[str, Config]) -> Tuple[Config, Optional[str]]:
    """The config (a copy) and its file's absolute path (None in memory)."""
    if isinstance(cfg, Config):
        return copy.deepcopy(cfg), (osp.abspath(cfg.filename)
                                    if cfg.filename else None)
    if not isinstance(cfg, str) or not osp.isfile(cfg):
        raise WidthExportError(f'config must be a Config or an existing '
                               f'config file, got {cfg!r}')
    return Config.fromfile(cfg), osp.abspath(cfg)


def slimmable_settings(cfg: Config) -> Tuple[ConfigDict, tuple]:
    """The expanded SlimmableTeacher model config and the input shape."""
    if cfg.get('slimmable') is not None:
        settings = check_slimmable_block(
            cfg.slimmable, for_training=False)
        expanded = expand_slimmable_test(copy.deepcopy(cfg))
        return expanded.model, tuple(settings['input_shape'])
    model = cfg.get('model') or {}
    model_type = type_name(model.get('type'))
    if model_type != 'SlimmableTeacher':
        known = ' (only SlimmableTeacher models can be exported)' \
            if model_type in SLIMMABLE_MODEL_TYPES else ''
        raise WidthExportError(
            'the config is not a slimmable teacher: it has no `slimmable` '
            f'block and its model is {model.get("type")!r}{known}')
    model = copy.deepcopy(model)
    model['init_from'] = None
    demo = model.get('mutator', {}).get('parse_cfg', {}).get('demo_input')
    shape = tuple(demo[1:]) if demo else (3, 32, 32)
    return model, shape
