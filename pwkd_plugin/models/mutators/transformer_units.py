"""Channel units of mmpretrain's Swin Transformer, and the head count of an
attention at a width (:func:`slim_heads`, for every traced attention).

ViT, DeiT and DeiT III are traced by the channel tracer's general rules
(their tokens: :mod:`.token_channels`; heads: :mod:`.head_channels`). Swin
is not, for two reasons the tracer's rules do not cover (its patch
merging's ``nn.Unfold``, ``4 * C`` features from ``C``, they now follow:
:mod:`.unfold_channels`):

* mmpretrain's ``WindowMSA`` reshapes ``qkv``'s output into ``(3, heads,
  head_dims)`` and multiplies q by k, so the tracer binds q, k and v and the
  relative position bias (a table gathered by index: a parameter of
  ``heads`` columns) into one tensor and loses the stream at the bias;
* every stage keeps the first stage's ratio of heads (a patch merging
  doubles the channels): stage ``i`` takes ``heads_0 * C_i / C_0`` heads,
  not its own ``slim_heads``, which the tracer's units (one per stage, apart
  at the merging's linear layer) cannot tie; mmpretrain's Swin config
  expresses only such widths (``embed_dims`` doubling stage by stage), so
  without it no width would export.

Width for Swin is each stage's embedding dimension, its number of heads
(each head keeps its ``head_dims``) and its MLP hidden size, at the same
depth. Per stage: the *embedding* unit (the stage's stream: the patch
embedding's projection or the previous merging's reduction, every LayerNorm
on it, the inputs of every window attention's ``qkv`` and every FFN's first
layer, the outputs of every ``proj`` and every FFN's last layer); one
*heads* unit per attention (the ``qkv`` outputs as three spans, the ``proj``
inputs and the attention itself); one *hidden* unit per FFN; and one unit of
the merging's ``4 * C`` features.
"""
import math
from typing import Callable, Dict, List, Tuple

import torch.nn as nn

from ..utils import slim_channels
from .shuffle_units import channel_span, unit_config


