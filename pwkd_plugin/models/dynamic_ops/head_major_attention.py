"""Head-major attention with per-head biases, narrowed by whole heads.

EfficientFormer's ``AttentionWithBias``, TinyViT's and LeViT's attentions
project the tokens by one ``qkv`` layer whose outputs are head by head
(``[q_0 k_0 v_0 q_1 k_1 v_1 ...]``, each head ``key_dim + key_dim +
value_dim``), split every head into its query, key and value, add a learned
bias per head to the attention logits (``attention_biases`` indexed by
``attention_bias_idxs``) and project the heads' values back by ``proj``
(TinyViT's ``LeAttention`` normalises the tokens first, by a LayerNorm
``norm`` of its own).
Narrowed, the attention keeps its first heads whole (each its ``key_dim``
and ``value_dim``) and their biases: the first ``heads * (2 * key_dim +
value_dim)`` outputs of ``qkv``, the first ``heads * value_dim`` inputs of
``proj``, the first rows of ``attention_biases``.

The channel tracer keeps such an attention one node (it cannot follow the
split of heads) whose input and output channels are the embedding's; the
op slices ``qkv``'s inputs and ``proj``'s outputs by the embedding's mask
and takes the head count from the embedding's share of its channels
(:func:`~pwkd_plugin.models.utils.slim_channels` of ``num_heads``), so both
follow the width.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from ..utils import slim_channels
from .in_place import InPlaceSlimmableMixin


def head_major_attention(qkv: torch.Tensor, heads: int, key_dim: int,
                         value_dim: int, scale: float,
                         biases: torch.Tensor) -> torch.Tensor:
    """Attention of head-major ``qkv`` outputs with per-head biases.

    Args:
        qkv (Tensor): ``(B, N, heads * (2 * key_dim + value_dim))``.
        heads (int): The heads in ``qkv``.
        key_dim (int): Features of a head's query and key.
        value_dim (int): Features of a head's value.
        scale (float): Factor of the query-key products.
        biases (Tensor): ``(heads, N, N)``, added to the logits.

    Returns:
        Tensor: ``(B, N, heads * value_dim)``, the heads' outputs.
    """
    batch, tokens, _ = qkv.shape
    qkv = qkv.reshape(batch, tokens, heads, -1).permute(0, 2, 1, 3)
    q, k, v = qkv.split([key_dim, key_dim, value_dim], dim=-1)
    attn = (q @ k.transpose(-2, -1)) * scale + biases
    attn = attn.softmax(dim=-1)
    return (attn @ v).transpose(1, 2).reshape(batch, tokens,
                                              heads * value_dim)


class HeadMajorAttentionMixin(InPlaceSlimmableMixin):
    """A head-major attention with per-head biases made slimmable in place.

    The embedding's unit (``num_features``: the ``qkv`` inputs, the
    ``proj`` outputs) holds it; a subclass names the module's sizes
    (:attr:`key_dim`, :attr:`value_dim`, :attr:`num_heads`, :attr:`scale`)
    and its static class, and may override :meth:`project_qkv` where its
    ``qkv`` is not a linear layer.
    """

    @property
    def sliced_layers(self) -> tuple:
        """The layers it slices itself (no unit of the tracer holds them)."""
        return ('qkv', 'proj') + (('norm', ) if self.has_norm() else ())

    def has_norm(self) -> bool:
        """Whether it normalises the tokens by a LayerNorm ``norm``."""
        return isinstance(self._modules.get('norm'), nn.LayerNorm)

    @property
    def num_features(self) -> int:
        return self.proj.out_features

    @property
    def value_dim(self) -> int:
        return self.d

    def embedding_mask(self) -> Optional[torch.Tensor]:
        """The embedding's active channels (None: all)."""
        if 'num_features' not in self.mutable_attrs:
            return None
        return self.mutable_attrs['num_features'].current_mask

    def active_heads(self) -> int:
        """The heads active at the width: the embedding's share of
        ``num_heads``, at least one."""
        count = self.active_count()
        if count >= self.num_features:
            return self.num_heads
        return slim_channels(self.num_heads, count / self.num_features)

    def head_weights(self, heads: int) -> dict:
        """The active ``qkv`` and ``proj`` weights and biases, by layer."""
        mask = self.embedding_mask()
        rows = heads * (2 * self.key_dim + self.value_dim)
        qkv = {'weight': self.qkv.weight[:rows]}
        proj = {'weight': self.proj.weight[:, :heads * self.value_dim]}
        if mask is not None:
            qkv['weight'] = qkv['weight'][:, mask]
            proj['weight'] = proj['weight'][mask]
        if self.qkv.bias is not None:
            qkv['bias'] = self.qkv.bias[:rows]
        if self.proj.bias is not None:
            proj['bias'] = self.proj.bias if mask is None else \
                self.proj.bias[mask]
        return dict(qkv=qkv, proj=proj)

    def head_biases(self, heads: int) -> torch.Tensor:
        """``(heads, N, N)`` biases of the first ``heads``."""
        return self.attention_biases[:heads, self.attention_bias_idxs]

    def norm_weights(self) -> dict:
        """The active affine parameters of ``norm``."""
        mask = self.embedding_mask()
        return {
            name: param if mask is None or param is None else param[mask]
            for name, param in (('weight', self.norm.weight),
                                ('bias', self.norm.bias))
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        heads = self.active_heads()
        weights = self.head_weights(heads)
        if self.has_norm():
            params = self.norm_weights()
            x = F.layer_norm(x, (x.shape[-1], ), params['weight'],
                             params['bias'], self.norm.eps)
        # Called as modules: forward hooks (FLOP counts) see the layers.
        qkv = functional_call(self.qkv, weights['qkv'], (x, ))
        x = head_major_attention(qkv, heads, self.key_dim, self.value_dim,
                                 self.scale, self.head_biases(heads))
        return functional_call(self.proj, weights['proj'], (x, ))

    def static_layers(self) -> dict:
        """New ``qkv`` and ``proj`` linear layers of the active weights (and
        ``norm``), and the active heads' ``attention_biases``."""
        heads = self.active_heads()
        layers = {}
        for name, params in self.head_weights(heads).items():
            weight = params['weight']
            layer = nn.Linear(weight.shape[1], weight.shape[0],
                              bias='bias' in params)
            layer.weight = nn.Parameter(weight.detach().clone())
            if 'bias' in params:
                layer.bias = nn.Parameter(params['bias'].detach().clone())
            layers[name] = layer
        if self.has_norm():
            params = self.norm_weights()
            norm = nn.LayerNorm(params['weight'].numel(), eps=self.norm.eps)
            norm.weight = nn.Parameter(params['weight'].detach().clone())
            norm.bias = nn.Parameter(params['bias'].detach().clone())
            layers['norm'] = norm
        layers['attention_biases'] = nn.Parameter(
            self.attention_biases[:heads].detach().clone())
        return layers
