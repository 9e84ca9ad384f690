"""Cross-covariance attention (XCA) over the heads active at a width.

XCA attends over channels: each head's queries and keys are normalised
over the tokens and their ``head_dims x head_dims`` product is scaled by a
learnable temperature of that head. Narrowing it drops whole heads (each
keeps its ``head_dims``), and the temperature is sliced with them.
EdgeNeXt's ``ChannelMultiheadAttention`` and XCiT's ``XCA`` compute it the
same way.
"""
from typing import Union

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.xcit import XCA
from mmpretrain.models.utils import ChannelMultiheadAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def cross_covariance_attention(qkv: torch.Tensor,
                               temperature: Union[torch.Tensor, float],
                               head_dims: int, attn_drop: float,
                               training: bool) -> torch.Tensor:
    """XCA of the heads ``qkv`` holds.

    Args:
        qkv (Tensor): ``(B, N, 3 * heads * head_dims)``: the first heads of
            q, then of k, then of v.
        temperature (Tensor | float): Per head ``(num_heads, 1, 1)``, its
            first ``heads`` taken; or one number.
        head_dims (int): Channels of one head.
        attn_drop (float): Dropout rate of the attention.
        training (bool): Whether dropout is on.

    Returns:
        Tensor: ``(B, N, heads * head_dims)``, the heads side by side.
    """
    batch, tokens, features = qkv.shape
    heads = features // (3 * head_dims)
    q, k, v = qkv.reshape(batch, tokens, 3, heads,
                          head_dims).permute(2, 0, 3, 4, 1).unbind(0)
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    if isinstance(temperature, torch.Tensor):
        temperature = temperature[:heads]
    attn = ((q @ k.transpose(-2, -1)) * temperature).softmax(dim=-1)
    attn = F.dropout(attn, attn_drop, training)
    return (attn @ v).permute(0, 3, 1, 2).reshape(batch, tokens,
                                                  heads * head_dims)


# One node of the traced graph, which the channel tracer reads as the heads
# (:mod:`pwkd_plugin.models.mutators.cross_covariance_node`).
torch.fx.wrap('cross_covariance_attention')


def _active_in_features(layer: nn.Module) -> int:
    mutable = layer.get_mutable_attr('in_channels') if hasattr(
        layer, 'get_mutable_attr') else None
    if mutable is None:
        return layer.in_features
    return int(mutable.current_mask.sum())


class SlimmableXCAMixin(InPlaceSlimmableMixin):
    """An XCA module whose head count follows the width.

    Mixed before the module's class (and mmrazor's ``DynamicChannelMixin``
    after it). The module has ``qkv`` and ``proj`` linear layers,
    ``num_heads`` and a per-head temperature (the parameter
    ``temperature_name`` names). Swapped in before tracing (see
    ``FORWARD_OPS``): the tracer binds the q, k and v of each head channel
    into one unit with ``proj``'s inputs and this module (its
    ``num_features``), which narrows by whole heads (the heads ``proj``
    reads); the forward reads the head count from ``qkv``'s output.
    """

    #: the per-head temperature parameter (or number).
    temperature_name = 'temperature'

    @property
    def num_features(self) -> int:
        return self.num_heads * self.head_dims

    def active_heads(self) -> int:
        """The number of heads active at the width."""
        return self.active_count() // self.head_dims

    def attend(self, x: torch.Tensor, attn_drop: float) -> torch.Tensor:
        """``proj`` of the XCA of ``x`` (no output dropout)."""
        qkv = self.qkv(x)
        x = cross_covariance_attention(qkv,
                                       getattr(self, self.temperature_name),
                                       self.head_dims, attn_drop,
                                       self.training)
        return self.proj(x)

    def to_static_class(self, static: type) -> None:
        """Become ``static`` with the active heads and their temperature
        (the caller converts ``qkv`` and ``proj`` next)."""
        heads, name = self.active_heads(), self.temperature_name
        temperature = getattr(self, name)
        super().to_static_class(static)
        self.num_heads = heads
        if isinstance(temperature, nn.Parameter):
            setattr(
                self, name,
                nn.Parameter(temperature.detach()[:heads].clone(),
                             requires_grad=temperature.requires_grad))


@MODELS.register_module()
class SlimmableChannelMultiheadAttention(SlimmableXCAMixin,
                                         ChannelMultiheadAttention,
                                         DynamicChannelMixin):
    """EdgeNeXt's channel attention (an XCA) over the heads active at a
    width (:class:`SlimmableXCAMixin`); its temperature is ``scale``."""

    temperature_name = 'scale'

    @property
    def static_op_factory(self):
        return ChannelMultiheadAttention

    @classmethod
    def check_convertible(cls, module: nn.Module) -> None:
        if module.v_shortcut or module.input_dims != module.embed_dims:
            raise ValueError('a channel attention with a value shortcut or '
                             'other input dims has no slimmable op')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # mmpretrain's forward leaves its attn_drop unused.
        return self.out_drop(self.proj_drop(self.attend(x, 0.)))

    def to_static_op(self) -> ChannelMultiheadAttention:
        """The attention itself as mmpretrain's, at the active heads."""
        self.to_static_class(ChannelMultiheadAttention)
        self.embed_dims = self.num_heads * self.head_dims
        self.input_dims = _active_in_features(self.qkv)
        return self


@MODELS.register_module()
class SlimmableXCA(SlimmableXCAMixin, XCA, DynamicChannelMixin):
    """XCiT's cross-covariance attention over the heads active at a width
    (:class:`SlimmableXCAMixin`).

    mmpretrain's forward splits the features into ``num_heads`` heads of
    ``C // num_heads``, ``C`` the input's channels: its static copy is
    that attention at the active heads, the tracer binding the input to the
    heads (``heads_follow_input``).
    """

    #: the layer whose inputs are the attention's input.
    heads_follow_input = 'qkv'

    @property
    def head_dims(self) -> int:
        return self.proj.in_features // self.num_heads

    @property
    def static_op_factory(self):
        return XCA

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_drop(self.attend(x, self.attn_drop.p))

    def to_static_op(self) -> XCA:
        """The attention itself as mmpretrain's, at the active heads."""
        self.to_static_class(XCA)
        return self
