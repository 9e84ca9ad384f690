"""The channel tracer branches on sizes by their value on its demo input."""
import torch
import torch.fx
import torch.nn as nn
from mmpretrain.models.backbones import XCiT

from pwkd_plugin.models.dynamic_ops import FORWARD_OPS
from pwkd_plugin.models.mutators.teacher_channel_analyzer import \
    ForwardOpsTracer

from .test_shape_constants import traced_units


class BranchesOnSize(nn.Module):
    """Convolutions, then tokens if the features are a feature map
    (EfficientFormer's ``forward_tokens`` checks ``x.dim()`` after its
    last stage), then a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.classify(self.features(x))

    def features(self, x):
        x = self.conv(self.stem(x).relu())
        if x.dim() == 4:
            x = x.flatten(2).transpose(1, 2)
        return x

    def classify(self, tokens):
        return self.fc(tokens.mean(1))


class BranchesOnShapeLength(BranchesOnSize):
    """TinyViT's patch merging: ``if len(x.shape) == 3``."""

    def features(self, x):
        x = self.conv(self.stem(x).relu())
        if len(x.shape) == 4:
            x = x.flatten(2).transpose(1, 2)
        return x


class UnpacksShape(BranchesOnSize):
    """Tokens reshaped by sizes unpacked from a shape where torch.fx does
    not read the unpacking from the caller's bytecode (``tuple``; on
    Python 3.11 DaViT's ``B, N, C = x.shape`` at some call sites)."""

    def features(self, x):
        x = self.conv(self.stem(x).relu())
        batch, channels, height, width = tuple(x.shape)
        return x.reshape(batch, channels, height * width).transpose(1, 2)


class IntOfSize(BranchesOnSize):
    """Windows merged back by a batch size computed with ``int()`` (Swin's
    and DaViT's ``window_reverse``)."""

    def features(self, x):
        x = self.conv(self.stem(x).relu()).permute(0, 2, 3, 1)
        windows = x.reshape(-1, 2, 2, x.shape[-1])
        batch = int(windows.shape[0] / (x.shape[1] * x.shape[2] / 4))
        return windows.reshape(batch, -1, x.shape[-1])


class BranchesOnValues(BranchesOnSize):

    def features(self, x):
        x = self.conv(self.stem(x))
        if x.sum() > 0:
            x = x.relu()
        return x.flatten(2).transpose(1, 2)


def test_a_branch_on_a_size_is_traced_down_the_branch_taken():
    """Without the rule the tracer records ``features`` as one opaque node
    binding the stem's and the conv's channels to the input's."""
    units = traced_units(BranchesOnSize())
    assert any({('stem', True), ('conv', False)} <= unit for unit in units)
    assert any({('conv', True), ('fc', False)} <= unit for unit in units)


def test_the_length_of_a_shape_is_a_number():
    units = traced_units(BranchesOnShapeLength())
    assert any({('stem', True), ('conv', False)} <= unit for unit in units)
    assert any({('conv', True), ('fc', False)} <= unit for unit in units)


def test_a_shape_unpacked_is_its_sizes():
    """torch.fx misread the unpacking of the tokens' shape in XCiT's second
    local patch interaction: mmrazor recorded that call as one opaque node
    (``forward``), binding the stream to the graph's end."""
    model = XCiT(img_size=32, embed_dims=32, depth=2, num_heads=4,
                 cls_attn_layers=1)
    for module in model.modules():
        if type(module) in FORWARD_OPS:
            FORWARD_OPS[type(module)].convert_from(module)
    tracer = ForwardOpsTracer()
    tracer.set_demo_inputs(model, dict(x=torch.rand(1, 3, 32, 32)))
    targets = [node.target for node in tracer.trace(model).nodes]
    assert 'forward' not in targets
    for i in range(2):
        assert f'xca_layers.{i}.local_mp.conv2.conv' in targets


def test_a_shape_is_unpacked_by_its_length():
    """Without the rule torch.fx cannot iterate the shape and mmrazor's
    tracer records ``features`` as one opaque node."""
    units = traced_units(UnpacksShape())
    assert any({('stem', True), ('conv', False)} <= unit for unit in units)
    assert any({('conv', True), ('fc', False)} <= unit for unit in units)


def test_int_of_a_size_is_its_value():
    units = traced_units(IntOfSize())
    assert any({('stem', True), ('conv', False)} <= unit for unit in units)
    assert any({('conv', True), ('fc', False)} <= unit for unit in units)
    assert not hasattr(torch.fx.Proxy, '__int__')


def test_the_trace_holds_the_branch_taken():
    model = BranchesOnSize()
    tracer = ForwardOpsTracer()
    tracer.set_demo_inputs(model, dict(x=torch.rand(1, 3, 8, 8)))
    graph = tracer.trace(model)
    targets = [node.target for node in graph.nodes]
    assert 'flatten' in targets and 'features' not in targets


def test_a_branch_on_tensor_values_is_left_to_torch_fx():
    """torch.fx cannot branch on a tensor's values: mmrazor's tracer then
    records the method as one node, as before."""
    model = BranchesOnValues()
    tracer = ForwardOpsTracer()
    tracer.set_demo_inputs(model, dict(x=torch.rand(1, 3, 8, 8)))
    targets = [node.target for node in tracer.trace(model).nodes]
    assert 'features' in targets and 'relu' not in targets
