"""A slimmable ``nn.LayerNorm`` with private affine parameters per width."""
from typing import Sequence

import torch.nn as nn
from mmrazor.registry import MODELS

from .layer_norm import SlimmableLayerNorm


@MODELS.register_module()
class SwitchableLayerNorm(SlimmableLayerNorm):
    """A LayerNorm whose affine parameters are private per feature count.

    The whole width uses the module's own ``weight`` and ``bias``; every
    narrower count has its own pair in ``candidate_ln`` (a LayerNorm of that
    size), started from the first features of the whole's. The counterpart,
    for layer norms, of the switchable batch norms of slimmable networks.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.candidate_ln = nn.ModuleDict()

    @classmethod
    def convert_from(cls, module: SlimmableLayerNorm) -> 'SwitchableLayerNorm':
        """``module`` itself (its mutable kept), made switchable."""
        if not isinstance(module, SlimmableLayerNorm):
            module = SlimmableLayerNorm.convert_from(module)
        module.__class__ = cls
        module.candidate_ln = nn.ModuleDict()
        return module

    def init_candidates(self, counts: Sequence[int]) -> None:
        """A private LayerNorm for every count below the whole width."""
        whole = self.normalized_shape[0]
        for count in sorted(set(counts)):
            if count >= whole or str(count) in self.candidate_ln:
                continue
            norm = nn.LayerNorm(
                count,
                eps=self.eps,
                elementwise_affine=self.elementwise_affine,
                bias=self.bias is not None)
            if self.elementwise_affine:
                norm.to(self.weight.device)
                norm.weight.data.copy_(self.weight.data[:count])
                if self.bias is not None:
                    norm.bias.data.copy_(self.bias.data[:count])
            self.candidate_ln[str(count)] = norm

    def affine_params(self):
        count = self.active_features()
        if count == self.normalized_shape[0] or not self.elementwise_affine:
            return super().affine_params()
        norm = self.candidate_ln[str(count)]
        return norm.weight, norm.bias
