"""Small Vision GNN backbones (ViG, Pyramid ViG) for 32x32 inputs.

mmpretrain builds the position embedding of its ViG backbones for 224x224
inputs (14x14 and 56x56 nodes) and a Pyramid ViG's relative positions for
the nodes of a 224x224 input: these take them at the nodes a 32x32 input
leaves, with mmpretrain's own formulas.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones import PyramidVig, Vig
from mmpretrain.models.backbones.vig import (Grapher,
                                             get_2d_relative_pos_embed)
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SmallVig(Vig):
    """ViG of two blocks of 32 channels (``arch='small'``) over the 2x2
    nodes of a 32x32 input, each block's k-NN graph of ``k`` and ``2 k``
    neighbours."""

    arch_settings = {'small': dict(num_blocks=2, channels=32)}

    def __init__(self, *args, img_size: int = 32, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        nodes = img_size // 16
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.pos_embed.shape[1], nodes, nodes))


@MODELS.register_module()
class SmallPyramidVig(PyramidVig):
    """Pyramid ViG of two stages of one block (16 and 32 channels) over the
    8x8 and 4x4 nodes of a 32x32 input (their graphs reach the 2x2 nodes
    the stages' reduce ratios 4 and 2 pool them to)."""

    arch_settings = {'small': dict(blocks=[1, 1], channels=[16, 32])}

    def __init__(self, *args, img_size: int = 32, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        side = img_size // 4
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.channels[0], side, side))
        graphers = [m for m in self.modules() if isinstance(m, Grapher)]
        for grapher, channels in zip(graphers, self.channels):
            grapher.n = side * side
            grapher.relative_pos = nn.Parameter(
                _relative_pos(channels, side, grapher.r), requires_grad=False)
            side //= 2


def _relative_pos(channels: int, side: int, r: int) -> torch.Tensor:
    """mmpretrain's ``Grapher`` relative positions of ``side x side`` nodes
    to the nodes pooled by ``r``."""
    table = torch.from_numpy(
        np.float32(get_2d_relative_pos_embed(channels, side)))[None, None]
    nodes = side * side
    table = F.interpolate(table, size=(nodes, nodes // (r * r)),
                          mode='bicubic', align_corners=False)
    return -table.squeeze(1)
