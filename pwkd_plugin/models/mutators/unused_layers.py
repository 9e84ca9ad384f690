"""Layers a model builds but its forward never runs.

The channel tracer sees only the layers a forward runs, so a layer the
forward skips is in no unit and keeps all its channels: mmpretrain's DeiT
III layers normalise the FFN's input with ``ln1`` again, leaving ``ln2``
unused. Its static copy then has another shape than the width's config
(whose ``ln2`` has the narrow embedding), and the width cannot be exported.
Here such a layer follows a sibling of the same type and parameter shapes
that the forward runs (``ln1``): it joins that sibling's channels in every
unit.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmrazor.models.mutables.mutable_channel.units.channel_unit import \
    Channel

from .width_check import _demo_forward


def unused_modules(model: nn.Module, shape: Sequence[int],
                   types: tuple) -> List[str]:
    """The names of the ``types`` modules of ``model`` that a forward on
    the tracer's input of ``shape`` does not run."""
    ran = set()
    hooks = [
        module.register_forward_hook(
            lambda module, args, out: ran.add(id(module)))
        for module in model.modules() if isinstance(module, types)
    ]
    run, _ = _demo_forward(model, shape)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            run()
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return [
        name for name, module in model.named_modules()
        if isinstance(module, types) and id(module) not in ran
    ]


def _shapes(module: nn.Module) -> list:
    return [tuple(p.shape) for p in module.parameters(recurse=False)]


def _sibling(model: nn.Module, name: str, skipped: set):
    """A module beside ``name`` of its type and parameter shapes, run."""
    parent, _, _ = name.rpartition('.')
    module = model.get_submodule(name)
    for other, candidate in model.get_submodule(parent).named_children():
        full = f'{parent}.{other}' if parent else other
        if full != name and full not in skipped and \
                type(candidate) is type(module) and \
                _shapes(candidate) == _shapes(module):
            return full
    return None


def follow_siblings(model: nn.Module, units: list, unused: List[str]) -> None:
    """Give each unused layer its run sibling's channels in ``units``.

    Args:
        model (nn.Module): The traced model.
        units (list): mmrazor's channel units, changed in place.
        unused (list[str]): Names of the layers the forward does not run.
    """
    skipped = set(unused)
    for name in unused:
        sibling = _sibling(model, name, skipped)
        if sibling is None:
            continue
        module = model.get_submodule(name)
        for unit in units:
            for channel in [*unit.output_related, *unit.input_related]:
                if channel.name != sibling:
                    continue
                copy = Channel(name, module, channel.index,
                               is_output_channel=channel.is_output_channel)
                if channel.is_output_channel:
                    unit.add_output_related(copy)
                else:
                    unit.add_input_related(copy)
