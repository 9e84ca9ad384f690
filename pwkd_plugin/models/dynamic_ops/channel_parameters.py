"""Per-channel parameters of a module (layer scales) that follow the width.

Many blocks multiply a branch by a parameter of their own, one entry per
channel (PoolFormer's and RIFormer's ``self.layer_scale_1.unsqueeze(-1)
.unsqueeze(-1) * x``): no layer of the block holds it, so no layer's dynamic
op can slice it. Here the block itself becomes slimmable in place: its class
is swapped for a subclass whose attribute reads give such a parameter's
entries active at the width, so the block's own forward runs at every
width, and its layers, parameters and state dict keys stay as they are.
"""
import types
from typing import Dict

import torch
import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import DynamicMixin
from mmrazor.models.mutables import MutableChannelContainer
from mmrazor.models.mutables.base_mutable import BaseMutable

from .channel_slices import take_channels


def channel_dim(value: torch.Tensor) -> int:
    """The dimension of a per-channel parameter that holds its channels
    (its one dimension longer than 1; dimension 1 of a map of one image,
    ``(1, C, H, W)``: ViG's position embedding)."""
    longer = [dim for dim, size in enumerate(value.shape) if size > 1]
    if is_channel_map(value):
        return 1
    if len(longer) != 1:
        raise ValueError('a per-channel parameter has exactly one dimension '
                         f'longer than 1, got shape {tuple(value.shape)}')
    return longer[0]


def is_channel_map(value: torch.Tensor) -> bool:
    """Whether ``value`` is a map of one image, ``(1, C, H, W)``, of more
    than one channel and position."""
    return value.dim() == 4 and value.shape[0] == 1 and value.shape[1] > 1 \
        and value.shape[2:].numel() > 1


class SlimmableChannelParameters:
    """Mixed before a module's class (and mmrazor's ``DynamicMixin`` after
    it, as :class:`InPlaceSlimmableMixin`) by :func:`slimmable_class`.

    ``mutable_attrs`` maps the name of each sliced parameter to the channel
    container of its channels (units register their mutables in it, as in
    a layer's). Reading that attribute gives the parameter's active entries;
    the parameter itself (``_parameters``) stays whole.
    """
    #: the module's own class, restored by :meth:`to_static_op`.
    static_class = nn.Module

    def __getattr__(self, name: str):
        value = super().__getattr__(name)
        containers = self.__dict__['_modules'].get('mutable_attrs')
        if containers is None or name not in containers:
            return value
        mask = containers[name].current_mask.to(value.device)
        return take_channels(value, mask, channel_dim(value))

    @property
    def static_op_factory(self):
        return self.static_class

    @classmethod
    def convert_from(cls, module: nn.Module) -> nn.Module:
        """``module`` itself, of a class that slices its parameters."""
        if not isinstance(module, SlimmableChannelParameters):
            module.__class__ = slimmable_class(type(module))
            module.mutable_attrs = nn.ModuleDict()
        return module

    def register_mutable_attr(self, attr: str, mutable: BaseMutable) -> None:
        """Slice the parameter named ``attr`` by ``mutable``'s mask (any
        other attribute is a dynamic op's own: EdgeNeXt's SDTA block is
        one, with layer scales)."""
        if attr in self._parameters:
            self.mutable_attrs[attr] = mutable
        else:
            super().register_mutable_attr(attr, mutable)

    def to_static_op(self) -> nn.Module:
        """The module itself, of its own class, each sliced parameter
        replaced by its active entries (its layers are converted next)."""
        self.check_if_mutables_fixed()
        sliced: Dict[str, nn.Parameter] = {
            name: nn.Parameter(
                getattr(self, name).detach().clone(),
                requires_grad=self._parameters[name].requires_grad)
            for name in self.mutable_attrs if name in self._parameters
        }
        for name in sliced:
            del self.mutable_attrs[name]
        self.__class__ = self.static_class
        for name, value in sliced.items():
            setattr(self, name, value)
        if isinstance(self, DynamicMixin):  # a dynamic op of its own
            return self.to_static_op()
        del self.mutable_attrs
        return self


_CLASSES: Dict[type, type] = {}


def slimmable_class(cls: type) -> type:
    """The subclass of ``cls`` with :class:`SlimmableChannelParameters`
    mixed in (one per class)."""
    if cls not in _CLASSES:
        _CLASSES[cls] = types.new_class(
            f'Slimmable{cls.__name__}',
            (SlimmableChannelParameters, cls, DynamicMixin),
            exec_body=lambda body: body.update(
                static_class=cls, __module__=__name__))
    return _CLASSES[cls]


def slice_channel_parameter(module: nn.Module,
                            name: str) -> MutableChannelContainer:
    """Make parameter ``name`` of ``module`` follow the width.

    Args:
        module (nn.Module): The module that owns the parameter; it becomes
            slimmable in place (see :class:`SlimmableChannelParameters`).
        name (str): A parameter of ``module`` with one dimension longer
            than 1, its channels.

    Returns:
        MutableChannelContainer: The container of the parameter's channels,
        in which channel units register their mutables.
    """
    module = SlimmableChannelParameters.convert_from(module)
    if name not in module.mutable_attrs:
        parameter = module._parameters[name]
        module.register_mutable_attr(
            name,
            MutableChannelContainer(
                parameter.shape[channel_dim(parameter)]).to(
                    parameter.device))
    return module.mutable_attrs[name]
