"""A ConvNeXt block whose layer scale follows the width."""
import torch.nn as nn
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.models.mutables.base_mutable import BaseMutable
from mmrazor.registry import MODELS


@MODELS.register_module()
class SlimmableConvNeXtBlock(ConvNeXtBlock, DynamicChannelMixin):
    """mmpretrain's ``ConvNeXtBlock`` with its layer scale ``gamma`` sliced.

    The block multiplies its branch by ``self.gamma`` (one scale per
    channel); here ``self.gamma`` reads the first channels active at the
    width, so mmpretrain's own forward runs at every width. The parameter
    keeps its name, so the state dict is the block's.
    """
    accepted_mutable_attrs = {'num_features'}
    attr_mappings = {
        'in_channels': 'num_features',
        'out_channels': 'num_features',
    }

    @property
    def num_features(self) -> int:
        return self._parameters['gamma'].numel()

    def __getattr__(self, name: str):
        value = super().__getattr__(name)
        if name != 'gamma' or value is None:
            return value
        mutables = self.__dict__['_modules'].get('mutable_attrs')
        if mutables is None or 'num_features' not in mutables:
            return value
        return value[mutables['num_features'].current_mask.to(value.device)]

    @property
    def static_op_factory(self):
        return ConvNeXtBlock

    @classmethod
    def convert_from(cls, module: ConvNeXtBlock) -> 'SlimmableConvNeXtBlock':
        """``module`` itself, made slimmable (its layers are kept)."""
        if module.gamma is None:
            raise ValueError('a ConvNeXt block without layer scale '
                             '(layer_scale_init_value=0) needs no slicing')
        module.__class__ = cls
        module.mutable_attrs = nn.ModuleDict()
        return module

    def register_mutable_attr(self, attr: str, mutable: BaseMutable) -> None:
        self.check_mutable_attr_valid(attr)
        attr = self.attr_mappings.get(attr, attr)
        if attr not in self.mutable_attrs:
            self.check_mutable_channels(mutable)
            self.mutable_attrs[attr] = mutable

    def to_static_op(self) -> ConvNeXtBlock:
        """The block itself as a ``ConvNeXtBlock`` with the active scales.

        Its layers stay as they are: the caller converts them next.
        """
        self.check_if_mutables_fixed()
        gamma = self.gamma.detach().clone()
        del self.mutable_attrs
        self.__class__ = ConvNeXtBlock
        self.gamma = nn.Parameter(gamma)
        return self
