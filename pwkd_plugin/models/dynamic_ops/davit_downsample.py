"""DaViT's downsampling of tokens at any channel count."""
import torch
from mmpretrain.models.backbones.davit import DaViTDownSample
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


class TokenDaViTDownSample(DaViTDownSample):
    """mmpretrain's ``DaViTDownSample`` without its adaptive padding.

    mmpretrain pads the tokens ``(B, L, C)`` with mmcv's
    ``AdaptivePadding`` as if they were a map, so it pads ``L`` and ``C``
    where either is odd (its kernel and stride are 2); a padded ``L`` fails
    its own check (``L == H * W``) and a padded ``C`` its norm, so wherever
    mmpretrain's forward runs the padding does nothing. At an odd channel
    count (the channel tracer checks a unit at a random count) it would
    add a channel; here it is left out, and the computation is
    mmpretrain's wherever that runs.
    """

    def forward(self, x: torch.Tensor, input_size):
        height, width = input_size
        x = self.norm(x)
        x = x.reshape(x.shape[0], height, width,
                      -1).permute(0, 3, 1, 2).contiguous()
        x = self.projection(x)
        output_size = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), output_size


@MODELS.register_module()
class SlimmableDaViTDownSample(InPlaceSlimmableMixin, TokenDaViTDownSample,
                               DynamicChannelMixin):
    """DaViT's downsampling, traced at any channel count.

    Swapped in before tracing (``FORWARD_OPS``); it holds no mutable (its
    norm and projection are sliced by their own units), and
    :meth:`to_static_op` gives :class:`TokenDaViTDownSample`.
    """

    @property
    def static_op_factory(self):
        return TokenDaViTDownSample

    def to_static_op(self) -> TokenDaViTDownSample:
        """The downsampling without its adaptive padding."""
        self.to_static_class(TokenDaViTDownSample)
        return self
