"""PWKDDistill runs its teacher forward on a static copy of the active width."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample
from mmrazor.models.architectures.dynamic_ops import DynamicMixin
from mmrazor.registry import MODELS

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.export import static_classifier_config
from pwkd_plugin.models.utils import build_classifier

from ...conftest import config_path

WIDTHS = (0.25, 0.5, 0.75, 1.0)


@pytest.fixture
def model_cfg(digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    # The static copy as it is; the fast copy: test_fast_teacher*.py.
    model = prepare_train_config(cfg).model
    model.teacher_precision = 'fp32'
    return model


def batch(size=6):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand((size, 3, 32, 32), generator=generator) * 16
    samples = [DataSample().set_gt_label(i % 10) for i in range(size)]
    return inputs, samples


def num_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('width', WIDTHS)
def test_static_copy_is_an_ordinary_network_of_the_width(model_cfg, width):
    model = MODELS.build(model_cfg)
    model.teacher_mutator.set_width(width)
    static = model.active_teacher()

    assert static is not model.teacher
    assert not any(isinstance(m, DynamicMixin) for m in static.modules())
    assert not static.training
    assert not any(p.requires_grad for p in static.parameters())
    ordinary = build_classifier(
        static_classifier_config(model_cfg.teacher, width))
    assert num_params(static) == num_params(ordinary)
    assert static.state_dict().keys() == ordinary.state_dict().keys()

    inputs, _ = batch()
    with torch.no_grad():
        expected = model.teacher(inputs, mode='tensor')
        actual = static(inputs, mode='tensor')
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    # The slimmable teacher itself is unchanged (checkpoints hold it).
    assert any(isinstance(m, DynamicMixin) for m in model.teacher.modules())


def test_losses_equal_those_of_the_sliced_teacher(model_cfg):
    torch.manual_seed(0)
    static_model = MODELS.build(model_cfg)
    sliced_model = MODELS.build(dict(model_cfg, static_teacher=False))
    sliced_model.load_state_dict(static_model.state_dict())
    inputs, samples = batch()
    for width in WIDTHS:
        for model in (static_model, sliced_model):
            model.teacher_mutator.set_width(width)
        with torch.no_grad():
            expected = sliced_model.loss(inputs, copy.deepcopy(samples))
            actual = static_model.loss(inputs, copy.deepcopy(samples))
        assert actual.keys() == expected.keys()
        for name in expected:
            torch.testing.assert_close(
                actual[name], expected[name], rtol=1e-5, atol=1e-6,
                msg=f'{name} at width {width}')
        assert actual['distill.loss_kl'] > 0
    assert sliced_model.active_teacher() is sliced_model.teacher


def test_static_copy_follows_width_weights_and_moves(model_cfg):
    model = MODELS.build(model_cfg)
    model.teacher_mutator.set_width(0.5)
    first = model.active_teacher()
    assert model.active_teacher() is first
    model.teacher_mutator.set_width(0.75)
    assert model.active_teacher() is not first

    # New teacher weights (a loaded checkpoint) reach the copy.
    before = model.active_teacher()
    state = model.state_dict()
    state['teacher.head.fc.weight'] = state['teacher.head.fc.weight'] * 2
    model.load_state_dict(state)
    after = model.active_teacher()
    assert after is not before
    full = model.teacher.head.fc.weight
    torch.testing.assert_close(after.head.fc.weight,
                               full[:, :after.head.fc.in_features])

    model.to(torch.float64)
    assert model.active_teacher().head.fc.weight.dtype == torch.float64
    assert model.active_teacher() is not after


def test_the_width_is_readable_while_the_static_copy_runs(model_cfg):
    model = MODELS.build(model_cfg)
    model.teacher_mutator.set_width(0.5)
    seen = []
    model.student.register_forward_hook(
        lambda *_: seen.append((model.teacher_mutator.current_width,
                                model.teacher is model.active_teacher())))
    inputs, samples = batch()
    model.loss(inputs, samples)
    assert seen == [(0.5, True)]
    # Afterwards the model holds its slimmable teacher again.
    assert any(isinstance(m, DynamicMixin) for m in model.teacher.modules())
    assert not any(k.startswith('_') for k in model.state_dict())
