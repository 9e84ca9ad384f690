"""Norms over the input image's own channels.

A norm that reads the image (T2T-ViT's first tokens-to-token layer
normalises the image unfolded into 7 x 7 patch columns, 147 channels) keeps
the image's channels at every width, as the first convolution keeps its
input channels: its channels are in the tracer's unit of the graph input,
which is never mutable. Such a norm is not a layer the tracer failed to
follow. A unit of the input that also holds a convolution's or a linear
layer's outputs is a misread graph: then no norm of it is named here.
"""
from typing import Dict, Set

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

_NORMS = (nn.LayerNorm, nn.GroupNorm, _BatchNorm)
#: layers whose outputs are channels of their own.
_MIXING = (nn.modules.conv._ConvNd, nn.Linear)

#: mmrazor's name for the channels of the graph's input.
_INPUT = 'input_placeholder'


def image_channel_norms(model: nn.Module, units_config: Dict) -> Set[str]:
    """The names of the norms of ``model`` whose channels are the input
    image's, from the tracer's units (mmrazor's ``units_config``)."""
    modules = dict(model.named_modules())
    found = set()
    for config in units_config.values():
        channels = config['channels']
        names = {
            channel['name']
            for kind in channels for channel in channels[kind]
        }
        if _INPUT not in names:
            continue
        outputs = [
            modules[channel['name']]
            for channel in channels.get('output_related', ())
            if isinstance(channel['name'], str) and channel['name'] in modules
        ]
        if not any(isinstance(layer, _MIXING) for layer in outputs):
            found |= {
                channel['name']
                for channel in channels['output_related']
                if isinstance(modules.get(channel['name']), _NORMS)
            }
    return found
