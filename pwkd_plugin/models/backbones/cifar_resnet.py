"""CIFAR ResNets of the CRD / DKD knowledge-distillation benchmarks.

The structure follows ``models/resnet.py`` of RepDistiller (CRD,
https://github.com/HobbitLong/RepDistiller) and ``mdistiller/models/cifar/
resnet.py`` of mdistiller (DKD), which is a copy of it. These networks differ
from mmpretrain's ``ResNet_CIFAR`` (64-channel stem, ImageNet-style widths):
they have a 16-channel (32 for the ``x4`` variants) 3x3 stem and three stages
of ``n`` BasicBlocks, with ``depth = 6n + 2``.

The average pooling and the fully connected classifier of the original code
are provided by mmpretrain's ``GlobalAveragePooling`` neck and
``LinearClsHead`` when the backbone is used inside an ``ImageClassifier``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmrazor.registry import MODELS
from ..utils import slim_channels


def _normalize_out_indices(out_indices: Union[int, Sequence[int]],
                           num_stages: int) -> Tuple[int, ...]:
    """Turn ``out_indices`` into a sorted tuple of non-negative indices.

    Args:
        out_indices (int | Sequence[int]): Requested output indices; negative
            values count from the end.
        num_stages (int): Number of stages that can be output.

    Returns:
        tuple[int]: The normalized indices.
    """
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    out = []
    for index in out_indices:
        if not -num_stages <= index < num_stages:
            raise ValueError(f'Invalid out_indices {index}: must be in '
                             f'[{-num_stages}, {num_stages - 1}].')
        out.append(index % num_stages)
    return tuple(sorted(set(out)))


def _width_scaler(width_ratio: float, width_divisor: int,
                  width_min_channels: int, owner: str):
    """Validate the width arguments of a backbone and return the function
    that maps a channel count of the whole network to its count at
    ``width_ratio`` (:func:`pwkd_plugin.models.utils.slim_channels`, the rule
    of the slimmable teacher's mutator, so a backbone built at a width has
    exactly the shapes of that width of a slimmable teacher).

    Args:
        width_ratio (float): Width ratio in (0, 1].
        width_divisor (int): Channel counts are multiples of it.
        width_min_channels (int): Least channels of a layer.
        owner (str): The backbone's name, for error messages.

    Returns:
        Callable[[int], int]: ``channels -> channels at width_ratio``.
    """
    if isinstance(width_ratio, bool) or not isinstance(
            width_ratio, (int, float)) or not 0 < width_ratio <= 1:
        raise ValueError(f'{owner}: width_ratio must lie in (0, 1], got '
                         f'{width_ratio!r}')
    for key, value in (('width_divisor', width_divisor),
                       ('width_min_channels', width_min_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{owner}: {key} must be a positive integer, '
                             f'got {value!r}')

    def scale(num_channels: int) -> int:
        return slim_channels(num_channels, width_ratio, width_divisor,
                             width_min_channels)

    return scale


class CIFARBasicBlock(BaseModule):
    """BasicBlock of the CRD CIFAR ResNet.

    ``conv3x3(stride) - BN - ReLU - conv3x3 - BN``, added to the shortcut
    (identity, or 1x1 conv with stride + BN when the shape changes), followed
    by a ReLU.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv and of the shortcut conv.
            Defaults to 1.
        with_downsample (bool, optional): Whether the shortcut is a 1x1 conv
            + BN. Defaults to None: when the shape changes (``stride != 1``
            or ``in_channels != out_channels``). A narrowed network passes
            the decision of the whole one, whose channel counts may differ
            where the narrowed ones coincide.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """

    expansion = 1

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None,
                 with_downsample: Optional[bool] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if with_downsample is None:
            with_downsample = stride != 1 or in_channels != out_channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.conv1 = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(
            out_channels,
            out_channels,
            kernel_size=3,
            stride=1,
            padding=1,
            bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if with_downsample:
            self.downsample = nn.Sequential(
                nn.Conv2d(
                    in_channels,
                    out_channels,
                    kernel_size=1,
                    stride=stride,
                    bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forward one block.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, H, W).

        Returns:
            torch.Tensor: Output of shape (N, C_out, H / stride, W / stride).
        """
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # ``downsample`` is fixed at construction: this is not data-dependent
        # control flow, so torch.fx traces it.
        identity = x if self.downsample is None else self.downsample(x)
        out = out + identity
        return F.relu(out)


