"""Channel units of ConvNeXt's stages (the residual stream of each stage).

The channel tracer follows neither mmpretrain's ``LayerNorm2d`` (it permutes
inside its forward) nor the layer scale (a parameter multiplied into the
branch), so it slices only the expanded channels inside each block and
leaves every stage's residual stream whole. Per stage of ``C`` channels one
unit holds the stream: the convolution that opens the stage and its norm,
in every block the depthwise convolution, the norm, the first pointwise
layer's inputs, the second's outputs and the layer scale, then what reads
the stage (the next stage's norm and downsampling convolution, the stage's
output norm, the classifier's linear layer).

ConvNeXt-V2 blocks (``use_grn=True``) normalise their expanded channels
by a global response (``GRN``, a mean over the channels), which the tracer
does not follow either: per such block one unit holds the expanded
channels (the first pointwise layer's outputs, the GRN, the second's
inputs).
"""
from typing import Callable, Dict, List

import torch.nn as nn

from .shuffle_units import unit_config


def _both(name: str, channels: int) -> Dict:
    return dict(name=name, start=0, end=channels)


def _stage_channels(prefix: str, backbone: nn.Module, index: int,
                    channels: int):
    """(outputs, inputs) of the layers of stage ``index``."""
    head = f'{prefix}downsample_layers.{index}'
    both = []
    if index == 0:
        outputs = [_both(f'{head}.0', channels)]
        both.append(f'{head}.1')
    else:
        outputs = [_both(f'{head}.1', channels)]
    inputs = []
    for number, block in enumerate(backbone.stages[index]):
        name = f'{prefix}stages.{index}.{number}'
        both += [f'{name}.depthwise_conv', f'{name}.norm']
        if block.gamma is not None:
            both.append(name)
        outputs.append(_both(f'{name}.pointwise_conv2', channels))
        inputs.append(_both(f'{name}.pointwise_conv1', channels))
    if index + 1 < len(backbone.stages):
        both.append(f'{prefix}downsample_layers.{index + 1}.0')
        inputs.append(
            _both(f'{prefix}downsample_layers.{index + 1}.1', channels))
    if index in backbone.out_indices:
        both.append(f'{prefix}norm{index}')
    outputs += [_both(name, channels) for name in both]
    inputs += [_both(name, channels) for name in both]
    return outputs, inputs


def _grn_units(prefix: str, backbone: nn.Module, index: int,
               channels_at: Callable[[int], List[int]]) -> List[Dict]:
    """The expanded-channel unit of each GRN block of stage ``index``."""
    configs = []
    for number, block in enumerate(backbone.stages[index]):
        if block.grn is None:
            continue
        name = f'{prefix}stages.{index}.{number}'
        hidden = block.grn.in_channels
        grn = _both(f'{name}.grn', hidden)
        configs.append(
            unit_config(hidden, channels_at(hidden),
                        [_both(f'{name}.pointwise_conv1', hidden), grn],
                        [_both(f'{name}.pointwise_conv2', hidden), grn]))
    return configs


def _classifier_input(model: nn.Module, prefix: str, backbone: nn.Module,
                      channels: int) -> List[Dict]:
    """The classifier layer that reads the last stage, if there is one."""
    last = len(backbone.stages) - 1
    if prefix != 'backbone.' or list(backbone.out_indices)[-1:] != [last]:
        return []
    neck = getattr(model, 'neck', None)
    fc = getattr(getattr(model, 'head', None), 'fc', None)
    keeps_channels = neck is None or type(neck).__name__ in (
        'GlobalAveragePooling', )
    if keeps_channels and isinstance(fc, nn.Linear) and \
            fc.in_features == channels:
        return [_both('head.fc', channels)]
    return []


def convnext_unit_configs(
        model: nn.Module, channels_at: Callable[[int], List[int]]) -> List:
    """Unit configs of every ConvNeXt (V1 and V2) backbone in ``model``.

    Args:
        model (nn.Module): The supernet.
        channels_at (Callable): Channel count of a unit at every width.

    Returns:
        list[dict]: Configs for ``ChannelUnit.init_from_cfg``.
    """
    from mmpretrain.models.backbones import ConvNeXt
    configs = []
    for name, backbone in model.named_modules():
        if not isinstance(backbone, ConvNeXt):
            continue
        prefix = f'{name}.' if name else ''
        for index, channels in enumerate(backbone.channels):
            outputs, inputs = _stage_channels(prefix, backbone, index,
                                              channels)
            if index == len(backbone.stages) - 1:
                inputs += _classifier_input(model, prefix, backbone, channels)
            configs.append(
                unit_config(channels, channels_at(channels), outputs,
                            inputs))
            configs += _grn_units(prefix, backbone, index, channels_at)
    return configs
