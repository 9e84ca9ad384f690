"""``cfg_path`` models (mmrazor's teacher / architecture) from any config.

mmrazor builds ``dict(cfg_path=..., pretrained=...)`` models with
:func:`mmengine.hub.get_model`, which accepts only configs inside an installed
package (mmrazor issue #460): a teacher of the user's own config file is
refused. The replacement accepts ``pkg::path`` and local config files, and
builds the model in the config's own default scope (instead of importing
``<package>.utils`` of the prefix).
"""
import importlib
import os.path as osp

import mmengine.hub
import mmengine.hub.hub as hub_module
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint

from .mmcls_alias import get_package_and_cfg_path


def _load_config(cfg_path: str, pretrained: bool) -> Config:
    if '::' in cfg_path:
        return hub_module.get_config(cfg_path, pretrained)
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(
            f'cfg_path {cfg_path!r} is neither a "package::path" config nor '
            'an existing config file')
    if pretrained:
        raise ValueError(
            f'pretrained=True needs a metafile with weights, which the local '
            f'config {cfg_path!r} does not have; give the checkpoint through '
            'the distiller (e.g. teacher_ckpt) instead')
    return Config.fromfile(cfg_path)


def get_model(cfg_path: str, pretrained: bool = False, **kwargs):
    """Build the model of a packaged or local config.

    Args:
        cfg_path (str): ``package::relative/path.py`` or a config file path.
        pretrained (bool): Load the weights the package's metafile names.
            Defaults to False.
        **kwargs: Default arguments for building the model.

    Returns:
        nn.Module: The built model.
    """
    cfg = _load_config(cfg_path, pretrained)
    default_scope = cfg.get('default_scope')
    if default_scope is None and '::' in cfg_path:
        default_scope = get_package_and_cfg_path(cfg_path)[0]
    with DefaultScope.overwrite_default_scope(default_scope):
        if 'data_preprocessor' in cfg:
            cfg.model.data_preprocessor = cfg.data_preprocessor
        try:
            utils = importlib.import_module(f'{default_scope}.utils')
            utils.register_all_modules(init_default_scope=False)
        except (ImportError, AttributeError):
            pass
        model = MODELS.build(cfg.model, default_args=kwargs)
        if pretrained:
            load_checkpoint(model, cfg.model_path)
            model._is_init = True
    return model


def patch_hub_get_model() -> bool:
    """Replace :func:`mmengine.hub.get_model` (idempotent).

    Returns:
        bool: True once the replacement is in place.
    """
    mmengine.hub.get_model = get_model
    hub_module.get_model = get_model
    return True
