"""Slimmable teacher checkpoints without training, for tests and benchmarks."""
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS

from ..config_blocks import prepare_train_config
from ..models.utils import quiet_logger


def save_untrained_slimmable_teacher(config: str, path: str,
                                     **cfg_options) -> str:
    """Write the checkpoint of a freshly initialised slimmable teacher.

    It has the layout of a checkpoint that ``tools/train.py`` writes for the
    same config (``state_dict`` and ``meta['cfg']``), so ``pwkd`` runs accept
    it; its weights are the initial ones.

    Args:
        config (str): A teacher config with a ``slimmable`` block.
        path (str): Where to write the checkpoint.
        **cfg_options: Settings merged into the config first.

    Returns:
        str: ``path``.
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options)
    cfg = prepare_train_config(cfg)
    with quiet_logger():
        model = MODELS.build(cfg.model)
        model.init_weights()
    torch.save({
        'state_dict': model.state_dict(),
        'meta': dict(cfg=cfg.pretty_text)
    }, path)
    return path
