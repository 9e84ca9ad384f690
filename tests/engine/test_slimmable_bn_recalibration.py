"""recalibrate_bn_statistics / SlimmableBNRecalibrationHook."""
import copy
import logging
from types import SimpleNamespace

import pytest
import torch

import pwkd_plugin  # noqa: F401  (compat fixes before mmrazor.models)
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.registry import HOOKS, MODELS

from pwkd_plugin.engine.hooks import (SlimmableBNRecalibrationHook,
                                      recalibrate_bn_statistics)

WIDTHS = (0.25, 0.5, 0.75, 1.0)
SIZE = 16
BATCH = 8
GARBAGE_MEAN, GARBAGE_VAR = 123.0, 77.0


@pytest.fixture(autouse=True, scope='module')
def _single_thread():
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def build_teacher(**mutator):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SlimmableTeacher',
            architecture=dict(
                _scope_='mmpretrain',
                type='ImageClassifier',
                backbone=dict(type='mmrazor.CIFARResNet', arch='resnet8'),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead', num_classes=10, in_channels=64)),
            mutator=dict(
                type='SlimmableTeacherMutator',
                parse_cfg=dict(
                    type='ChannelAnalyzer',
                    demo_input=(1, 3, SIZE, SIZE),
                    tracer_type='FxTracer'),
                **mutator),
            data_preprocessor=dict(
                type='mmpretrain.ClsDataPreprocessor',
                num_classes=10,
                mean=[127.5] * 3,
                std=[127.5] * 3)))


def batches(num, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        dict(
            inputs=[
                torch.randint(
                    0, 256, (3, SIZE, SIZE), generator=gen,
                    dtype=torch.uint8) for _ in range(BATCH)
            ],
            data_samples=[DataSample().set_gt_label(i) for i in range(BATCH)])
        for _ in range(num)
    ]


def switchable(model):
    return {
        name: module
        for name, module in model.architecture.named_modules()
        if isinstance(module, SwitchableBatchNorm2d)
    }


def narrow_bns(model):
    """{(layer, channels): candidate BN} of every width below the whole."""
    return {(name, int(key)): bn
            for name, module in switchable(model).items()
            for key, bn in module.candidate_bn.items()
            if int(key) != module.num_features}


def whole_bns(model):
    """The whole width's batch norms.

    At full width ``SwitchableBatchNorm2d`` normalises with its own
    parameters and statistics (its ``candidate_bn`` of the full count is
    never used).
    """
    return switchable(model)


def spoil(model):
    with torch.no_grad():
        for bn in narrow_bns(model).values():
            bn.running_mean.fill_(GARBAGE_MEAN)
            bn.running_var.fill_(GARBAGE_VAR)
            bn.num_batches_tracked.fill_(1000)
        # The whole width too: it must be left exactly as it is.
        for bn in whole_bns(model).values():
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 1.5)
            bn.num_batches_tracked.fill_(5)


def buffers_of(modules):
    return {
        key: {
            'running_mean': bn.running_mean.clone(),
            'running_var': bn.running_var.clone(),
            'num_batches_tracked': bn.num_batches_tracked.clone()
        }
        for key, bn in modules.items()
    }


@torch.no_grad()
def manual_statistics(model, data, layer, width):
    """Cumulative batch statistics of a layer's input at a width."""
    model = copy.deepcopy(model)
    model.train()
    model.mutator.set_width(width)
    module = dict(model.architecture.named_modules())[layer]
    means, variances = [], []

    def hook(_, inputs):
        x = inputs[0]
        means.append(x.mean(dim=(0, 2, 3)))
        variances.append(x.var(dim=(0, 2, 3), unbiased=True))

    handle = module.register_forward_pre_hook(hook)
    for item in data:
        processed = model.data_preprocessor(item, True)
        model(processed['inputs'], processed['data_samples'], mode='tensor')
    handle.remove()
    return torch.stack(means).mean(0), torch.stack(variances).mean(0)


@pytest.mark.parametrize('previous_width, training', [(0.5, False),
                                                      (1.0, True)])
