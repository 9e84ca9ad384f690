"""Channel units of CSPNet's stages (mmpretrain's ``CSPStage``).

A CSP stage expands its input, splits it in halves by indexing
(``x[:, :split]``, ``x[:, split:]`` with ``split = C // 2``), runs the
blocks on the second half, and concatenates the first half with the blocks'
transition output before the final convolution. The channel tracer follows
neither the indexing nor what the concatenation feeds, so it leaves the
expansion, the blocks' residual stream and the transition whole. The forward
reads the split from the tensor, so a narrow stage is the same stage on
fewer channels as long as both halves keep the same count. Per stage with
halves of ``h`` channels:

* the *first half* unit: channels ``[0, h)`` of the expansion (convolution
  and norm) and of the final convolution's input;
* the *second half* unit: channels ``[h, 2h)`` of the expansion, the
  residual stream of the blocks (every block's first convolution's input,
  its last convolution's output and norm) and the transition's input;
* the *transition* unit: the transition's output and norm, and channels
  ``[h, 2h)`` of the final convolution's input.

Both halves have ``h`` channels, so they keep the same count at every
width: the narrow expansion's first channels of each half are what the
narrow split gives each side.
"""
from typing import Callable, Dict, List, Optional, Tuple

import torch.nn as nn

from .shuffle_units import channel_span, conv_module_channels, unit_config


def _residual_stream(prefix: str, block: nn.Module) -> Optional[Tuple]:
    """``(first conv, last conv, its norm, in channels, out channels)`` of a
    block's residual stream: Darknet's bottleneck (``ConvModule``s) and the
    ResNet / ResNeXt bottlenecks of CSPResNet and CSPResNeXt (``conv3``);
    None for a block of another kind or with a downsampling shortcut."""
    from mmcv.cnn import ConvModule
    if getattr(block, 'downsample', None) is not None:
        return None
    conv1 = getattr(block, 'conv1', None)
    if isinstance(conv1, ConvModule):
        name, last = [(name, child) for name, child in block.named_children()
                      if isinstance(child, ConvModule)][-1]
        norm = f'{prefix}.{name}.{last.norm_name}' if last.with_norm else None
        return (f'{prefix}.conv1.conv', f'{prefix}.{name}.conv', norm,
                conv1.conv.in_channels, last.conv.out_channels)
    if isinstance(conv1, nn.Conv2d) and hasattr(block, 'norm3_name'):
        return (f'{prefix}.conv1', f'{prefix}.conv3',
                f'{prefix}.{block.norm3_name}', conv1.in_channels,
                block.conv3.out_channels)
    return None


def _stage_configs(prefix: str, stage: nn.Module, streams: List[Tuple],
                   channels_at: Callable[[int], List[int]]) -> List[Dict]:
    """The three units of a stage whose blocks have ``streams``
    (:func:`_residual_stream`)."""
    half = stage.atfer_blocks_conv.conv.in_channels
    expand = f'{prefix}.expand_conv'
    final_in = f'{prefix}.final_conv.conv'

    first_out, first_in = conv_module_channels(expand, stage.expand_conv,
                                               half)
    first_in.append(channel_span(final_in, 0, half))

    second_out, second_in = conv_module_channels(
        expand, stage.expand_conv, 2 * half, start=half)
    for first, last, norm, _, _ in streams:
        second_in.append(channel_span(first, 0, half))
        second_out.append(channel_span(last, 0, half))
        if norm is not None:
            second_out.append(channel_span(norm, 0, half))
            second_in.append(channel_span(norm, 0, half))
    second_in.append(
        channel_span(f'{prefix}.atfer_blocks_conv.conv', 0, half))

    transition_out, transition_in = conv_module_channels(
        f'{prefix}.atfer_blocks_conv', stage.atfer_blocks_conv, half)
    transition_in.append(channel_span(final_in, half, 2 * half))

    choices = channels_at(half)
    return [
        unit_config(half, choices, first_out, first_in),
        unit_config(half, choices, second_out, second_in),
        unit_config(half, choices, transition_out, transition_in),
    ]


def csp_unit_configs(model: nn.Module,
                     channels_at: Callable[[int], List[int]]) -> List:
    """Unit configs of every ``CSPStage`` in ``model`` whose blocks keep a
    residual stream of the half's width (CSPDarkNet, CSPResNet, CSPResNeXt).

    Args:
        model (nn.Module): The supernet.
        channels_at (Callable): Channel count of a unit at every width.

    Returns:
        list[dict]: Configs for ``ChannelUnit.init_from_cfg``.
    """
    from mmpretrain.models.backbones.cspnet import CSPStage
    configs = []
    for name, stage in model.named_modules():
        if not isinstance(stage, CSPStage):
            continue
        half = stage.atfer_blocks_conv.conv.in_channels
        streams = [
            _residual_stream(f'{name}.blocks.{number}', block)
            for number, block in enumerate(stage.blocks)
        ]
        if not all(stream is not None and stream[3:] == (half, half)
                   for stream in streams):
            continue  # left whole: refused naming the stage
        configs += _stage_configs(name, stage, streams, channels_at)
    return configs
