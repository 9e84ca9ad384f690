"""A distillation teacher rebuilt from a slimmable teacher checkpoint.

The teacher keeps its own class and module names (so every recorder of a
distiller finds its modules); its layers become slimmable in place, and its
width is set through the mutator attached as ``teacher.width_mutator``.
"""
import copy
from typing import Dict

import torch
from mmrazor.models.mutables import BaseMutable
from mmrazor.registry import MODELS
from mmrazor.structures.subnet.fix_subnet import _dynamic_to_static

from ...checkpoints import read_slimmable_teacher
from .fast_teacher import copy_without_hooks

WIDTH_MUTATOR = 'width_mutator'


def build_partial_teacher(teacher: Dict, teacher_ckpt: str,
                          widths=None) -> torch.nn.Module:
    """Build the teacher, make it slimmable, load the slimmable checkpoint.

    Args:
        teacher (dict): The distillation config's teacher (a classifier).
        teacher_ckpt (str): A slimmable teacher checkpoint.
        widths (Sequence[float], optional): The widths to use; each must be
            one the teacher was trained with. Defaults to all of them.

    Returns:
        nn.Module: The teacher, width set to the whole width.
    """
    saved = read_slimmable_teacher(teacher_ckpt)
    mutator_cfg = copy.deepcopy(saved['mutator'])
    trained_widths = [float(w) for w in mutator_cfg['widths']]
    if widths is not None:
        missing = [w for w in widths if float(w) not in trained_widths]
        if missing:
            raise ValueError(
                f'widths {missing} are not in teacher checkpoint '
                f'{teacher_ckpt}, which has {trained_widths}')
    model = MODELS.build(teacher) if isinstance(teacher, dict) else teacher
    mutator = MODELS.build(mutator_cfg)
    mutator.prepare_from_supernet(model)
    missing, unexpected = model.load_state_dict(
        saved['state_dict'], strict=False)
    if missing or unexpected:
        raise ValueError(
            f'teacher checkpoint {teacher_ckpt} does not fit the config\'s '
            f'teacher {type(model).__name__}: missing {missing[:8]}, '
            f'unexpected {unexpected[:8]}')
    model.add_module(WIDTH_MUTATOR, mutator)
    mutator.set_width(1.0)
    # Keep the loaded weights through the Runner's init_weights().
    model._is_init = True
    return model


def static_teacher_at_width(teacher: torch.nn.Module) -> torch.nn.Module:
    """An ordinary (static) copy of a partial teacher at its active width.

    A slimmable layer slices its weights on every forward; the copy holds
    the active width's weights as ordinary layers, so it runs as fast as a
    network built at that width. Module names stay the same (recorders find
    the same modules); the copy carries none of the teacher's hooks, is in
    eval mode and has no gradients.

    Args:
        teacher (nn.Module): A teacher made by :func:`build_partial_teacher`.

    Returns:
        nn.Module: The static copy, on the teacher's device.
    """
    width = getattr(teacher, WIDTH_MUTATOR).current_width
    static = copy_without_hooks(teacher)
    mutator = getattr(static, WIDTH_MUTATOR)
    mutator.set_width(width)
    mutator.fix_channel_mutables()
    for module in static.modules():
        if isinstance(module, BaseMutable) and not module.is_fixed:
            module.fix_chosen(None)
    del static._modules[WIDTH_MUTATOR]
    _dynamic_to_static(static)
    static.requires_grad_(False)
    return static.eval()
