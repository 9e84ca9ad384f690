"""An attention whose static op reads its head dims from its input has its
input bound to its heads; a class token put before the patch tokens binds
channel by channel."""
import torch
import torch.nn as nn
from mmpretrain.models.backbones.xcit import XCA, ClassAttntion

from pwkd_plugin.models.dynamic_ops import FORWARD_OPS

from .test_shape_constants import traced_units


class ClassTokenXCA(nn.Module):
    """XCiT in small: a conv stem into tokens, a residual XCA (4 heads of
    4), the class token put before the tokens, class attention; its class
    token out."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.attn = XCA(16, num_heads=4, qkv_bias=True)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.class_attn = ClassAttntion(16, num_heads=4)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        x = x + self.attn(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + torch.cat([self.class_attn(x), x[:, 1:]], dim=1)
        return x[:, 0]


class Classifier(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = ClassTokenXCA()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.backbone(x))


def _slimmable(model):
    for module in model.modules():
        if type(module) in FORWARD_OPS:
            FORWARD_OPS[type(module)].convert_from(module)
    return model


def test_the_stream_the_heads_and_the_class_token_are_one_unit():
    units = traced_units(_slimmable(Classifier()))
    stream = {(f'backbone.{name}', is_output)
              for name, is_output in [
                  ('stem', True), ('attn.qkv', False), ('attn.proj', False),
                  ('attn.proj', True), ('cls_token', True),
                  ('class_attn.q', False), ('class_attn.q', True),
                  ('class_attn.k', True), ('class_attn.v', True),
                  ('class_attn.proj', False), ('class_attn.proj', True)]}
    held = [unit for unit in units if ('backbone.stem', True) in unit]
    assert len(held) == 1 and stream | {('fc', False)} <= held[0], held
    # q, k and v of each head channel: the three spans of qkv's outputs.
    for span in ((0, 16), (16, 32), (32, 48)):
        assert ('backbone.attn.qkv', True, span) in held[0]


def test_without_the_swap_the_stream_is_not_the_heads():
    """mmpretrain's own attentions: the tracer reads their reshapes into
    heads, and no unit holds the stream with the heads."""
    units = traced_units(Classifier())
    assert not any({('backbone.stem', True), ('backbone.attn.proj', False)}
                   <= unit for unit in units)