def slim_heads(num_heads: int, head_dims: int, width: float,
               divisor: int = 1, min_channels: int = 1) -> int:
    """Head count of an attention at a width ratio.

    ``width * num_heads`` rounded half up, at least one head, all heads at
    width 1.0; rounded up to a count whose ``heads * head_dims`` is a
    multiple of ``divisor`` and at least ``min_channels``.

    Args:
        num_heads (int): Heads of the whole attention.
        head_dims (int): Features of one head (kept at every width).
        width (float): Width ratio in (0, 1].
        divisor (int): ``heads * head_dims`` is a multiple of it.
            Defaults to 1.
        min_channels (int): Least ``heads * head_dims``. Defaults to 1.

    Returns:
        int: The head count.
    """
    step = divisor // math.gcd(divisor, head_dims)
    least = -(-min_channels // head_dims)
    return slim_channels(num_heads, width, step, least)


def _linears(module: nn.Module, prefix: str) -> List[Tuple[str, nn.Linear]]:
    return [(f'{prefix}.{name}', layer)
            for name, layer in module.named_modules()
            if isinstance(layer, nn.Linear)]


def _ffn_units(prefix: str, ffn: nn.Module,
               channels_at: Callable[[int], List[int]]):
    """(first input, last output, hidden unit configs) of an FFN."""
    linears = _linears(ffn, prefix)
    configs = []
    for (name, layer), (next_name, _) in zip(linears, linears[1:]):
        count = layer.out_features
        configs.append(
            unit_config(count, channels_at(count),
                        [channel_span(name, 0, count)],
                        [channel_span(next_name, 0, count)]))
    return linears[0][0], linears[-1][0], configs


def head_dims_of(attn: nn.Module) -> int:
    """The features of one head of an mmpretrain attention."""
    return getattr(attn, 'head_dims', None) or \
        attn.embed_dims // attn.num_heads


def _heads_unit(prefix: str, attn: nn.Module, heads: List[int]) -> Dict:
    inner = attn.num_heads * head_dims_of(attn)
    outputs = [
        channel_span(f'{prefix}.qkv', part * inner, (part + 1) * inner)
        for part in range(3)
    ] + [channel_span(prefix, 0, inner)]
    inputs = [channel_span(f'{prefix}.proj', 0, inner),
              channel_span(prefix, 0, inner)]
    return unit_config(inner, [h * head_dims_of(attn) for h in heads],
                       outputs, inputs)


def _swin_stage(prefix: str, backbone: nn.Module, index: int, counts: List,
                channels_at: Callable[[int], List[int]]):
    """(unit config of stage ``index``'s stream, heads and hidden units)."""
    stage = backbone.stages[index]
    channels = stage.blocks[0].norm1.normalized_shape[0]
    name = f'{prefix}stages.{index}'
    both = []
    if index == 0:
        outputs = [channel_span(f'{prefix}patch_embed.projection', 0,
                                channels)]
        if isinstance(backbone.patch_embed.norm, nn.LayerNorm):
            both.append(f'{prefix}patch_embed.norm')
        if prefix:
            both.append(prefix[:-1])
    else:
        outputs = [channel_span(
            f'{prefix}stages.{index - 1}.downsample.reduction', 0, channels)]
    inputs, configs = [], []
    for number, block in enumerate(stage.blocks):
        block_name = f'{name}.blocks.{number}'
        both += [f'{block_name}.norm1', f'{block_name}.norm2']
        msa = f'{block_name}.attn.w_msa'
        inputs.append(channel_span(f'{msa}.qkv', 0, channels))
        outputs.append(channel_span(f'{msa}.proj', 0, channels))
        configs.append(_heads_unit(msa, block.attn.w_msa, [
            count // head_dims_of(block.attn.w_msa) for count in counts
        ]))
        hidden = block.ffn.feedforward_channels
        ffn_in, ffn_out, _ = _ffn_units(f'{block_name}.ffn', block.ffn,
                                        channels_at)
        configs.append(
            unit_config(hidden, [count * hidden // channels
                                 for count in counts],
                        [channel_span(ffn_in, 0, hidden)],
                        [channel_span(ffn_out, 0, hidden)]))
        inputs.append(channel_span(ffn_in, 0, channels))
        outputs.append(channel_span(ffn_out, 0, channels))
    if index in backbone.out_indices:
        both.append(f'{prefix}norm{index}')
    if stage.downsample is not None:
        # The merge unfolds 2x2 neighbours channel by channel: the first
        # 4 * c of its 4 * C features are those of the first c channels, so
        # a unit of its own keeps 4 * c (a unit of C expanding its mask
        # would need mmrazor's derived mutables, which a deep copy of the
        # teacher does not carry over).
        merge = f'{name}.downsample'
        configs.append(
            unit_config(4 * channels, [4 * count for count in counts],
                        [channel_span(f'{merge}.norm', 0, 4 * channels)],
                        [channel_span(f'{merge}.norm', 0, 4 * channels),
                         channel_span(f'{merge}.reduction', 0,
                                      4 * channels)]))
    outputs += [channel_span(n, 0, channels) for n in both]
    inputs += [channel_span(n, 0, channels) for n in both]
    return unit_config(channels, counts, outputs, inputs), configs


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
        return [channel_span('head.fc', 0, channels)]
    return []


def swin_unit_configs(model: nn.Module,
                      channels_at: Callable[[int], List[int]],
                      heads_at: Callable[[int, int], List[int]]) -> List:
    """Unit configs of every Swin backbone in ``model``.

    A patch merging doubles the channels, so every stage keeps the first
    stage's ratio: stage ``i`` of ``C_i`` channels takes ``heads_0 *
    head_dims_0 * C_i / C_0`` at a width, ``heads_0`` being the first
    stage's head count there (:func:`slim_heads`), and every FFN its
    ``ffn_ratio`` times that; heads keep their ``head_dims``.

    Args:
        model (nn.Module): The supernet.
        channels_at (Callable): Channel count of a unit at every width.
        heads_at (Callable): ``heads_at(num_heads, head_dims)``.

    Returns:
        list[dict]: Configs for ``ChannelUnit.init_from_cfg``.
    """
    from mmpretrain.models.backbones import SwinTransformer
    configs = []
    for name, backbone in model.named_modules():
        if not isinstance(backbone, SwinTransformer) or \
                backbone.use_abs_pos_embed:
            continue
        prefix = f'{name}.' if name else ''
        first = backbone.stages[0].blocks[0].attn.w_msa
        base, head_dims = first.embed_dims, head_dims_of(first)
        heads = heads_at(first.num_heads, head_dims)
        for index, stage in enumerate(backbone.stages):
            channels = stage.blocks[0].norm1.normalized_shape[0]
            counts = [h * head_dims * channels // base for h in heads]
            stream, inner = _swin_stage(prefix, backbone, index, counts,
                                        channels_at)
            if index == len(backbone.stages) - 1:
                stream['channels']['input_related'] += _classifier_input(
                    model, prefix, backbone, channels)
            configs += inner + [stream]
    return configs
