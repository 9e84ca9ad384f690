"""CIFAR VGGs (with batch norm) of the CRD / DKD distillation benchmarks.

The structure follows ``models/vgg.py`` of RepDistiller (CRD,
https://github.com/HobbitLong/RepDistiller) and ``mdistiller/models/cifar/
vgg.py`` of mdistiller (DKD): five conv groups with 64, 128, 256, 512, 512
channels made of ``conv3x3 (pad 1, with bias) - BN - ReLU`` layers, with a
2x2 max-pool after groups 0, 1 and 2. The parameter names (``block0.0.weight``
...) are those of the original code.

CRD applies the max-pool after group 3 only for 64x64 inputs (``if h == 64:
x = self.pool3(x)`` in its ``forward``), so on 32x32 CIFAR images groups 3
and 4 both run at 4x4. That input-dependent branch cannot be traced by
torch.fx, so here it is the constructor argument ``with_pool3``; its default
(``False``) reproduces CRD on CIFAR.

The final ``AdaptiveAvgPool2d`` + ``Linear(512, num_classes)`` of the original
code are provided by mmpretrain's ``GlobalAveragePooling`` neck and
``LinearClsHead`` when the backbone is used inside an ``ImageClassifier``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmrazor.registry import MODELS
from .cifar_resnet import _normalize_out_indices, _width_scaler


@MODELS.register_module()
class CIFARVGG(BaseModule):
    """VGG with batch norm for CIFAR of the CRD / DKD distillation
    benchmarks.

    Group ``i`` is an ``nn.Sequential`` ``block{i}`` of ``conv3x3 - BN - ReLU``
    layers whose last ReLU is applied in ``forward`` (as in CRD, which drops
    it from the ``Sequential`` to expose pre-activation features); the output
    of each group after its ReLU and before its max-pool is the group's
    feature map.

    Args:
        arch (str): One of ``'vgg8'``, ``'vgg11'``, ``'vgg13'``, ``'vgg16'``,
            ``'vgg19'``. Defaults to ``'vgg13'``.
        in_channels (int): Number of input image channels. Defaults to 3.
        out_indices (int | Sequence[int]): Groups (0 to 4) whose output
            feature maps (after ReLU, before max-pool) are returned; negative
            values count from the end. Defaults to ``(4, )``, the last group
            only.
        with_pool3 (bool): Whether to max-pool after group 3. CRD does so only
            for 64x64 inputs; ``False`` reproduces CRD on 32x32 CIFAR images
            (last feature map 4x4), ``True`` reproduces it on 64x64 images.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config. The
            default reproduces the CRD init: Kaiming-normal (``fan_out``,
            ReLU) for convs with zero bias, weight 1 / bias 0 for BN.
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
        >>> from pwkd_plugin.models.backbones import CIFARVGG
        >>> model = CIFARVGG('vgg8', out_indices=(0, 1, 2, 3, 4))
        >>> for out in model(torch.rand(1, 3, 32, 32)):
        ...     print(tuple(out.shape))
        (1, 64, 32, 32)
        (1, 128, 16, 16)
        (1, 256, 8, 8)
        (1, 512, 4, 4)
        (1, 512, 4, 4)
    """

    # arch: number of conv layers in each of the five groups
    arch_settings = {
        'vgg8': (1, 1, 1, 1, 1),
        'vgg11': (1, 1, 2, 2, 2),
        'vgg13': (2, 2, 2, 2, 2),
        'vgg16': (2, 2, 3, 3, 3),
        'vgg19': (2, 2, 4, 4, 4),
    }
    group_channels = (64, 128, 256, 512, 512)

    def __init__(self,
                 arch: str = 'vgg13',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (4, ),
                 with_pool3: bool = False,
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
        group_channels = tuple(scale(c) for c in self.group_channels)
        self.arch = arch
        self.stage_blocks = self.arch_settings[arch]
        self.with_pool3 = with_pool3
        self.out_indices = _normalize_out_indices(out_indices,
                                                  len(self.stage_blocks))

        _in_channels = in_channels
        for i, (num_convs, channels) in enumerate(
                zip(self.stage_blocks, group_channels)):
            layers = []
            for _ in range(num_convs):
                layers += [
                    nn.Conv2d(_in_channels, channels, kernel_size=3,
                              padding=1),
                    nn.BatchNorm2d(channels),
                    nn.ReLU(inplace=False),
                ]
                _in_channels = channels
            # As in CRD: the last ReLU is applied in ``forward``; dropping it
            # keeps the ``Sequential`` indices (parameter names) of CRD.
            self.add_module(f'block{i}', nn.Sequential(*layers[:-1]))
        self.pool_indices = (0, 1, 2, 3) if with_pool3 else (0, 1, 2)
        for i in self.pool_indices:
            self.add_module(f'pool{i}', nn.MaxPool2d(kernel_size=2, stride=2))
        self.feat_dim = group_channels[-1]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Forward the backbone.

        Args:
            x (torch.Tensor): Images of shape (N, C, H, W).

        Returns:
            tuple[torch.Tensor]: Output feature maps (after ReLU, before
            max-pool) of the groups in ``out_indices``.
        """
        outs = []
        for i in range(len(self.stage_blocks)):
            x = F.relu(getattr(self, f'block{i}')(x))
            if i in self.out_indices:
                outs.append(x)
            if i in self.pool_indices:
                x = getattr(self, f'pool{i}')(x)
        return tuple(outs)
