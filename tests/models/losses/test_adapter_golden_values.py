"""Golden values: each partial-teacher adapter on a tiny fixed-seed model.

The losses at every width are stored in ``adapter_golden_values.json``; a
change in behaviour fails here. After an intended change, regenerate them
with ``PWKD_UPDATE_GOLDEN=1 python -m pytest`` on this file and commit the
file with the change.
"""
import json
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmrazor.models.losses import L2Loss
from mmrazor.registry import MODELS

from pwkd_plugin.models.architectures.connectors import (
    PaddedTeacherConnector, PerStageConnector, WidthMarginOFDConnector)
from pwkd_plugin.models.distillers import PartialTeacherOFDDistiller
from pwkd_plugin.models.losses import ChannelAdaptedLoss

GOLDEN = osp.join(osp.dirname(__file__), 'adapter_golden_values.json')
WIDTHS = (0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope='module')
def teacher_features():
    """The last feature map of a tiny fixed-seed slimmable ResNet8 at each
    width, and the teacher itself."""
    torch.manual_seed(0)
    teacher = MODELS.build(
        dict(
            type='SlimmableTeacher',
            architecture=dict(
                _scope_='mmpretrain',
                type='ImageClassifier',
                backbone=dict(type='mmrazor.CIFARResNet', arch='resnet8'),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead',
                    num_classes=10,
                    in_channels=64,
                    loss=dict(type='CrossEntropyLoss'))),
            mutator=dict(
                type='SlimmableTeacherMutator',
                parse_cfg=dict(
                    type='ChannelAnalyzer',
                    demo_input=(1, 3, 16, 16),
                    tracer_type='FxTracer'))))
    teacher.init_weights()
    inputs = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    features = {}
    teacher.train()
    with torch.no_grad():
        for width in WIDTHS:  # give every width's BN statistics
            teacher.mutator.set_width(width)
            teacher(inputs, mode='tensor')
        teacher.eval()
        for width in WIDTHS:
            teacher.mutator.set_width(width)
            features[width] = teacher.architecture.extract_feat(
                inputs, stage='backbone')[0]
    return teacher, features


def student_feature():
    generator = torch.Generator().manual_seed(2)
    return torch.randn(2, 64, 4, 4, generator=generator)


def computed_values(teacher, features):
    values = {}
    for strategy in ('slice', 'pad'):
        loss = ChannelAdaptedLoss(L2Loss(normalize=False), strategy)
        values[f'L2Loss/{strategy}'] = [
            loss(s_feature=student_feature(), t_feature=features[w]).item()
            for w in WIDTHS
        ]
    torch.manual_seed(3)
    embed = PaddedTeacherConnector(nn.Conv2d(64, 8, 1), in_channels=64)
    values['PaddedTeacherConnector'] = [
        embed(features[w]).pow(2).mean().item() for w in WIDTHS
    ]
    torch.manual_seed(4)
    per_stage = PerStageConnector(
        dict(
            type='ConvModuleConnector',
            in_channel=64,
            out_channel=64,
            norm_cfg=None,
            act_cfg=None), teacher.mutator)
    values['PerStageConnector+L2Loss'] = []
    for w in WIDTHS:
        teacher.mutator.set_width(w)
        values['PerStageConnector+L2Loss'].append(
            L2Loss(normalize=False)(
                s_feature=per_stage(student_feature()),
                t_feature=features[w]).item())
    distiller = PartialTeacherOFDDistiller.__new__(PartialTeacherOFDDistiller)
    bn = teacher.architecture.backbone.layer3[0].bn2
    margins = {bn.num_features: distiller._get_margin_from_BN(bn)}
    for channels, candidate in bn.candidate_bn.items():
        margins.setdefault(int(channels),
                           distiller._get_margin_from_BN(candidate))
    connector = WidthMarginOFDConnector()
    connector.init_margins(margins)
    values['WidthMarginOFDConnector'] = [
        connector.forward_train(features[w]).mean().item() for w in WIDTHS
    ]
    return values


def test_adapters_match_their_golden_values(teacher_features):
    values = computed_values(*teacher_features)
    if os.environ.get('PWKD_UPDATE_GOLDEN') == '1':
        with open(GOLDEN, 'w') as f:
            json.dump(values, f, indent=2)
    with open(GOLDEN) as f:
        golden = json.load(f)
    assert golden.keys() == values.keys()
    for name, expected in golden.items():
        assert values[name] == pytest.approx(expected, rel=1e-5), name


def test_adapters_change_nothing_at_the_whole_width(teacher_features):
    _, features = teacher_features
    plain = L2Loss(normalize=False)
    whole = torch.randn(2, 64, 4, 4)
    for strategy in ('slice', 'pad'):
        adapted = ChannelAdaptedLoss(L2Loss(normalize=False), strategy)
        assert adapted(s_feature=whole, t_feature=features[1.0]) == plain(
            s_feature=whole, t_feature=features[1.0])


def test_slice_compares_only_the_active_channels(teacher_features):
    _, features = teacher_features
    student = student_feature()
    narrow = features[0.25]
    channels = narrow.shape[1]
    sliced = ChannelAdaptedLoss(L2Loss(normalize=False), 'slice')
    padded = ChannelAdaptedLoss(L2Loss(normalize=False), 'pad')
    plain = L2Loss(normalize=False)
    assert sliced(s_feature=student, t_feature=narrow) == plain(
        s_feature=student[:, :channels], t_feature=narrow)
    zeros = torch.zeros(2, 64 - channels, 4, 4)
    assert padded(s_feature=student, t_feature=narrow) == plain(
        s_feature=student, t_feature=torch.cat([narrow, zeros], 1))


def test_ofd_margins_move_with_the_model():
    """The margins are buffers: moved (and cast) with the model once, not
    copied to the feature's device in every forward."""
    margins = {c: torch.full((1, c, 1, 1), -float(c)) for c in (2, 4)}
    connector = WidthMarginOFDConnector()
    connector.init_margins(margins)
    assert 'margin_2' not in connector.state_dict()
    connector.to(torch.float64)
    assert {n: b.dtype for n, b in connector.named_buffers()} == {
        'margin_2': torch.float64, 'margin_4': torch.float64}
    feature = torch.full((3, 4, 2, 2), -10.0, dtype=torch.float64)
    out = connector.forward_train(feature)
    assert out.dtype == torch.float64 and (out == -4.0).all()
