"""Small vision transformers a slimmable teacher is made from.

Each entry is an mmpretrain classifier config (10 classes) at a size that
traces and trains in seconds on a 32x32 input (patch 4, depth 2, embed 32,
4 heads of 8; Swin two such stages); ``benchmarks/teacher_families.py``
measures the ImageNet-sized members. :func:`attention_macs` adds what the
conv and linear count (``conv_linear_macs``) leaves out of a transformer:
the two matrix products of every attention.
"""
import copy
from typing import Callable

import torch
import torch.nn as nn
from torch.nn.modules.module import register_module_forward_hook

#: embed 32, 4 heads of 8, MLP 64, depth 2.
TINY_ARCH = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)


def token_classifier(backbone: str, head: str, arch: dict = TINY_ARCH,
                     image_size: int = 32, num_classes: int = 10) -> dict:
    """An mmpretrain ``ImageClassifier`` of a ViT-like backbone whose head
    reads its class (and distillation) token."""
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type=backbone,
            arch=dict(arch),
            img_size=image_size,
            patch_size=4,
            drop_rate=0.,
            drop_path_rate=0.),
        neck=None,
        head=dict(
            type=head,
            num_classes=num_classes,
            in_channels=arch['embed_dims'],
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def swin_classifier(num_classes: int = 10) -> dict:
    """A small Swin (32x32, patch 4, two stages of depth 2, window 4, embed
    32 in 4 heads of 8, then 64 in 8), pooled, with a linear head."""
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='SwinTransformer',
            arch=dict(embed_dims=32, depths=[2, 2], num_heads=[4, 8]),
            img_size=32,
            patch_size=4,
            window_size=4,
            out_indices=(1, ),
            drop_path_rate=0.),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


#: family -> (mmpretrain backbone it exercises, small classifier config).
SMALL_TRANSFORMERS = {
    'ViT': ('VisionTransformer',
            token_classifier('VisionTransformer',
                             'VisionTransformerClsHead')),
    'DeiT': ('DistilledVisionTransformer (class + distillation tokens)',
             token_classifier('DistilledVisionTransformer', 'DeiTClsHead')),
    'DeiT3': ('DeiT3 (layer scales on the attention and FFN branches)',
              token_classifier('DeiT3', 'VisionTransformerClsHead')),
    'Swin': ('SwinTransformer (window attention, patch merging)',
             swin_classifier()),
}


def small_transformer(name: str) -> dict:
    """A copy of the classifier config of ``name``."""
    return copy.deepcopy(SMALL_TRANSFORMERS[name][1])


@torch.no_grad()
def attention_macs(model: nn.Module, run: Callable[[], object],
                   batch_size: int = 1) -> int:
    """Multiply-adds per sample of the attentions' matrix products.

    ``q @ k^T`` and ``attention @ v``: ``2 * tokens^2 * heads * head_dims``
    per attention (per window for Swin's), from the ``qkv`` output that
    actually flows (so a slimmable attention counts its active heads).

    Args:
        model (nn.Module): The network.
        run (Callable): Runs one forward of ``model``.
        batch_size (int): Samples in that forward. Defaults to 1.

    Returns:
        int: Multiply-adds per sample.
    """
    from mmpretrain.models.utils.attention import (MultiheadAttention,
                                                   WindowMSA)
    qkv = {
        id(module.qkv)
        for module in model.modules()
        if isinstance(module, (MultiheadAttention, WindowMSA))
        and hasattr(module, 'qkv')  # Twins' GSA: q and kv apart, not counted
    }
    total = [0]

    def hook(module, args, output):
        if id(module) in qkv:
            tokens, features = output.shape[-2], output.shape[-1] // 3
            total[0] += 2 * tokens * tokens * features * output.shape[0]

    with register_module_forward_hook(hook):
        run()
    return total[0] // batch_size
