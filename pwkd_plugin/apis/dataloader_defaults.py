"""Data loader defaults the OpenMMLab tools apply to every config."""
from copy import deepcopy
from typing import Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict


def set_dataloader_defaults(cfg: Config,
                            fields: Sequence[str],
                            pin_memory: bool = True,
                            persistent_workers: Optional[bool] = None) -> None:
    """Fill in collate function, ``pin_memory`` and ``persistent_workers``.

    Values a config sets itself are kept, except where the command line
    turned an option off. Without CUDA nothing is pinned (torch would warn
    at every loader start and pin nothing).

    Args:
        cfg (Config): The config, changed in place.
        fields (Sequence[str]): Data loader keys, e.g. ``'train_dataloader'``.
        pin_memory (bool): Whether loaders pin memory. Defaults to True.
        persistent_workers (bool, optional): Whether worker processes persist
            between epochs; only applied to loaders with workers. None leaves
            it out. Defaults to None.
    """
    pin_memory = pin_memory and torch.cuda.is_available()
    for field in fields:
        if cfg.get(field, None) is None:
            continue
        loader = ConfigDict(collate_fn=dict(type='default_collate'))
        loader.update(deepcopy(cfg[field]))
        loader.setdefault('pin_memory', pin_memory)
        if not pin_memory:
            loader.pin_memory = False
        if persistent_workers is not None and loader.get('num_workers', 0):
            loader.setdefault('persistent_workers', persistent_workers)
            if not persistent_workers:
                loader.persistent_workers = False
        cfg[field] = loader
