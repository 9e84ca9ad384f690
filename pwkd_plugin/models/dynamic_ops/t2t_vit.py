"""mmpretrain's ``T2T_ViT`` whose position table follows the width."""
import torch
import torch.fx as fx
from mmpretrain.models.backbones import T2T_ViT
from mmpretrain.models.utils import resize_pos_embed
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def add_channel_table(tokens: torch.Tensor,
                      table: torch.Tensor) -> torch.Tensor:
    """``tokens`` plus the first channels of ``table``, as many as the
    tokens have (one traced call: torch.fx cannot slice a buffer by a
    traced size)."""
    return tokens + table[..., :tokens.shape[-1]]


fx.wrap('add_channel_table')


@MODELS.register_module()
class SlimmableT2TViT(InPlaceSlimmableMixin, T2T_ViT, DynamicChannelMixin):
    """T2T-ViT whose sinusoid position table is added at the tokens'
    channels.

    mmpretrain's forward adds the whole ``pos_embed`` buffer (one entry per
    token and embedding channel) to the tokens; here its first channels, as
    many as the tokens have, so a narrow width runs (a unit keeps the first
    channels of the embedding). The channel tracer reads the table as a
    source of the embedding's channels (``channel_tables``), which the
    addition binds to the tokens'. Swapped in before tracing (see
    ``FORWARD_OPS``); it holds no mutable, its layers, class token and the
    T2T module are sliced by their own units. :meth:`to_static_op` keeps
    the table's active channels.
    """

    #: buffers read at the channels of the tokens they are added to.
    channel_tables = ('pos_embed', )

    @property
    def static_op_factory(self):
        return T2T_ViT

    def forward(self, x):
        batch = x.shape[0]
        x, patch_resolution = self.tokens_to_token(x)
        if self.cls_token is not None:
            cls_token = self.cls_token.expand(batch, -1, -1)
            x = torch.cat((cls_token, x), dim=1)
        table = resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(add_channel_table(x, table))
        outs = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i == len(self.encoder) - 1 and self.final_norm:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def active_embed_dims(self) -> int:
        """The embedding channels active at the width (the T2T module's
        projection gives them)."""
        project = self.tokens_to_token.project
        mutable = project.get_mutable_attr('out_channels') if hasattr(
            project, 'get_mutable_attr') else None
        return project.out_features if mutable is None else int(
            mutable.current_mask.sum())

    def to_static_op(self) -> T2T_ViT:
        """The backbone itself as mmpretrain's, its position table at the
        active embedding channels."""
        channels = self.active_embed_dims()
        self.to_static_class(T2T_ViT)
        self.pos_embed = self.pos_embed[..., :channels].clone()
        return self
