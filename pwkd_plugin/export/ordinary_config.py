"""Writing ordinary mmpretrain classifier configs and their files.

Shared by the exports that turn a slimmable teacher's width
(:mod:`.width_export`) or a distillation run's student
(:mod:`.student_export`) into a config and checkpoint plain mmpretrain loads.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence

import torch
from mmengine.config import Config

from ..models.utils import type_name


class WidthExportError(ValueError):
    """A width or a student cannot be exported, or its export would not be
    exact."""


#: backbones of the plugin (registered in mmrazor's registry): an exported
#: config of one of them imports ``pwkd_plugin.models.backbones``.
PLUGIN_BACKBONES = ('CIFARResNet', 'CIFARVGG', 'CIFARWideResNet')

#: sections of the source config copied to the exported one: data,
#: schedule and optimizer too, so that mmpretrain's tools/train.py
#: fine-tunes the exported model as it is.
COPIED_KEYS = ('data_preprocessor', 'train_pipeline', 'train_dataloader',
               'test_pipeline', 'test_dataloader', 'test_evaluator',
               'val_dataloader', 'val_evaluator', 'optim_wrapper',
               'param_scheduler', 'train_cfg', 'auto_scale_lr', 'randomness',
               'env_cfg', 'default_hooks', 'log_processor', 'visualizer',
               'log_level')


def _plugin_types(value) -> list:
    """``mmrazor.*`` type names (plugin components) inside a config value."""
    found = []
    if isinstance(value, dict):
        type_ = value.get('type')
        if isinstance(type_, str) and type_.startswith('mmrazor.'):
            found.append(type_)
        for item in value.values():
            found += _plugin_types(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += _plugin_types(item)
    return found


def ordinary_config_text(source: Config,
                         classifier: dict,
                         data_preprocessor: Optional[dict],
                         header: Sequence[str],
                         load_from: Optional[str] = None) -> str:
    """The Python text of an ordinary mmpretrain classifier config.

    Args:
        source (Config): The config the classifier comes from; its data
            preprocessing, data, schedule, optimizer and runtime settings
            are copied.
        classifier (dict): The classifier's model config.
        data_preprocessor (dict, optional): Its data preprocessor.
        header (Sequence[str]): Comment lines that say where it comes from.
        load_from (str, optional): The exported checkpoint, which a
            training run of the config starts from (fine-tuning). Defaults
            to None.

    Returns:
        str: The config file's text.
    """
    backbone_type = type_name(classifier['backbone'].get('type'))
    exported = OrderedDict()
    exported['default_scope'] = 'mmpretrain'
    imports = [
        name for name in (source.get('custom_imports') or {}).get(
            'imports', []) if not name.split('.')[0] == 'pwkd_plugin'
    ]
    if backbone_type in PLUGIN_BACKBONES:
        imports.append('pwkd_plugin.models.backbones')
    plugin_types = sorted(
        set(_plugin_types([source.get(key) for key in COPIED_KEYS])))
    if plugin_types:
        imports.append('pwkd_plugin')
    if imports:
        exported['custom_imports'] = dict(
            imports=imports, allow_failed_imports=False)
    model = dict(classifier)
    if data_preprocessor is not None:
        model['data_preprocessor'] = copy.deepcopy(dict(data_preprocessor))
    exported['model'] = model
    for key in COPIED_KEYS:
        if source.get(key) is not None:
            exported[key] = copy.deepcopy(source[key])
    for loop in ('val', 'test'):
        if exported.get(f'{loop}_dataloader') is not None:
            exported[f'{loop}_cfg'] = dict()
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        # mmpretrain's tools/train.py defaults persistent_workers to True,
        # which torch refuses for a loader without workers.
        if exported.get(loader) is not None and not exported[loader].get(
                'num_workers', 0):
            exported[loader]['persistent_workers'] = False
    if load_from is not None:
        exported['load_from'] = load_from
    text = Config(dict(exported)).pretty_text

    header = [f'# {line}' if line else '#' for line in header]
    if backbone_type in PLUGIN_BACKBONES:
        header += [
            f'# The backbone ({backbone_type}) is the plugin\'s: '
            'custom_imports imports',
            '# pwkd_plugin.models.backbones to register it.',
        ]
    if plugin_types:
        header += [
            '# The data / runtime settings name plugin components '
            f'({", ".join(plugin_types)}):',
            "# custom_imports imports 'pwkd_plugin' to register them.",
        ]
    return '\n'.join(header) + '\n' + text


def refuse_existing(paths: Sequence[str]) -> None:
    """Refuse to write outputs over files that exist."""
    existing = [path for path in paths if osp.exists(path)]
    if existing:
        raise WidthExportError(
            f'refusing to overwrite existing output file(s) {existing}; '
            'remove them or choose another --out-dir')


def write_new_files(contents: Dict[str, Callable]) -> None:
    """Write files that must not exist yet; on failure, remove what was
    written.

    Args:
        contents (dict): path -> function(file object) writing it; paths
            ending in ``.py`` are written as text, others as binary.
    """
    written = []
    try:
        for path, write in contents.items():
            # 'x': fail rather than overwrite a file created meanwhile.
            with open(path, 'x' if path.endswith('.py') else 'xb') as f:
                written.append(path)
                write(f)
    except BaseException:
        for path in written:
            os.remove(path)
        raise


def write_config_and_checkpoint(config_path: str, ckpt_path: str, text: str,
                                state_dict: dict, meta: dict) -> None:
    """Write an exported config and its checkpoint, both new files.

    Args:
        config_path (str): The config file (its folder is created).
        ckpt_path (str): The checkpoint file.
        text (str): The config's text (:func:`ordinary_config_text`).
        state_dict (dict): The model's weights.
        meta (dict): The checkpoint's ``meta``.
    """
    os.makedirs(osp.dirname(osp.abspath(config_path)), exist_ok=True)
    write_new_files({
        config_path: lambda f: f.write(text),
        ckpt_path: lambda f: torch.save(
            dict(meta=meta, state_dict=state_dict), f)
    })
