"""Multiply-adds of a network's convolutions and linear layers."""
from typing import Callable, Dict

import torch
import torch.nn as nn
from mmpretrain.models.utils.attention import BEiTAttention


def _conv_macs(module: nn.Conv2d, inputs: torch.Tensor,
               output: torch.Tensor) -> int:
    in_channels = inputs.shape[1]
    # A depthwise layer sliced to fewer channels keeps one group per channel.
    depthwise = module.groups == module.in_channels == module.out_channels
    groups = in_channels if depthwise else module.groups
    kernel = module.kernel_size[0] * module.kernel_size[1]
    return output.numel() * (in_channels // groups) * kernel


def _linear_macs(module: nn.Linear, inputs: torch.Tensor,
                 output: torch.Tensor) -> int:
    return output.numel() * inputs.shape[-1]


def _beit_qkv_macs(module: BEiTAttention, inputs: torch.Tensor,
                   output: torch.Tensor) -> int:
    """mmpretrain's BEiT attention with q and v biases applies its ``qkv``
    weight by ``F.linear`` (the biases concatenated), which no hook of its
    ``qkv`` layer sees: its multiply-adds are counted here."""
    if type(module) is not BEiTAttention or module.bias != 'qv_bias':
        return 0  # its qkv layer runs (and is counted) itself
    return inputs.numel() * module.qkv.weight.shape[0]


_COUNTERS: Dict[type, Callable] = {nn.Conv2d: _conv_macs,
                                   nn.Linear: _linear_macs,
                                   BEiTAttention: _beit_qkv_macs}


@torch.no_grad()
def conv_linear_macs(model: nn.Module, run: Callable[[], object],
                     batch_size: int = 1) -> int:
    """Multiply-adds per sample of every conv and linear layer in ``run``.

    Counted from the tensors that actually flow (forward hooks), so a
    slimmable layer counts the channels active at its width, and a static
    copy counts its own layers; normalisation, activation and pooling are
    not counted.

    Args:
        model (nn.Module): The network whose layers are counted.
        run (Callable): Runs one forward of ``model``.
        batch_size (int): Samples in that forward. Defaults to 1.

    Returns:
        int: Multiply-adds per sample.
    """
    total = [0]

    def hook(module, args, output):
        for kind, count in _COUNTERS.items():
            if isinstance(module, kind):
                total[0] += count(module, args[0], output)
                return

    handles = [
        module.register_forward_hook(hook) for module in model.modules()
        if isinstance(module, tuple(_COUNTERS))
    ]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return total[0] // batch_size
