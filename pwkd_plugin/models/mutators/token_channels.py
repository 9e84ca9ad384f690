"""A vision transformer's tokens, as the channel tracer's graph nodes.

A ViT-like backbone puts learned tokens before its patch tokens
(``torch.cat((cls_token, x), dim=1)``) and adds a learned position
embedding (``x + pos_embed``). mmrazor's graph reads every ``torch.cat`` as
a concatenation of channels and gives each token parameter (a ``get_attr``
node) three channels of an input of its own, so the residual stream's
channels are lost at the first block: the patch embedding, every LayerNorm,
every FFN's and attention's projection on the stream and the head's inputs
are left whole. Here:

* a parameter that its module's dynamic op slices along its last dimension
  (``sliced_params``: :class:`~pwkd_plugin.models.dynamic_ops.
  SlimmableVisionTransformer`'s class and distillation tokens and position
  embedding) is a source of that many channels, named by the module, so the
  unit holding them makes the backbone's dynamic op follow it;
* a concatenation along the tokens of a ``(batch, tokens, channels)``
  tensor binds its inputs' channels (:mod:`.token_cat`).
"""
from typing import Dict, Tuple

import torch.fx as fx
import torch.nn as nn

from .parameter_channel_node import ParameterChannelNode


def token_parameters(model: nn.Module, graph: fx.Graph,
                     dynamic_ops: Dict[type, type]) -> Dict[str, tuple]:
    """The ``get_attr`` nodes of ``graph`` that read a parameter sliced
    along its last dimension by its module's dynamic op.

    Args:
        model (nn.Module): The traced model.
        graph (fx.Graph): Its graph.
        dynamic_ops (dict): Module type -> its dynamic op.

    Returns:
        dict: fx node name -> (the module's name, the parameter's last
        dimension).
    """
    found = {}
    for node in graph.nodes:
        if node.op != 'get_attr':
            continue
        owner_name, _, attr = node.target.rpartition('.')
        if not owner_name:
            continue
        owner = model.get_submodule(owner_name)
        op = dynamic_ops.get(type(owner))
        parameter = owner._parameters.get(attr)
        if parameter is not None and parameter.dim() >= 2 and \
                attr in getattr(op, 'sliced_params', ()):
            found[node.name] = (owner_name, parameter.shape[-1])
    return found


def token_channel_node(name: str,
                       owner: Tuple[str, int]) -> ParameterChannelNode:
    """The graph node of a token parameter: a source of its channels,
    named by its module."""
    return ParameterChannelNode(name, *owner)
