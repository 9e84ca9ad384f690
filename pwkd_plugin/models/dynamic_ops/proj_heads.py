"""An attention whose head count is the heads its ``proj`` reads."""
from typing import Optional

import torch.nn as nn

from .in_place import InPlaceSlimmableMixin


def active_features(layer: nn.Module, attr: str, whole: int) -> int:
    """The features of a (dynamic) linear layer active at the width."""
    mutable = layer.get_mutable_attr(attr) if hasattr(
        layer, 'get_mutable_attr') else None
    return whole if mutable is None else int(mutable.current_mask.sum())


class ProjHeadsMixin(InPlaceSlimmableMixin):
    """An attention made slimmable in place whose heads keep ``head_dims``
    and whose head count is read from the inputs ``proj`` keeps.

    Its forward splits q, k and v from their projection by the active
    features (``splits_by_width``), so the channel tracer binds them head
    dim by head dim into the heads unit ``proj`` reads
    (:mod:`~pwkd_plugin.models.mutators.head_channels`). The static op is
    ``static_op_factory`` with the active heads, and where
    :attr:`input_layer` names the layer reading the attention's input, the
    active ``input_dims``.
    """

    #: q, k and v are split from their projection by the active features.
    splits_by_width = True
    #: the layer whose active inputs are the static op's ``input_dims``.
    input_layer: Optional[str] = None

    @property
    def num_features(self) -> int:
        return self.num_heads * self.head_dims

    def active_heads(self) -> int:
        """The number of heads active at the width (``proj`` reads them)."""
        return active_features(self.proj, 'in_channels',
                               self.proj.in_features) // self.head_dims

    def to_static_op(self) -> nn.Module:
        """The attention itself as ``static_op_factory``, at the active
        heads."""
        heads, head_dims = self.active_heads(), self.head_dims
        layer = None if self.input_layer is None else getattr(
            self, self.input_layer)
        self.to_static_class(self.static_op_factory)
        self.num_heads = heads
        self.embed_dims = heads * head_dims
        if layer is not None:
            self.input_dims = active_features(layer, 'in_channels',
                                              layer.in_features)
        return self
