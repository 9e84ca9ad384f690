"""Every width of each CNN family is checked when the teacher is made.

Grouped convolutions (ResNeXt, RegNetX), concatenation (DenseNet), depthwise
+ squeeze-excitation with "same" padding (EfficientNet-B0): every width
forwards, no layer is left whole, the static copy at 0.25 keeps at most 0.25
of the whole's FLOPs and 0.35 of its parameters. A width that cannot run and
a mostly whole teacher (ConvNeXt's LayerNorms) are refused with the module
and the reason.
"""
import pytest
import torch
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.registry import MODELS

from pwkd_plugin.models.mutators import (MostlyWholeTeacherError,
                                         WidthForwardError)
from pwkd_plugin.models.mutators.width_check import macs_per_width
from pwkd_plugin.models.utils.conv_linear_macs import conv_linear_macs
from pwkd_plugin.testing.teacher_families import (SMALL_FAMILIES, classifier,
                                                  small_family)

SIZE = 32


def build(architecture, **mutator):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SlimmableTeacher',
            architecture=dict(architecture, _scope_='mmpretrain'),
            mutator=dict(
                type='SlimmableTeacherMutator',
                parse_cfg=dict(
                    type='ChannelAnalyzer',
                    demo_input=(1, 3, SIZE, SIZE),
                    tracer_type='FxTracer'),
                **mutator)))


def cost(model, inputs):
    macs = conv_linear_macs(model, lambda: model(inputs, mode='tensor'),
                            len(inputs))
    return macs, sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('name', list(SMALL_FAMILIES))
def test_family_width_quarter_is_partial(name):
    model = build(small_family(name)).eval()
    assert model.mutator.whole_layers == []
    inputs = torch.rand(2, 3, SIZE, SIZE)
    whole = cost(model.static_architecture(1.0), inputs)
    static = model.static_architecture(0.25)
    quarter = cost(static, inputs)
    assert quarter[0] <= 0.25 * whole[0], quarter[0] / whole[0]
    assert quarter[1] <= 0.35 * whole[1], quarter[1] / whole[1]
    model.mutator.set_width(0.25)
    with torch.no_grad():
        assert torch.allclose(
            static(inputs, mode='tensor'),
            model(inputs, mode='tensor'),
            atol=1e-5)


def test_grouped_norms_get_a_private_norm_per_width():
    """A grouped unit appears once per group: its norms see groups x count.

    With 8 groups of 4 channels (the first bottleneck, 32 channels), width
    0.25 keeps one channel of every group: 8 channels reach the norm.
    """
    model = build(small_family('ResNeXt'))
    norm = model.architecture.backbone.layer1[0].bn2
    assert isinstance(norm, SwitchableBatchNorm2d)
    assert sorted(int(k) for k in norm.candidate_bn) == [8, 16, 24, 32]
    assert model.architecture.backbone.layer1[0].conv2.groups == 8


def test_a_width_that_cannot_run_is_refused_naming_the_module():
    model = build(small_family('ResNeXt'))
    del model.architecture.backbone.layer1[0].bn2.candidate_bn['8']
    with pytest.raises(WidthForwardError) as info:
        macs_per_width(model.mutator, model.architecture, (1, 3, SIZE, SIZE))
    message = str(info.value)
    assert 'width 0.25' in message
    assert "'backbone.layer1.0.bn2' (SwitchableBatchNorm2d)" in message
    assert 'the 8 channels reaching this switchable batch norm' in message


CONVNEXT = classifier(
    dict(
        type='ConvNeXt',
        arch=dict(depths=[1, 1], channels=[16, 32]),
        out_indices=(1, )), 32)
CONVNEXT['neck'] = None  # ConvNeXt pools its output itself


def test_a_mostly_whole_teacher_is_refused_with_its_whole_layers():
    with pytest.raises(MostlyWholeTeacherError) as info:
        build(CONVNEXT)
    message = str(info.value)
    assert 'width 0.25' in message and 'allow_mostly_whole=True' in message
    assert 'backbone.stages.0.0.norm: LayerNorm2d has no slimmable op' in \
        message


def test_a_mostly_whole_teacher_trains_when_opted_in():
    model = build(CONVNEXT, allow_mostly_whole=True)
    macs = model.mutator.width_macs
    assert macs[0.25] > 0.5 * macs[1.0]
    assert 'backbone.stages.0.0.norm' in model.mutator.whole_layers
