"""Channel units of ShuffleNet's shuffled blocks (V2, and V1 with groups).

mmpretrain's ShuffleNetV2 block splits its input in halves by slicing,
concatenates the two branch outputs and shuffles the channels. The channel
tracer cannot follow a slice or a shuffle, so it leaves every layer that
feeds or reads the shuffled tensors whole. The block's forward reads the
channel counts from the tensors (split at ``C // 2``, shuffle of ``C``), so
a narrow block is the same block on fewer channels: what must agree are the
counts. Per stage of ``C`` channels:

* the *half* unit (``C / 2``): the outputs of every branch that is
  concatenated (``branch1`` and the last layer of ``branch2``) and the
  inputs of the blocks' ``branch2`` that read the second half;
* the *trunk* unit (``C``, always twice the half): the inputs of the layers
  that read the stage's shuffled output (the next stage's first block, or
  the last 1x1 convolution).

Both keep the first channels of their layers, so a narrow block
concatenates the first channels of each half and shuffles them: the shuffle
of the narrow block interleaves the same two halves as the whole one.

ShuffleNetV1's block (``ShuffleUnit`` with ``groups > 1``) compresses its
input by a grouped 1x1 convolution to ``G`` groups of ``k`` bottleneck
channels, filters them depthwise, shuffles the ``G`` groups and expands them
by a grouped 1x1 convolution; the tracer follows the block's input and
output but not the shuffle, so it left the bottleneck whole. One unit of
``k`` channels holds the bottleneck, registered once per group (as the
tracer registers a grouped convolution): at a width every group keeps its
first ``m`` channels, the narrow shuffle interleaves them as the whole one
interleaves the first ``m`` of each group, and the expanding convolution
keeps ``G`` groups of ``m`` inputs.
"""
from typing import Callable, Dict, List, Tuple

import torch.nn as nn


def channel_span(name: str, start: int, end: int) -> Dict:
    """Channels ``[start, end)`` of the layer ``name``, for a unit config."""
    return dict(name=name, start=start, end=end)


def conv_module_channels(prefix: str,
                         module: nn.Module,
                         end: int,
                         with_input: bool = False,
                         start: int = 0) -> Tuple[List, List]:
    """Out (and in, for a depthwise conv) channels ``[start, end)`` of a
    ``ConvModule``, and its norm's (both ways)."""
    outputs = [channel_span(f'{prefix}.conv', start, end)]
    inputs = [channel_span(f'{prefix}.conv', start, end)
              ] if with_input else []
    if getattr(module, 'with_norm', False):
        norm = f'{prefix}.{module.norm_name}'
        outputs.append(channel_span(norm, start, end))
        inputs.append(channel_span(norm, start, end))
    return outputs, inputs


def _consumer_inputs(prefix: str, module: nn.Module,
                     channels: int) -> Tuple[List, List]:
    """The channels of the layers that read a stage's shuffled output."""
    from mmcv.cnn import ConvModule
    from mmpretrain.models.backbones.shufflenet_v2 import InvertedResidual
    if isinstance(module, nn.Sequential):
        return _consumer_inputs(f'{prefix}.0', module[0], channels)
    if isinstance(module, InvertedResidual) and module.stride > 1:
        # branch1 starts with a depthwise conv: its outputs follow its inputs.
        outputs, inputs = conv_module_channels(f'{prefix}.branch1.0',
                                                module.branch1[0], channels,
                                                True)
        inputs += [
            channel_span(f'{prefix}.branch1.1.conv', 0, channels),
            channel_span(f'{prefix}.branch2.0.conv', 0, channels)
        ]
        return outputs, inputs
    if isinstance(module, ConvModule):
        return [], [channel_span(f'{prefix}.conv', 0, channels)]
    raise NotImplementedError(type(module).__name__)


def shufflenet_unit_configs(
        model: nn.Module, channels_at: Callable[[int], List[int]]) -> List:
    """Unit configs of every ShuffleNetV2 backbone in ``model``.

    Args:
        model (nn.Module): The supernet.
        channels_at (Callable): Channel count of a unit at every width.

    Returns:
        list[dict]: Configs for ``ChannelUnit.init_from_cfg``, with
        ``init_args`` (``num_channels``, ``candidate_choices``) and
        ``channels``.
    """
    from mmpretrain.models.backbones import ShuffleNetV2
    configs = []
    for name, backbone in model.named_modules():
        if not isinstance(backbone, ShuffleNetV2):
            continue
        prefix = f'{name}.layers' if name else 'layers'
        stages = list(backbone.layers)
        for index, stage in enumerate(stages[:-1]):
            half = stage[0].branch2[2].conv.out_channels
            outputs, inputs = [], []
            for number, block in enumerate(stage):
                block_name = f'{prefix}.{index}.{number}'
                branches = [('branch2.2', block.branch2[2])]
                if block.stride > 1:
                    branches.append(('branch1.1', block.branch1[1]))
                else:
                    inputs.append(
                        channel_span(f'{block_name}.branch2.0.conv', 0,
                                     half))
                for branch, module in branches:
                    out, norm_in = conv_module_channels(
                        f'{block_name}.{branch}', module, half, False)
                    outputs += out
                    inputs += norm_in
            half_choices = channels_at(half)
            configs.append(
                unit_config(half, half_choices, outputs, inputs))
            trunk_out, trunk_in = _consumer_inputs(f'{prefix}.{index + 1}',
                                                   stages[index + 1],
                                                   2 * half)
            configs.append(
                unit_config(2 * half, [2 * count for count in half_choices],
                        trunk_out, trunk_in))
    return configs


def _per_group(name: str, groups: int, per_group: int) -> List[Dict]:
    """Channels of layer ``name``, one span per group."""
    return [
        channel_span(name, group * per_group, (group + 1) * per_group)
        for group in range(groups)
    ]


def shufflenet_v1_unit_configs(
        model: nn.Module, channels_at: Callable[[int], List[int]]) -> List:
    """Bottleneck unit configs of every shuffled ShuffleNetV1 block in
    ``model`` (``groups > 1``; with one group the tracer follows the block).

    Args:
        model (nn.Module): The supernet.
        channels_at (Callable): Channel count of a unit at every width.

    Returns:
        list[dict]: Configs for ``ChannelUnit.init_from_cfg``.
    """
    from mmpretrain.models.backbones.shufflenet_v1 import ShuffleUnit
    configs = []
    for name, block in model.named_modules():
        if not isinstance(block, ShuffleUnit) or block.groups == 1:
            continue
        groups = block.groups
        per_group = block.bottleneck_channels // groups
        compress = f'{name}.g_conv_1x1_compress'
        depthwise = f'{name}.depthwise_conv3x3_bn'
        both = [f'{compress}.{block.g_conv_1x1_compress.norm_name}',
                f'{depthwise}.conv',
                f'{depthwise}.{block.depthwise_conv3x3_bn.norm_name}']
        outputs = [f'{compress}.conv', *both]
        inputs = [f'{name}.g_conv_1x1_expand.conv', *both]
        configs.append(
            unit_config(
                per_group, channels_at(per_group),
                [span for layer in outputs
                 for span in _per_group(layer, groups, per_group)],
                [span for layer in inputs
                 for span in _per_group(layer, groups, per_group)]))
    return configs


def unit_config(num_channels: int, choices: List[int], outputs: List,
                inputs: List) -> Dict:
    """A config for ``ChannelUnit.init_from_cfg`` with its choices."""
    return dict(
        init_args=dict(
            num_channels=num_channels,
            candidate_choices=list(choices),
            choice_mode='number'),
        channels=dict(input_related=inputs, output_related=outputs))
