"""A ConvNeXt block whose layer scale follows the width."""
import torch.nn as nn
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


@MODELS.register_module()
class SlimmableConvNeXtBlock(InPlaceSlimmableMixin, ConvNeXtBlock,
                             DynamicChannelMixin):
    """mmpretrain's ``ConvNeXtBlock`` with its layer scale ``gamma`` sliced.

    The block multiplies its branch by ``self.gamma`` (one scale per
    channel); here ``self.gamma`` reads the first channels active at the
    width, so mmpretrain's own forward runs at every width. The parameter
    keeps its name, so the state dict is the block's.
    """

    sliced_params = ('gamma', )

    @property
    def num_features(self) -> int:
        return self._parameters['gamma'].numel()

    @property
    def static_op_factory(self):
        return ConvNeXtBlock

    @classmethod
    def check_convertible(cls, module: ConvNeXtBlock) -> None:
        if module.gamma is None:
            raise ValueError('a ConvNeXt block without layer scale '
                             '(layer_scale_init_value=0) needs no slicing')

    def to_static_op(self) -> ConvNeXtBlock:
        """The block itself as a ``ConvNeXtBlock`` with the active scales.

        Its layers stay as they are: the caller converts them next.
        """
        gamma = self.gamma.detach().clone()
        self.to_static_class(ConvNeXtBlock)
        self.gamma = nn.Parameter(gamma)
        return self
