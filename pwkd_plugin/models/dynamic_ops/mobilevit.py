"""MobileViT's block with its unfold and fold as single traced ops."""
import math
from typing import Tuple

import torch
import torch.fx
import torch.nn.functional as F
from mmpretrain.models.backbones.mobilevit import MobileVitBlock
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def unfold_patches(x: torch.Tensor, patch_size: Tuple[int,
                                                      int]) -> torch.Tensor:
    """A feature map ``(B, C, H, W)`` as patch tokens ``(B * P, N, C)``.

    As mmpretrain's ``MobileVitBlock`` (a map whose sides are not multiples
    of the patch is resized to the next multiples first); the channels stay
    the last dimension, whatever their count.

    Args:
        x (torch.Tensor): The feature map.
        patch_size (tuple[int, int]): Patch height and width.

    Returns:
        torch.Tensor: ``P = p_h * p_w`` token sequences of ``N`` patches.
    """
    patch_h, patch_w = patch_size
    batch, channels, height, width = x.shape
    new_h = math.ceil(height / patch_h) * patch_h
    new_w = math.ceil(width / patch_w) * patch_w
    if new_h != height or new_w != width:
        x = F.interpolate(x,
                          size=(new_h, new_w),
                          mode='bilinear',
                          align_corners=False)
    rows, cols = new_h // patch_h, new_w // patch_w
    x = x.reshape(batch * channels * rows, patch_h, cols,
                  patch_w).transpose(1, 2)
    return x.reshape(batch, channels, rows * cols,
                     patch_h * patch_w).transpose(1, 3).reshape(
                         batch * patch_h * patch_w, rows * cols, -1)


def fold_patches(x: torch.Tensor, size: Tuple[int, int],
                 patch_size: Tuple[int, int]) -> torch.Tensor:
    """Patch tokens ``(B * P, N, C)`` back as a feature map of ``size``.

    The inverse of :func:`unfold_patches`; the channel count is read from
    the tokens.

    Args:
        x (torch.Tensor): The tokens.
        size (tuple[int, int]): Height and width of the unfolded map.
        patch_size (tuple[int, int]): Patch height and width.

    Returns:
        torch.Tensor: The feature map ``(B, C, H, W)``.
    """
    patch_h, patch_w = patch_size
    height, width = size
    rows, cols = math.ceil(height / patch_h), math.ceil(width / patch_w)
    area = patch_h * patch_w
    channels = x.shape[-1]
    batch = x.shape[0] // area
    x = x.contiguous().view(batch, area, rows * cols, channels)
    x = x.transpose(1, 3).reshape(batch * channels * rows, cols, patch_h,
                                  patch_w)
    x = x.transpose(1, 2).reshape(batch, channels, rows * patch_h,
                                  cols * patch_w)
    if rows * patch_h != height or cols * patch_w != width:
        x = F.interpolate(x,
                          size=(height, width),
                          mode='bilinear',
                          align_corners=False)
    return x


# One node each in a traced graph: a reshape by sizes read from the tensor
# and the resizing condition would stop torch.fx inside the block.
torch.fx.wrap('unfold_patches')
torch.fx.wrap('fold_patches')


@MODELS.register_module()
class SlimmableMobileVitBlock(InPlaceSlimmableMixin, MobileVitBlock,
                              DynamicChannelMixin):
    """mmpretrain's ``MobileVitBlock`` that the channel tracer follows.

    mmpretrain's forward branches on the feature map's size (the resize to
    multiples of the patch), so torch.fx cannot trace it and the tracer kept
    the whole block one opaque node, its layers whole. Here the unfold into
    patch tokens and the fold back are one op each
    (:func:`unfold_patches`, :func:`fold_patches`) whose channels pass
    through, so the block's convolutions, attentions and FFNs are traced.
    The computation is mmpretrain's, at any channel count; swapped in
    before tracing (``FORWARD_OPS``), it holds no mutable, and
    :meth:`to_static_op` gives mmpretrain's block back.
    """

    @property
    def static_op_factory(self):
        return MobileVitBlock

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.local_rep(x)
        size = x.shape[-2:]
        x = self.global_rep(unfold_patches(x, self.patch_size))
        x = self.conv_proj(fold_patches(x, size, self.patch_size))
        if self.conv_fusion is not None:
            x = self.conv_fusion(torch.cat((shortcut, x), dim=1))
        return x

    def to_static_op(self) -> MobileVitBlock:
        """The block itself as mmpretrain's (its layers are converted by
        their own units)."""
        self.to_static_class(MobileVitBlock)
        return self
