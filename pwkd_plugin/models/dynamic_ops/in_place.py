"""Making a module with layers of its own slimmable in place."""
import torch.nn as nn
from mmrazor.models.mutables.base_mutable import BaseMutable


class OneMutableAttrMixin:
    """A dynamic op whose channels, in or out, are one mutable attribute:
    ``num_features`` unless a subclass names another."""
    accepted_mutable_attrs = {'num_features'}
    attr_mappings = {
        'in_channels': 'num_features',
        'out_channels': 'num_features',
    }

    def register_mutable_attr(self, attr: str, mutable: BaseMutable) -> None:
        self.check_mutable_attr_valid(attr)
        attr = self.attr_mappings.get(attr, attr)
        if attr not in self.mutable_attrs:
            self.check_mutable_channels(mutable)
            self.mutable_attrs[attr] = mutable


class InPlaceSlimmableMixin(OneMutableAttrMixin):
    """A dynamic op made from its module by changing the module's class.

    For modules that hold layers of their own (an attention, a backbone):
    the module keeps its layers and parameters (their units slice them) and
    only what it reads of its own (a head count, tokens) follows the width.
    Both of a unit's channel kinds map to the one mutable attribute
    ``accepted_mutable_attrs`` names (``num_features`` unless a subclass
    names another). List it before the module's class and
    mmrazor's ``DynamicChannelMixin``: an ABC first would change the object
    layout, which the class change needs unchanged.
    """
    #: parameters of the module's own whose last dimension follows the
    #: width: reading one gives its entries active at the width.
    sliced_params = ()

    def __getattr__(self, name: str):
        value = super().__getattr__(name)
        if name not in self.sliced_params or value is None:
            return value
        mutables = self.__dict__['_modules'].get('mutable_attrs')
        if mutables is None or 'num_features' not in mutables:
            return value
        mask = mutables['num_features'].current_mask.to(value.device)
        return value[..., mask]

    @classmethod
    def convert_from(cls, module: nn.Module) -> nn.Module:
        """``module`` itself, made slimmable (its layers are kept)."""
        cls.check_convertible(module)
        module.__class__ = cls
        module.mutable_attrs = nn.ModuleDict()
        return module

    @classmethod
    def check_convertible(cls, module: nn.Module) -> None:
        """Raise ``ValueError`` where ``module`` cannot be sliced."""

    def active_count(self) -> int:
        """The channels of the mutable attribute active at the width."""
        attr = next(iter(self.accepted_mutable_attrs))
        if attr not in self.mutable_attrs:
            return getattr(self, attr)
        return int(self.mutable_attrs[attr].current_mask.sum())

    def to_static_class(self, static: type) -> None:
        """Drop the mutables and become ``static`` (the caller converts
        the layers next)."""
        self.check_if_mutables_fixed()
        del self.mutable_attrs
        self.__class__ = static
