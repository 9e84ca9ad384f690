"""Checks that every width of a freshly made slimmable teacher works.

Run when the slimmable model is prepared, before anything trains or writes
a checkpoint: every width forwards the tracer's input, and the narrowest
width must cost clearly less than the whole network.
"""
import traceback
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import (DynamicMixin,
                                                      SwitchableBatchNorm2d)

from ..dynamic_ops import DYNAMIC_OPS
from ..utils.conv_linear_macs import conv_linear_macs

#: the narrowest width may keep at most this share of the whole's FLOPs.
MOSTLY_WHOLE_RATIO = 0.5


#: Blocks of mmpretrain whose channel split the channel tracer cannot follow,
#: by class name, and why: a teacher with layers left whole inside one is
#: refused (unless ``allow_mostly_whole``), whatever its FLOPs.
UNFOLLOWED_BLOCKS = {
    'CSPStage':
    "CSPNet's stage splits its channels in halves by indexing "
    '(x[:, :split]), which the channel tracer follows only where the halves '
    'run narrowed together: both of one count, its blocks keeping it',
}


class WidthForwardError(RuntimeError):
    """A width of a slimmable teacher cannot run a forward pass."""


class MostlyWholeTeacherError(ValueError):
    """The narrowest width of a teacher keeps most of the whole's FLOPs."""


def innermost_module(model: nn.Module,
                     error: BaseException) -> Optional[nn.Module]:
    """The innermost module of ``model`` whose code raised ``error``."""
    ids = {id(module) for module in model.modules()}
    failing = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        module = frame.f_locals.get('self')
        if isinstance(module, nn.Module) and id(module) in ids:
            failing = module
    return failing


def describe_module(model: nn.Module, module: Optional[nn.Module]) -> str:
    """``'name' (Type)`` of a module of ``model``."""
    if module is None:
        return f'{type(model).__name__} (the model itself)'
    name = next((n for n, m in model.named_modules() if m is module), '')
    return f"'{name or '<root>'}' ({type(module).__name__})"


def _reason(module: Optional[nn.Module], error: BaseException) -> str:
    if isinstance(module, SwitchableBatchNorm2d) and isinstance(
            error, AssertionError):
        sizes = sorted(int(key) for key in module.candidate_bn)
        return (f'mmrazor asserts that the {module.activated_channel_num()} '
                'channels reaching this switchable batch norm are the size '
                f'of one of its private batch norms ({sizes}); the channel '
                'units that feed it give it another count (they disagree '
                'about its width)')
    text = str(error) or 'no message'
    return f'{type(error).__name__}: {text}'


def _demo_forward(model: nn.Module, demo_input: Sequence[int]):
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else 'cpu'
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand(tuple(demo_input), generator=generator).to(device)
    batch = inputs.shape[0]

    def run():
        try:
            return model(inputs, mode='tensor')
        except TypeError as error:
            if 'mode' not in str(error):
                raise
            return model(inputs)

    return run, batch


@torch.no_grad()
def macs_per_width(mutator, model: nn.Module,
                   demo_input: Sequence[int]) -> Dict[float, int]:
    """Forward ``demo_input`` at every width; multiply-adds of each.

    Args:
        mutator (SlimmableTeacherMutator, optional): The prepared mutator;
            None for a model not yet made slimmable (one forward, key 1.0).
        model (nn.Module): The slimmable model it prepared.
        demo_input (Sequence[int]): ``(N, C, H, W)``.

    Returns:
        dict: width -> conv and linear multiply-adds per sample.

    Raises:
        WidthForwardError: Naming the width, the module that failed and the
            reason.
    """
    run, batch = _demo_forward(model, demo_input)
    was_training = model.training
    model.eval()
    macs = {}
    try:
        for width in mutator.widths if mutator else (1.0, ):
            if mutator:
                mutator.set_width(width)
            try:
                macs[width] = conv_linear_macs(model, run, batch)
            except Exception as error:
                module = innermost_module(model, error)
                what = (f'width {width:g} of the slimmable '
                        f'{type(model).__name__}' if mutator else
                        f'{type(model).__name__} (before it is made '
                        'slimmable)')
                raise WidthForwardError(
                    f'{what} cannot run a forward pass on '
                    f'the tracer\'s input {tuple(demo_input)}: it fails in '
                    f'module {describe_module(model, module)}: '
                    f'{_reason(module, error)}') from error
    finally:
        if mutator:
            mutator.set_width(1.0)
        model.train(was_training)
    return macs


