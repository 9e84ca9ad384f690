"""Tests of the CIFAR backbones of the CRD / DKD distillation benchmarks."""
import math

import pytest
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

import pwkd_plugin  # noqa: F401  (must come before mmrazor.models)
from mmpretrain.registry import MODELS
from pwkd_plugin.models.backbones import (CIFARResNet, CIFARVGG,
                                          CIFARWideResNet)

# (backbone type, arch, feature channels, exact parameter count of the
# ImageClassifier with a 100-class LinearClsHead). Published approximate
# counts (CRD / DKD papers): resnet20 0.28M, resnet56 0.86M, resnet110 1.7M,
# resnet8x4 1.2M, resnet32x4 7.4M, wrn_16_2 0.70M, wrn_40_1 0.57M,
# wrn_40_2 2.2M, vgg8 4.0M, vgg13 9.5M.
CASES = [
    ('CIFARResNet', 'resnet8', 64, 83_892),
    ('CIFARResNet', 'resnet14', 64, 181_108),
    ('CIFARResNet', 'resnet20', 64, 278_324),
    ('CIFARResNet', 'resnet32', 64, 472_756),
    ('CIFARResNet', 'resnet44', 64, 667_188),
    ('CIFARResNet', 'resnet56', 64, 861_620),
    ('CIFARResNet', 'resnet110', 64, 1_736_564),
    ('CIFARResNet', 'resnet8x4', 256, 1_233_540),
    ('CIFARResNet', 'resnet32x4', 256, 7_433_860),
    ('CIFARWideResNet', 'wrn_16_1', 64, 180_916),
    ('CIFARWideResNet', 'wrn_16_2', 128, 703_284),
    ('CIFARWideResNet', 'wrn_40_1', 64, 569_780),
    ('CIFARWideResNet', 'wrn_40_2', 128, 2_255_156),
    ('CIFARWideResNet', 'wrn_28_4', 256, 5_872_180),
    ('CIFARVGG', 'vgg8', 512, 3_965_028),
    ('CIFARVGG', 'vgg11', 512, 9_277_284),
    ('CIFARVGG', 'vgg13', 512, 9_462_180),
    ('CIFARVGG', 'vgg16', 512, 14_774_436),
    ('CIFARVGG', 'vgg19', 512, 20_086_692),
]
IDS = [case[1] for case in CASES]
CLASSES = {
    'CIFARResNet': CIFARResNet,
    'CIFARWideResNet': CIFARWideResNet,
    'CIFARVGG': CIFARVGG,
}


@pytest.fixture(autouse=True, scope='module')
def _single_thread():
    # The models are tiny: one intra-op thread is as fast, and avoids the
    # thread oversubscription that slows these tests down a lot when other
    # processes compete for the CPU cores.
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def build_classifier(backbone_type, arch, channels, **backbone_kwargs):
    return MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(
                type=f'mmrazor.{backbone_type}', arch=arch,
                **backbone_kwargs),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=100,
                in_channels=channels,
                loss=dict(type='mmpretrain.CrossEntropyLoss'))))


@pytest.mark.parametrize('backbone_type,arch,channels,num_params', CASES,
                         ids=IDS)
def test_classifier_param_count_forward_and_fx_trace(backbone_type, arch,
                                                     channels, num_params):
    model = build_classifier(backbone_type, arch, channels)
    assert isinstance(model.backbone, CLASSES[backbone_type])
    assert sum(p.numel() for p in model.parameters()) == num_params
    model.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        logits = model(x)
        feats = model.backbone(x)
    assert logits.shape == (2, 100)
    assert isinstance(feats, tuple) and len(feats) == 1
    # CRD's VGG does not pool after group 3 on 32x32 inputs.
    size = 4 if backbone_type == 'CIFARVGG' else 8
    assert feats[0].shape == (2, channels, size, size)

    graph_module = torch.fx.symbolic_trace(model.backbone)
    with torch.no_grad():
        traced = graph_module(x)
    assert len(traced) == 1
    torch.testing.assert_close(traced[0], feats[0])


@pytest.mark.parametrize('cls', [CIFARResNet, CIFARWideResNet, CIFARVGG])
def test_invalid_arch_raises(cls):
    with pytest.raises(ValueError, match=r"'resnet18'.*valid archs"):
        cls(arch='resnet18')
    with pytest.raises(ValueError, match='out_indices'):
        cls(arch=sorted(cls.arch_settings)[0], out_indices=(7, ))


@pytest.mark.parametrize(
    'cls,kwargs,shapes',
    [
        (CIFARResNet, dict(arch='resnet8x4', out_indices=(0, 1, 2)),
         [(64, 32), (128, 16), (256, 8)]),
        (CIFARResNet, dict(arch='resnet20', out_indices=(-2, -1)),
         [(32, 16), (64, 8)]),
        (CIFARWideResNet, dict(arch='wrn_40_2', out_indices=(0, 1, 2)),
         [(32, 32), (64, 16), (128, 8)]),
        (CIFARVGG, dict(arch='vgg8', out_indices=(0, 1, 2, 3, 4)),
         [(64, 32), (128, 16), (256, 8), (512, 4), (512, 4)]),
        (CIFARVGG, dict(arch='vgg8', out_indices=(3, 4), with_pool3=True),
         [(512, 4), (512, 2)]),
    ],
    ids=['resnet8x4', 'resnet20', 'wrn_40_2', 'vgg8', 'vgg8_pool3'])
def test_out_indices(cls, kwargs, shapes):
    backbone = cls(**kwargs)
    with torch.no_grad():
        outs = backbone(torch.rand(1, 3, 32, 32))
    assert [(o.shape[1], o.shape[2]) for o in outs] == shapes
    torch.fx.symbolic_trace(backbone)