@MODELS.register_module()
class CIFARResNet(BaseModule):
    """ResNet for CIFAR of the CRD / DKD knowledge-distillation benchmarks.

    ``depth = 6n + 2``: a 3x3 stem conv + BN + ReLU, then three stages of
    ``n`` :class:`CIFARBasicBlock` with strides 1, 2, 2; no max-pool. The
    ``x4`` variants multiply every width by 4 but keep a 2x wider stem
    (32 channels), exactly as ``resnet8x4`` / ``resnet32x4`` of RepDistiller.

    Args:
        arch (str): One of ``'resnet8'``, ``'resnet14'``, ``'resnet20'``,
            ``'resnet32'``, ``'resnet44'``, ``'resnet56'``, ``'resnet110'``,
            ``'resnet8x4'``, ``'resnet32x4'``. Defaults to ``'resnet32x4'``.
        in_channels (int): Number of input image channels. Defaults to 3.
        out_indices (int | Sequence[int]): Stages (0, 1, 2) whose output
            feature maps are returned; negative values count from the end.
            Defaults to ``(2, )``, the last stage only.
        init_cfg (dict | list[dict], optional): Initialization config. The
            default reproduces the CRD init: Kaiming-normal (``fan_out``,
            ReLU) for convs, weight 1 / bias 0 for BN.
        width_ratio (float): Width ratio in (0, 1]: every channel count ``n``
            becomes ``slim_channels(n, width_ratio, width_divisor,
            width_min_channels)``, the shapes of that width of a slimmable
            teacher. Defaults to 1.0 (the benchmark network).
        width_divisor (int): Narrowed channel counts are multiples of it.
            Defaults to 1.
        width_min_channels (int): Least channels of a narrowed layer.
            Defaults to 1.

    Example:
        >>> import torch
        >>> import pwkd_plugin  # noqa: F401
        >>> from pwkd_plugin.models.backbones import CIFARResNet
        >>> model = CIFARResNet('resnet8x4', out_indices=(0, 1, 2))
        >>> for out in model(torch.rand(1, 3, 32, 32)):
        ...     print(tuple(out.shape))
        (1, 64, 32, 32)
        (1, 128, 16, 16)
        (1, 256, 8, 8)
    """

    # arch: (depth, (stem, stage1, stage2, stage3) channels)
    arch_settings = {
        'resnet8': (8, (16, 16, 32, 64)),
        'resnet14': (14, (16, 16, 32, 64)),
        'resnet20': (20, (16, 16, 32, 64)),
        'resnet32': (32, (16, 16, 32, 64)),
        'resnet44': (44, (16, 16, 32, 64)),
        'resnet56': (56, (16, 16, 32, 64)),
        'resnet110': (110, (16, 16, 32, 64)),
        'resnet8x4': (8, (32, 64, 128, 256)),
        'resnet32x4': (32, (32, 64, 128, 256)),
    }
    strides = (1, 2, 2)

    def __init__(self,
                 arch: str = 'resnet32x4',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (2, ),
                 init_cfg: Optional[Union[Dict, List[Dict]]] = [
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(
                         type='Constant',
                         val=1,
                         layer=['_BatchNorm', 'GroupNorm'])
                 ],
                 width_ratio: float = 1.0,
                 width_divisor: int = 1,
                 width_min_channels: int = 1) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(
                f'Invalid arch {arch!r} for {type(self).__name__}; valid '
                f'archs are {sorted(self.arch_settings)}.')
        scale = _width_scaler(width_ratio, width_divisor, width_min_channels,
                              type(self).__name__)
        self.width_ratio = width_ratio
        self.arch = arch
        depth, full_channels = self.arch_settings[arch]
        channels = tuple(scale(c) for c in full_channels)
        assert (depth - 2) % 6 == 0, depth
        self.depth = depth
        self.num_blocks = (depth - 2) // 6
        self.stem_channels = channels[0]
        self.stage_channels = tuple(channels[1:])
        self.out_indices = _normalize_out_indices(out_indices,
                                                  len(self.stage_channels))

        self.conv1 = nn.Conv2d(
            in_channels,
            self.stem_channels,
            kernel_size=3,
            padding=1,
            bias=False)
        self.bn1 = nn.BatchNorm2d(self.stem_channels)

        self.res_layers = []
        _in_channels = self.stem_channels
        _full_in = full_channels[0]
        for i, (out_channels, full_out, stride) in enumerate(
                zip(self.stage_channels, full_channels[1:], self.strides)):
            blocks = []
            for j in range(self.num_blocks):
                block_stride = stride if j == 0 else 1
                blocks.append(
                    CIFARBasicBlock(
                        _in_channels,
                        out_channels,
                        stride=block_stride,
                        with_downsample=block_stride != 1
                        or _full_in != full_out))
                _in_channels = out_channels
                _full_in = full_out
            layer_name = f'layer{i + 1}'
            self.add_module(layer_name, nn.Sequential(*blocks))
            self.res_layers.append(layer_name)
        self.feat_dim = self.stage_channels[-1]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Forward the backbone.

        Args:
            x (torch.Tensor): Images of shape (N, C, H, W).

        Returns:
            tuple[torch.Tensor]: Output feature maps of the stages in
            ``out_indices``.
        """
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