def unfollowed_blocks(model: nn.Module, whole: List[str]) -> Dict[str, str]:
    """The blocks of :data:`UNFOLLOWED_BLOCKS` that hold a layer of
    ``whole``: ``{block name: reason}``."""
    blocks = {
        name: UNFOLLOWED_BLOCKS[type(module).__name__]
        for name, module in model.named_modules()
        if type(module).__name__ in UNFOLLOWED_BLOCKS
    }
    return {
        block: why
        for block, why in blocks.items()
        if any(layer.startswith(block + '.') for layer in whole)
    }


def whole_layer_reasons(model: nn.Module,
                        whole: List[str]) -> Dict[str, List[str]]:
    """The layers left whole, by why: ``{reason: [layer names]}``."""
    modules = dict(model.named_modules())
    blocks = unfollowed_blocks(model, whole)
    reasons = {}
    for name in whole:
        module = modules[name]
        block = next((b for b in blocks if name.startswith(b + '.')), None)
        if block is not None:
            why = blocks[block]
        elif isinstance(module, DynamicMixin):
            why = 'no channel unit holds it'
        elif type(module) in DYNAMIC_OPS:
            why = ('its channels are tied to a layer that cannot be sliced, '
                   'or go through an operation the channel tracer does not '
                   'follow (a channel shuffle, a reshape, Python control flow '
                   'on tensor values)')
        else:
            why = f'{type(module).__name__} has no slimmable op'
        reasons.setdefault(why, []).append(name)
    return reasons


def refuse_mostly_whole(model: nn.Module, macs: Dict[float, int],
                        whole: List[str], divisor: int,
                        min_channels: int) -> None:
    """Raise unless the narrowest width costs at most half of the whole
    and no layer is left whole.

    A layer left whole is the whole teacher's at every width, whatever the
    FLOPs: the narrow widths would not be partial knowledge there.

    Args:
        model (nn.Module): The slimmable model.
        macs (dict): :func:`macs_per_width`.
        whole (list[str]): The layers left whole.
        divisor (int): The mutator's channel divisor.
        min_channels (int): The mutator's least channels.

    Raises:
        MostlyWholeTeacherError: Naming the ratio and the layers left whole,
            each with the reason.
    """
    narrowest, widest = min(macs), max(macs)
    ratio = macs[narrowest] / max(macs[widest], 1)
    blocks = unfollowed_blocks(model, whole)
    if ratio <= MOSTLY_WHOLE_RATIO and not whole:
        return
    shown = '; '.join(
        f'{", ".join(names[:6])}{" ..." if len(names) > 6 else ""} '
        f'({len(names)}): {why}'
        for why, names in whole_layer_reasons(model, whole).items())
    if ratio > MOSTLY_WHOLE_RATIO:
        what = (f'keeps {ratio:.3f} of the whole network\'s FLOPs (more '
                f'than {MOSTLY_WHOLE_RATIO:g}), so it is not a partial '
                'teacher')
    elif blocks:
        kinds = sorted({type(model.get_submodule(b)).__name__
                        for b in blocks})
        what = (f'keeps {ratio:.3f} of the whole network\'s FLOPs, but '
                f'layers inside its {", ".join(kinds)} blocks cannot be '
                'sliced')
    else:
        what = (f'keeps {ratio:.3f} of the whole network\'s FLOPs, but not '
                'every layer is sliced, so those layers are the whole '
                'teacher\'s at every width')
    raise MostlyWholeTeacherError(
        f'width {narrowest:g} of {type(model).__name__} {what}: '
        f'{len(whole)} layer(s) keep all their channels at every width'
        f'{": " + shown if shown else ""}; every other layer keeps '
        f'width x channels, rounded to a multiple of divisor={divisor}, at '
        f'least min_channels={min_channels}. Train it anyway with '
        '`slimmable.allow_mostly_whole=True` (mutator argument '
        '`allow_mostly_whole`).')