@pytest.mark.parametrize('backbone_type,arch,channels',
                         [('CIFARResNet', 'resnet8', 64),
                          ('CIFARWideResNet', 'wrn_16_1', 64),
                          ('CIFARVGG', 'vgg8', 512)])
def test_mmrazor_channel_analyzer_fx(backbone_type, arch, channels):
    from mmrazor.models.task_modules.tracer.channel_analyzer import \
        ChannelAnalyzer
    model = build_classifier(backbone_type, arch, channels)
    units = ChannelAnalyzer(
        demo_input=(1, 3, 32, 32), tracer_type='FxTracer').analyze(model)
    assert len(units) > 0


def test_init_weights_follows_crd():
    backbone = CIFARVGG('vgg8')
    backbone.init_weights()
    conv = backbone.block4[0]
    fan_out = conv.out_channels * 9
    assert abs(conv.weight.std().item() - math.sqrt(2 / fan_out)) < 5e-3
    assert torch.all(conv.bias == 0)
    assert torch.all(backbone.block4[1].weight == 1)


# --------------------------------------------------------------------------
# Equivalence with the reference code: transcriptions of RepDistiller's
# models/{resnet,wrn,vgg}.py (identical in mdistiller), classifier included.
# --------------------------------------------------------------------------
class _CRDResBlock(nn.Module):

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return F.relu(out)


class _CRDResNet(nn.Module):

    def __init__(self, depth, num_filters, num_classes=100):
        super().__init__()
        n = (depth - 2) // 6
        self.inplanes = num_filters[0]
        self.conv1 = nn.Conv2d(3, num_filters[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(num_filters[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(num_filters[1], n)
        self.layer2 = self._make_layer(num_filters[2], n, stride=2)
        self.layer3 = self._make_layer(num_filters[3], n, stride=2)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(num_filters[3], num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))
        layers = [_CRDResBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [_CRDResBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


class _CRDWRNBlock(nn.Module):

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equalInOut = in_planes == out_planes
        self.convShortcut = (not self.equalInOut) and nn.Conv2d(
            in_planes, out_planes, 1, stride, 0, bias=False) or None

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out if self.equalInOut else x)))
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)


class _CRDWideResNet(nn.Module):

    def __init__(self, depth, widen_factor, num_classes=100):
        super().__init__()
        ch = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False)
        self.block1 = self._group(n, ch[0], ch[1], 1)
        self.block2 = self._group(n, ch[1], ch[2], 2)
        self.block3 = self._group(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(ch[3], num_classes)

    @staticmethod
    def _group(n, in_planes, out_planes, stride):
        return nn.Sequential(*[
            _CRDWRNBlock(in_planes if i == 0 else out_planes, out_planes,
                         stride if i == 0 else 1) for i in range(n)
        ])

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = self.relu(self.bn1(out))
        return self.fc(F.avg_pool2d(out, 8).flatten(1))


class _CRDVGG(nn.Module):

    def __init__(self, cfg, num_classes=100):
        super().__init__()
        in_channels = 3
        for i, group in enumerate(cfg):
            layers = []
            for v in group:
                layers += [
                    nn.Conv2d(in_channels, v, 3, padding=1),
                    nn.BatchNorm2d(v),
                    nn.ReLU(inplace=True)
                ]
                in_channels = v
            self.add_module(f'block{i}', nn.Sequential(*layers[:-1]))
        self.pool = nn.MaxPool2d(2, 2)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        h = x.shape[2]
        x = self.pool(F.relu(self.block0(x)))
        x = self.pool(F.relu(self.block1(x)))
        x = self.pool(F.relu(self.block2(x)))
        x = F.relu(self.block3(x))
        if h == 64:
            x = self.pool(x)
        x = F.relu(self.block4(x))
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))


def _randomize(model):
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if 'running_var' in name:
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif tensor.dtype.is_floating_point:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.1)


@pytest.mark.parametrize(
    'arch,reference,size,kwargs',
    [
        ('resnet20', lambda: _CRDResNet(20, [16, 16, 32, 64]), 32, {}),
        ('resnet8x4', lambda: _CRDResNet(8, [32, 64, 128, 256]), 32, {}),
        ('wrn_16_1', lambda: _CRDWideResNet(16, 1), 32, {}),
        ('wrn_16_2', lambda: _CRDWideResNet(16, 2), 32, {}),
        ('vgg8', lambda: _CRDVGG([[64], [128], [256], [512], [512]]), 32, {}),
        ('vgg11',
         lambda: _CRDVGG([[64], [128], [256, 256], [512, 512], [512, 512]]),
         32, {}),
        ('vgg8', lambda: _CRDVGG([[64], [128], [256], [512], [512]]), 64,
         dict(with_pool3=True)),
    ],
    ids=['resnet20', 'resnet8x4', 'wrn_16_1', 'wrn_16_2', 'vgg8', 'vgg11',
         'vgg8_64px_pool3'])
def test_matches_crd_reference(arch, reference, size, kwargs):
    backbone_type = next(c[0] for c in CASES if c[1] == arch)
    channels = next(c[2] for c in CASES if c[1] == arch)
    model = build_classifier(backbone_type, arch, channels, **kwargs)
    ref = reference()
    _randomize(model)
    # Parameters/buffers are created in the same order as in the reference.
    src = list(model.state_dict().values())
    dst = ref.state_dict()
    assert [tuple(t.shape) for t in src] == [
        tuple(t.shape) for t in dst.values()
    ]
    ref.load_state_dict(dict(zip(dst.keys(), src)))
    x = torch.randn(2, 3, size, size)
    for training in (True, False):
        model.train(training)
        ref.train(training)
        with torch.no_grad():
            torch.testing.assert_close(
                model(x), ref(x), rtol=1e-5, atol=1e-5)
