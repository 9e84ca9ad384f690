"""mmpretrain's ``VisionTransformer`` whose tokens follow the width."""
import torch.nn as nn
from mmpretrain.models.backbones import VisionTransformer
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


class SlicedTokensMixin(InPlaceSlimmableMixin):
    """A ViT-like backbone whose token parameters read the active features.

    ``cls_token``, ``dist_token`` and ``pos_embed`` (shape ``(1, N, C)``)
    read their first ``C`` features active at the width, so mmpretrain's own
    forward runs at every width. The parameters keep their names, so the
    state dict is the backbone's. The layers inside are sliced by their own
    units (see :class:`InPlaceSlimmableMixin`).
    """
    #: the parameters of shape (1, N, embed_dims) that follow the width.
    sliced_params = ('cls_token', 'dist_token', 'pos_embed')

    @property
    def num_features(self) -> int:
        return self._parameters['pos_embed'].shape[-1]

    def to_static_op(self) -> nn.Module:
        """The backbone itself as mmpretrain's, with the active tokens."""
        tokens = {
            name: getattr(self, name).detach().clone()
            for name in self.sliced_params
            if self._parameters.get(name) is not None
        }
        self.to_static_class(self.static_op_factory)
        for name, value in tokens.items():
            setattr(self, name, nn.Parameter(value))
        self.embed_dims = tokens['pos_embed'].shape[-1]
        return self


@MODELS.register_module()
class SlimmableVisionTransformer(SlicedTokensMixin, VisionTransformer,
                                 DynamicChannelMixin):
    """mmpretrain's ``VisionTransformer`` with its class token and position
    embedding sliced with the embedding (see :class:`SlicedTokensMixin`)."""

    @property
    def static_op_factory(self):
        return VisionTransformer
