"""The width recipe of mmpretrain's ``HiViT``."""
import copy
from typing import Callable, Dict

from mmpretrain.models.backbones import HiViT

from ..models.mutators.transformer_units import slim_heads
from .ordinary_config import WidthExportError


def _hivit_arch(backbone: dict) -> dict:
    arch = backbone.get('arch', 'base')
    if isinstance(arch, str):
        arch = HiViT.arch_zoo[arch.lower()]
    return copy.deepcopy(dict(arch))


def _ratio(hidden: int, dims: int, name: str, width: float) -> float:
    """A ratio that ``int(dims * ratio)`` turns into ``hidden``."""
    ratio = hidden / dims
    if int(dims * ratio) != hidden:
        raise WidthExportError(
            f'HiViT at width {width:g}: no {name} gives {hidden} hidden '
            f'features to {dims} features')
    return ratio


def hivit_recipe(backbone: dict, scale: Callable[[int], int], width: float,
                 divisor: int, min_channels: int) -> dict:
    """mmpretrain ``HiViT``: the main stage's ``num_heads`` (each head keeps
    its dims) and the ``embed_dims`` they give, ``mlp_ratio`` and
    ``stem_mlp_ratio`` giving the narrowed hidden features; HiViT builds
    its early stages with ``embed_dims // 2**k`` features, so a width
    exports where the teacher's early stages narrow to those."""
    arch = _hivit_arch(backbone)
    stages = len(arch['depths'])
    head_dims = arch['embed_dims'] // arch['num_heads']
    heads = slim_heads(arch['num_heads'], head_dims, width, divisor,
                       min_channels)
    embed_dims = heads * head_dims
    whole = [arch['embed_dims'] >> (stages - 1 - i) for i in range(stages)]
    wanted = [scale(dims) for dims in whole[:-1]] + [embed_dims]
    built = [embed_dims >> (stages - 1 - i) for i in range(stages)]
    if built != wanted:
        raise WidthExportError(
            f'HiViT at width {width:g}: the slimmable teacher keeps stages '
            f'of {wanted} features (the main stage {heads} whole heads of '
            f'{head_dims}, the early stages of {whole[:-1]} narrowed on '
            f'their own), while embed_dims {embed_dims} builds stages of '
            f'{built} (embed_dims // 2**k)')
    stem_ratio = backbone.get('stem_mlp_ratio', 3.)
    stem = {
        _ratio(scale(int(dims * stem_ratio)), narrow, 'stem_mlp_ratio', width)
        for dims, narrow in zip(whole[:-1], wanted[:-1])
    }
    if len(stem) > 1:
        raise WidthExportError(
            f'HiViT at width {width:g}: its early stages narrow their MLPs '
            f'by different ratios {sorted(stem)}; one stem_mlp_ratio '
            'builds them all')
    if stem:
        backbone['stem_mlp_ratio'] = stem.pop()
    backbone['mlp_ratio'] = _ratio(
        scale(int(whole[-1] * backbone.get('mlp_ratio', 4.))), embed_dims,
        'mlp_ratio', width)
    backbone['arch'] = dict(arch, embed_dims=embed_dims, num_heads=heads)
    return backbone


def hivit_outputs(whole: dict, narrow: dict) -> Dict[int, int]:
    """HiViT's main stage features, whole -> at the width (what its neck
    and head read)."""
    return {_hivit_arch(whole)['embed_dims']: narrow['arch']['embed_dims']}