def test_recalibration_sets_narrow_stats_to_cumulative_batch_stats(
        previous_width, training):
    model = build_teacher()
    spoil(model)
    data = batches(3)
    num_batches = 2
    # Expected statistics for two BNs (stem and a deep one) at two widths,
    # computed by hand on the first two batches only.
    cases = [('backbone.bn1', 0.25, 4), ('backbone.layer3.0.bn2', 0.5, 32),
             ('backbone.layer2.0.downsample.1', 0.75, 24)]
    expected = {(layer, channels): manual_statistics(
        model, data[:num_batches], layer, width)
                for layer, width, channels in cases}
    whole_before = buffers_of(whole_bns(model))
    params_before = {
        name: p.detach().clone()
        for name, p in model.named_parameters()
    }
    model.mutator.set_width(previous_width)
    model.train(training)
    momenta = {key: bn.momentum for key, bn in narrow_bns(model).items()}

    recalibrate_bn_statistics(model, data, num_batches)

    # The previous width and mode are back.
    assert model.mutator.current_width == previous_width
    assert all(m.training == training for m in model.modules())
    # Narrow BNs: fresh statistics over exactly num_batches batches.
    narrow = narrow_bns(model)
    assert len(narrow) == 9 * 3
    for key, bn in narrow.items():
        assert bn.num_batches_tracked.item() == num_batches, key
        assert not torch.any(bn.running_mean == GARBAGE_MEAN), key
        assert not torch.any(bn.running_var == GARBAGE_VAR), key
        assert bn.momentum == momenta[key]
    for (layer, channels), (mean, var) in expected.items():
        bn = narrow[(layer, channels)]
        assert mean.shape == (channels, )
        torch.testing.assert_close(
            bn.running_mean, mean, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(bn.running_var, var, rtol=1e-4, atol=1e-4)
    # The whole width's statistics and every weight are untouched.
    for name, buffers in buffers_of(whole_bns(model)).items():
        for key, value in buffers.items():
            assert torch.equal(value, whole_before[name][key]), (name, key)
    for name, p in model.named_parameters():
        assert torch.equal(p, params_before[name]), name
        assert p.grad is None


def test_recalibration_uses_no_more_batches_than_given():
    model = build_teacher()
    spoil(model)
    recalibrate_bn_statistics(model, batches(1), num_batches=5)
    for key, bn in narrow_bns(model).items():
        assert bn.num_batches_tracked.item() == 1, key


class _Runner(SimpleNamespace):
    pass


def fake_runner(model, data, iteration=0):
    return _Runner(
        model=model,
        train_dataloader=data,
        iter=iteration,
        logger=MMLogger.get_instance(
            'slimmable-bn-test', log_level=logging.WARNING))


def test_hook_recalibrates_before_the_first_iteration_only():
    hook = HOOKS.build(
        dict(type='mmrazor.SlimmableBNRecalibrationHook', num_batches=2))
    assert isinstance(hook, SlimmableBNRecalibrationHook)
    model = build_teacher()
    spoil(model)
    # A resumed run keeps the statistics of its checkpoint.
    hook.before_train(fake_runner(model, batches(3), iteration=4))
    for bn in narrow_bns(model).values():
        assert torch.all(bn.running_mean == GARBAGE_MEAN)
    hook.before_train(fake_runner(model, batches(3)))
    for key, bn in narrow_bns(model).items():
        assert bn.num_batches_tracked.item() == 2, key
        assert not torch.any(bn.running_mean == GARBAGE_MEAN), key


@pytest.mark.parametrize('num_batches', [0, -3])
def test_hook_needs_a_batch(num_batches):
    with pytest.raises(ValueError, match='num_batches'):
        SlimmableBNRecalibrationHook(num_batches=num_batches)


def test_recalibration_leaves_layers_that_stay_whole_untouched():
    # divisor=32: the 16- and 32-channel layers keep every channel at every
    # width, so their (whole-width) batch norms run at the narrow widths.
    model = build_teacher(divisor=32, allow_mostly_whole=True)
    units = {u.num_channels: u.candidate_choices
             for u in model.mutator.mutable_units}
    assert units[16] == [16] * 4 and units[32] == [32] * 4
    spoil(model)
    whole_before = buffers_of(whole_bns(model))
    recalibrate_bn_statistics(model, batches(2), num_batches=2)
    changed = [
        name for name, buffers in buffers_of(whole_bns(model)).items()
        if not all(
            torch.equal(v, whole_before[name][k]) for k, v in buffers.items())
    ]
    assert changed == []
