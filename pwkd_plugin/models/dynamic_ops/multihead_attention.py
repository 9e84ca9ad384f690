"""mmpretrain's ``MultiheadAttention`` over the heads active at a width."""
import torch
from mmpretrain.models.utils.attention import MultiheadAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .proj_heads import ProjHeadsMixin, attend, split_heads


@MODELS.register_module()
class SlimmableMultiheadAttention(ProjHeadsMixin, MultiheadAttention,
                                  DynamicChannelMixin):
    """Multi-head self-attention whose head count follows the width.

    The heads unit of the attention (``num_features``: ``num_heads *
    head_dims``) slices the outputs of ``qkv`` as three spans (the first
    heads of q, k and v) and the inputs of ``proj``; each head keeps its
    ``head_dims``. The forward splits the ``qkv`` output into q, k and v
    along its features and reads the head count from them, so it needs no
    state of its own: wherever the attention sits (swapped in before
    tracing, ``FORWARD_OPS``), the channel tracer gives each of q, k and v
    its span of ``qkv``'s outputs (``splits_by_width``), binds them head
    dim by head dim and passes them on to ``proj``: that is the heads unit.
    :meth:`to_static_op` gives mmpretrain's attention of the active
    ``num_heads`` and ``embed_dims``. A layer scale on its output
    (``gamma1``) is sliced with the embedding's unit.
    """

    input_layer = 'qkv'

    #: its input is its embedding of ``num_heads * head_dims`` (mmpretrain's
    #: ``input_dims`` defaults to ``embed_dims``): ``qkv``'s inputs narrow
    #: by whole heads too (:func:`~pwkd_plugin.models.mutators.
    #: head_channels.head_layers`), so each width's embedding is one an
    #: mmpretrain config of ``num_heads`` heads expresses.
    embeds_in_heads = True

    @property
    def static_op_factory(self):
        return MultiheadAttention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Sizes by index: torch.fx cannot unpack a traced shape or split
        # once mmrazor's tracer has wrapped this method. The head count is
        # read from the qkv output, not from a piece of it: a piece read
        # only for its size would be an end of the traced graph, binding
        # its channels into one.
        batch, tokens = x.shape[0], x.shape[1]
        qkv = self.qkv(x)
        heads, dims = split_heads(qkv.shape[-1] // 3, self.num_heads,
                                  self.head_dims)
        qkv = qkv.chunk(3, dim=-1)
        q, k, v = (qkv[part].reshape(batch, tokens, heads,
                                     dims).transpose(1, 2)
                   for part in range(3))
        x = attend(self, q, k, v, dims)
        x = x.transpose(1, 2).reshape(batch, tokens, heads * dims)
        x = self.proj(x)
        x = self.out_drop(self.gamma1(self.proj_drop(x)))
        if self.v_shortcut:
            x = v.squeeze(1) + x
        return x
