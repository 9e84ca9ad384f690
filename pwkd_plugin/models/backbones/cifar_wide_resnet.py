"""CIFAR Wide ResNets of the CRD / DKD knowledge-distillation benchmarks.

mmrazor's :class:`mmrazor.models.architectures.backbones.wideresnet.WideResNet`
already builds exactly the pre-activation WRN of RepDistiller (CRD,
``models/wrn.py``) and mdistiller (DKD, ``mdistiller/models/cifar/wrn.py``):

* conv1 3 -> 16 (3x3, no BN);
* three groups of ``n = (depth - 4) / 6`` blocks with ``16k``, ``32k``,
  ``64k`` channels and strides 1, 2, 2;
* block ``BN - ReLU - conv3x3(stride) - BN - ReLU - conv3x3``; when the input
  and output shapes differ, the pre-activation ``relu(bn1(x))`` feeds both
  the conv path and a bias-free 1x1 conv shortcut (CRD's ``equalInOut``
  logic), otherwise the shortcut is the raw input;
* a final BN + ReLU; no dropout.

With the same weights it gives bit-identical outputs (checked in train and
eval mode for every arch below against a transcription of CRD's ``wrn.py``),
so this module does not reimplement the network. :class:`CIFARWideResNet` is
a thin subclass that maps the benchmark arch names to ``(depth,
widen_factor)``, and adds ``out_indices`` (mmrazor's ``WideResNet`` only
returns the last feature map). Its parameter names are those of mmrazor's
``WideResNet``.

A narrowed network (``width_ratio < 1``) hooks the two construction steps of
``WideResNet`` that take channel counts (``_make_stem_layer`` and
``make_res_layer``) and rebuilds its final norm, so that every channel count
``n`` of the whole network becomes ``slim_channels(n, width_ratio, ...)``;
the module structure and parameter names stay those of ``WideResNet``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmrazor.models.architectures.backbones.wideresnet import WideResNet
from mmrazor.registry import MODELS

from .cifar_resnet import _normalize_out_indices, _width_scaler


@MODELS.register_module()
class CIFARWideResNet(WideResNet):
    """Wide ResNet for CIFAR of the CRD / DKD knowledge-distillation
    benchmarks.

    A thin wrapper of mmrazor's ``WideResNet`` (which matches the CRD
    structure exactly) that selects ``depth`` and ``widen_factor`` from a
    benchmark arch name.

    Args:
        arch (str): One of ``'wrn_16_1'``, ``'wrn_16_2'``, ``'wrn_40_1'``,
            ``'wrn_40_2'``, ``'wrn_28_4'`` (``wrn_<depth>_<widen_factor>``).
            Defaults to ``'wrn_40_2'``.
        in_channels (int): Number of input image channels. Defaults to 3.
        out_indices (int | Sequence[int]): Groups (0, 1, 2) whose output
            feature maps are returned; negative values count from the end.
            Index 2 returns the last group's output after the final BN + ReLU
            (what the classifier sees); indices 0 and 1 return the raw group
            outputs, as CRD's ``feat`` list does. Defaults to ``(2, )``.
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
        >>> from pwkd_plugin.models.backbones import CIFARWideResNet
        >>> model = CIFARWideResNet('wrn_40_2', out_indices=(0, 1, 2))
        >>> for out in model(torch.rand(1, 3, 32, 32)):
        ...     print(tuple(out.shape))
        (1, 32, 32, 32)
        (1, 64, 16, 16)
        (1, 128, 8, 8)
    """

    # arch: (depth, widen_factor)
    arch_settings = {
        'wrn_16_1': (16, 1),
        'wrn_16_2': (16, 2),
        'wrn_40_1': (40, 1),
        'wrn_40_2': (40, 2),
        'wrn_28_4': (28, 4),
    }

    def __init__(self,
                 arch: str = 'wrn_40_2',
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
        if arch not in self.arch_settings:
            raise ValueError(
                f'Invalid arch {arch!r} for {type(self).__name__}; valid '
                f'archs are {sorted(self.arch_settings)}.')
        # Read by the construction hooks below, which WideResNet.__init__
        # calls (a plain function, so nn.Module allows it before __init__).
        self._scale_channels = _width_scaler(width_ratio, width_divisor,
                                             width_min_channels,
                                             type(self).__name__)
        depth, widen_factor = self.arch_settings[arch]
        super().__init__(
            depth=depth,
            widen_factor=widen_factor,
            in_channels=in_channels,
            stem_channels=16,
            base_channels=16,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            zero_init_residual=False,
            init_cfg=init_cfg)
        self.arch = arch
        self.width_ratio = width_ratio
        if width_ratio < 1:
            # WideResNet builds its final norm on the whole width's channels.
            self.norm1_name, norm1 = build_norm_layer(
                self.norm_cfg,
                self._scale_channels(self.norm1.num_features),
                postfix=1)
            self.add_module(self.norm1_name, norm1)
        self.out_indices = _normalize_out_indices(out_indices,
                                                  len(self.res_layers))

    def _make_stem_layer(self, in_channels: int, base_channels: int) -> None:
        super()._make_stem_layer(in_channels,
                                 self._scale_channels(base_channels))

    def make_res_layer(self, **kwargs):
        kwargs['in_channels'] = self._scale_channels(kwargs['in_channels'])
        kwargs['out_channels'] = self._scale_channels(kwargs['out_channels'])
        return super().make_res_layer(**kwargs)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Forward the backbone.

        Args:
            x (torch.Tensor): Images of shape (N, C, H, W).

        Returns:
            tuple[torch.Tensor]: Output feature maps of the groups in
            ``out_indices`` (the last one after the final BN + ReLU).
        """
        x = self.conv1(x)
        outs = []
        last = len(self.res_layers) - 1
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i == last:
                x = self.relu(self.norm1(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
