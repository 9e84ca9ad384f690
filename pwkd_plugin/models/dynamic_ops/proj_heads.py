"""An attention whose head count is the heads its ``proj`` reads."""
import functools
from typing import Optional, Tuple, Union

import torch.nn as nn

from .in_place import InPlaceSlimmableMixin


def active_features(layer: nn.Module, attr: str, whole: int) -> int:
    """The features of a (dynamic) linear layer active at the width."""
    mutable = layer.get_mutable_attr(attr) if hasattr(
        layer, 'get_mutable_attr') else None
    return whole if mutable is None else int(mutable.current_mask.sum())


def split_heads(features, num_heads: int, head_dims: int) -> Tuple:
    """The heads and the features of a head in ``features`` of q.

    Several heads keep ``head_dims`` each (a width takes whole heads); a
    single head is all of q's active features (its features narrow, as a
    single-head attention built narrower: the tracer's heads rule leaves
    it plain channels, :func:`~pwkd_plugin.models.mutators.head_channels.
    head_layers`).

    Args:
        features (int | torch.fx.Proxy): q's active features.
        num_heads (int): The attention's heads.
        head_dims (int): The features of each of its whole heads.

    Returns:
        tuple: ``(heads, features of a head)``.
    """
    if num_heads == 1:
        return 1, features
    return features // head_dims, head_dims


def head_scale(scale: float, num_heads: int, head_dims: int,
               dims) -> Union[float, object]:
    """q's scale at ``dims`` features a head (see :func:`split_heads`):
    ``scale`` where whole heads keep ``head_dims``; a single head narrowed
    takes it over the square root of the narrowing (mmpretrain's
    ``head_dims ** -0.5`` at the narrower head)."""
    if num_heads > 1:
        return scale
    return scale * (head_dims / dims)**0.5


def attend(attention: nn.Module, q, k, v, dims):
    """mmpretrain's scaled dot-product attention of an attention built on
    its ``MultiheadAttention`` (``scaled_dot_product_attention``, dropout
    while training), q scaled as a head of ``dims`` features."""
    drop = attention.attn_drop if attention.training else 0.
    if attention.num_heads > 1:
        return attention.scaled_dot_product_attention(q, k, v,
                                                      dropout_p=drop)
    return attention.scaled_dot_product_attention(
        q, k, v, dropout_p=drop, scale=dims**-0.5)


class ProjHeadsMixin(InPlaceSlimmableMixin):
    """An attention made slimmable in place whose heads keep ``head_dims``
    and whose head count is read from the inputs ``proj`` keeps.

    Its forward splits q, k and v from their projection by the active
    features (``splits_by_width``), so the channel tracer binds them head
    dim by head dim into the heads unit ``proj`` reads
    (:mod:`~pwkd_plugin.models.mutators.head_channels`); an attention of a
    single head narrows that head's features instead (:func:`split_heads`,
    ``narrows_single_head``). The static op is ``static_op_factory`` with
    the active heads, and where :attr:`input_layer` names the layer reading
    the attention's input, the active ``input_dims``.
    """

    #: q, k and v are split from their projection by the active features.
    splits_by_width = True
    #: a single head narrows its features (its forward reads them).
    narrows_single_head = True
    #: the layer whose active inputs are the static op's ``input_dims``.
    input_layer: Optional[str] = None

    @property
    def num_features(self) -> int:
        return self.num_heads * self.head_dims

    def active_heads(self) -> int:
        """The number of heads active at the width (``proj`` reads them)."""
        return self._active_split()[0]

    def active_head_dims(self) -> int:
        """The features of each active head: ``head_dims``, or a single
        head's active features."""
        return self._active_split()[1]

    def _active_split(self) -> Tuple[int, int]:
        features = active_features(self.proj, 'in_channels',
                                   self.proj.in_features)
        return split_heads(features, self.num_heads, self.head_dims)

    def to_static_op(self) -> nn.Module:
        """The attention itself as ``static_op_factory``, at the active
        heads."""
        (heads, dims), whole_dims = self._active_split(), self.head_dims
        layer = None if self.input_layer is None else getattr(
            self, self.input_layer)
        self.to_static_class(self.static_op_factory)
        self.num_heads = heads
        self.embed_dims = heads * dims
        if not isinstance(getattr(type(self), 'head_dims', None), property):
            self.head_dims = dims
        if isinstance(getattr(self, 'scale', None), float):
            self.scale = head_scale(self.scale, heads, whole_dims, dims)
        attention = getattr(self, 'scaled_dot_product_attention', None)
        if isinstance(attention, functools.partial):  # a fixed scale
            self.scaled_dot_product_attention = functools.partial(
                attention.func, scale=dims**-0.5)
        if layer is not None:
            self.input_dims = active_features(layer, 'in_channels',
                                              layer.in_features)
        return self
