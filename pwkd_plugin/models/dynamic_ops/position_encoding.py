"""A conditional position encoding the channel tracer follows."""
import torch
from mmpretrain.models.utils import ConditionalPositionEncoding
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableConditionalPositionEncoding(InPlaceSlimmableMixin,
                                           ConditionalPositionEncoding,
                                           DynamicChannelMixin):
    """mmpretrain's ``ConditionalPositionEncoding`` (Twins' PEG: a
    depthwise convolution over the token grid, added to the tokens) that
    the channel tracer follows.

    mmpretrain's forward unpacks the tokens' shape (``B, N, C = x.shape``),
    which torch.fx cannot do once mmrazor's tracer wraps the method: the
    tracer kept the encoding one opaque node binding its input and output
    to the module, and every stage's stream was lost. Here the sizes are
    read by index, the same computation at any channel count; swapped in
    before tracing (``FORWARD_OPS``), it holds no mutable (its convolution
    is sliced by its own unit), and :meth:`to_static_op` gives mmpretrain's
    encoding back.
    """

    @property
    def static_op_factory(self):
        return ConditionalPositionEncoding

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        feat = x.transpose(1, 2).reshape(x.shape[0], -1,
                                         *hw_shape).contiguous()
        x = self.proj(feat) + feat if self.stride == 1 else self.proj(feat)
        return x.flatten(2).transpose(1, 2)

    def to_static_op(self) -> ConditionalPositionEncoding:
        """The encoding itself as mmpretrain's."""
        self.to_static_class(ConditionalPositionEncoding)
        return self
