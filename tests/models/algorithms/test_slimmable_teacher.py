"""SlimmableTeacher: the joint train step, in-place distillation, init_from."""
import copy
import re
import uuid

import pytest
import torch
import torch.nn.functional as F

import pwkd_plugin  # noqa: F401  (compat fixes before mmrazor.models)
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.registry import MODELS

from pwkd_plugin.checkpoints import CheckpointMismatchError
from pwkd_plugin.models.algorithms import SlimmableTeacher

WIDTHS = (0.25, 0.5, 0.75, 1.0)
TAGS = ('width_0.25', 'width_0.5', 'width_0.75', 'width_1')
SIZE = 16
BATCH = 8


@pytest.fixture(autouse=True, scope='module')
def _single_thread():
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def classifier_cfg(arch='resnet8', channels=64, head=True):
    cfg = dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='mmrazor.CIFARResNet', arch=arch),
        neck=dict(type='GlobalAveragePooling'))
    if head:
        cfg['head'] = dict(
            type='LinearClsHead', num_classes=10, in_channels=channels)
    return cfg


def teacher_cfg(**kwargs):
    cfg = dict(
        type='SlimmableTeacher',
        architecture=classifier_cfg(),
        mutator=dict(
            type='SlimmableTeacherMutator',
            parse_cfg=dict(
                type='ChannelAnalyzer',
                demo_input=(1, 3, SIZE, SIZE),
                tracer_type='FxTracer')),
        data_preprocessor=dict(
            type='mmpretrain.ClsDataPreprocessor',
            num_classes=10,
            mean=[127.5] * 3,
            std=[127.5] * 3))
    cfg.update(kwargs)
    return cfg


def build_teacher(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(teacher_cfg(**kwargs))


def batch(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, SIZE, SIZE), generator=gen,
                          dtype=torch.uint8) for _ in range(BATCH)
        ],
        data_samples=[
            DataSample().set_gt_label(i % 10) for i in range(BATCH)
        ])


def optim_wrapper(model, lr, **kwargs):
    """An OptimWrapper around SGD, with its own message hub."""
    hub = MessageHub.get_instance(f'slimmable-teacher-test-{uuid.uuid4()}')
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 10)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr),
                           **kwargs)
    wrapper.message_hub = hub
    return wrapper


def shared_weights(model):
    """Weights every width uses (conv / linear), not the private BNs."""
    return {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if 'candidate_bn' not in name
    }


def manual_losses_and_grads(model, data, inplace_tau=None):
    """Per-width losses and mean gradient, computed by hand on a copy."""
    model = copy.deepcopy(model)
    model.train()
    processed = model.data_preprocessor(data, True)
    inputs, samples = processed['inputs'], processed['data_samples']
    params = dict(model.named_parameters())
    for p in params.values():
        p.grad = None
    losses = {}
    soft_target = None
    for width, tag in reversed(list(zip(WIDTHS, TAGS))):
        model.mutator.set_width(width)
        logits = model(inputs, samples, mode='tensor')
        if inplace_tau is not None and soft_target is not None:
            loss = F.kl_div(
                F.log_softmax(logits / inplace_tau, dim=1),
                F.softmax(soft_target / inplace_tau, dim=1),
                reduction='batchmean') * inplace_tau**2
            losses[f'{tag}.loss_inplace_kd'] = loss.detach()
        else:
            labels = torch.stack([s.gt_label for s in samples]).view(-1)
            loss = F.cross_entropy(logits, labels)
            losses[f'{tag}.loss'] = loss.detach()
            soft_target = logits.detach()
        (loss / len(WIDTHS)).backward()
    grads = {
        name: p.grad.clone()
        for name, p in params.items() if p.grad is not None
    }
    return losses, grads


def check_joint_step(model, inplace_tau=None):
    data = batch()
    expected, grads = manual_losses_and_grads(model, data, inplace_tau)
    before = shared_weights(model)
    lr = 0.5
    wrapper = optim_wrapper(model, lr, accumulative_counts=len(WIDTHS))
    model.train()
    losses = model.train_step(data, wrapper)
    assert set(losses) == set(expected)
    for key, value in expected.items():
        assert torch.isfinite(losses[key])
        torch.testing.assert_close(
            losses[key].detach(), value, rtol=1e-5, atol=1e-6, msg=key)
    after = shared_weights(model)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert 'architecture.backbone.conv1.weight' in changed
    assert 'architecture.head.fc.weight' in changed
    # One SGD step on the mean of the widths' losses (their gradients summed
    # then divided by the number of widths).
    for name in before:
        if name in grads:
            torch.testing.assert_close(
                after[name],
                before[name] - lr * grads[name],
                rtol=1e-4,
                atol=1e-6,
                msg=name)
    return losses


def test_train_step_trains_every_width_jointly():
    model = build_teacher()
    losses = check_joint_step(model)
    assert set(losses) == {f'{tag}.loss' for tag in TAGS}


def test_inplace_distillation_losses_are_kl_to_the_detached_whole_width():
    model = build_teacher(inplace_distill=True, inplace_distill_tau=2.0)
    losses = check_joint_step(model, inplace_tau=2.0)
    assert set(losses) == {'width_1.loss'} | {
        f'{tag}.loss_inplace_kd'
        for tag in TAGS[:-1]
    }
    assert all(losses[k] > 0 for k in losses)


def test_inplace_kd_loss_is_tau_squared_scaled_batchmean_kl():
    model = build_teacher(inplace_distill=True, inplace_distill_tau=4.0)
    logits = torch.randn(5, 10)
    target = torch.randn(5, 10)
    expected = F.kl_div(
        F.log_softmax(logits / 4, dim=1),
        F.softmax(target / 4, dim=1),
        reduction='batchmean') * 16
    torch.testing.assert_close(model.inplace_kd_loss(logits, target), expected)
    assert model.inplace_kd_loss(target, target).abs() < 1e-6


def test_default_optim_wrapper_steps_once_per_train_step():
    model = build_teacher()
    wrapper = optim_wrapper(model, lr=0.1)
    steps = []
    original_step = wrapper.optimizer.step

    def counting_step(*args, **kwargs):
        steps.append(model.mutator.current_width)
        return original_step(*args, **kwargs)

    wrapper.optimizer.step = counting_step
    model.train()
    model.train_step(batch(), wrapper)
    assert len(steps) == 1


def test_train_step_with_the_default_optim_wrapper_runs_every_width():
    model = build_teacher()
    before = shared_weights(model)
    wrapper = optim_wrapper(model, lr=0.1)
    model.train()
    losses = model.train_step(batch(), wrapper)
    assert set(losses) == {f'{tag}.loss' for tag in TAGS}
    assert all(torch.isfinite(v) for v in losses.values())
    after = shared_weights(model)
    assert not torch.equal(before['architecture.backbone.conv1.weight'],
                           after['architecture.backbone.conv1.weight'])


def headless_classifier():
    torch.manual_seed(0)
    return MMPRETRAIN_MODELS.build(classifier_cfg(head=False))


def test_inplace_distill_needs_a_head_attribute():
    classifier = headless_classifier()
    del classifier.head  # an architecture with no `head` at all
    assert not hasattr(classifier, 'head')
    cfg = teacher_cfg(inplace_distill=True, architecture=classifier)
    with pytest.raises(ValueError, match='inplace_distill.*head'):
        MODELS.build(cfg)


def test_inplace_distill_refuses_an_image_classifier_without_head():
    classifier = headless_classifier()
    assert classifier.head is None and not classifier.with_head
    cfg = teacher_cfg(inplace_distill=True, architecture=classifier)
    with pytest.raises(ValueError, match='inplace_distill.*head'):
        MODELS.build(cfg)


@pytest.mark.parametrize('tau', [0, -1.0])
def test_inplace_distill_tau_must_be_positive(tau):
    with pytest.raises(ValueError, match='inplace_distill_tau'):
        build_teacher(inplace_distill=True, inplace_distill_tau=tau)


# --------------------------------------------------------------- init_from


def plain_classifier(arch='resnet8', channels=64, seed=1):
    """An ordinary (not slimmable) classifier with non-trivial BNs."""
    torch.manual_seed(seed)
    model = MMPRETRAIN_MODELS.build(classifier_cfg(arch, channels))
    model.init_weights()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n) + 0.5)
                module.bias.copy_(torch.randn(n) * 0.1)
                module.running_mean.copy_(torch.randn(n) * 0.1)
                module.running_var.copy_(torch.rand(n) + 0.5)
                module.num_batches_tracked.fill_(7)
    return model.eval()


def save_plain(tmp_path, name='plain.pth', **kwargs):
    model = plain_classifier(**kwargs)
    path = str(tmp_path / name)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model, path


def test_init_from_an_ordinary_checkpoint(tmp_path):
    plain, path = save_plain(tmp_path)
    model = SlimmableTeacher(**{
        k: v
        for k, v in teacher_cfg(init_from=path).items() if k != 'type'
    })
    # The Runner calls init_weights(): the loaded weights must survive it.
    model.init_weights()
    model.eval()
    x = torch.randn(4, 3, SIZE, SIZE)
    model.mutator.set_width(1.0)
    with torch.no_grad():
        expected = plain(x, mode='tensor')
        got = model(x, mode='tensor')
    assert (got - expected).abs().max() < 1e-5
    plain_modules = dict(plain.named_modules())
    checked = 0
    for name, module in model.architecture.named_modules():
        if not isinstance(module, SwitchableBatchNorm2d):
            continue
        source = plain_modules[name]
        # At full width the SwitchableBatchNorm2d uses its own parameters
        # and statistics: the checkpoint's, whole.
        for attr in ('weight', 'bias', 'running_mean', 'running_var'):
            assert torch.equal(getattr(module, attr), getattr(source, attr))
        for key, candidate in module.candidate_bn.items():
            k = int(key)
            for attr in ('weight', 'bias', 'running_mean', 'running_var'):
                # The first k entries of the whole BN.
                assert torch.equal(
                    getattr(candidate, attr),
                    getattr(module, attr)[:k]), f'{name}.{key}.{attr}'
            if k < module.num_features:
                checked += 1
    assert checked == 9 * (len(WIDTHS) - 1)
    # The narrower widths run (with the sliced statistics).
    with torch.no_grad():
        for width in WIDTHS[:-1]:
            model.mutator.set_width(width)
            out = model(x, mode='tensor')
            assert out.shape == (4, 10) and torch.isfinite(out).all()


def test_init_from_a_checkpoint_saved_inside_an_algorithm(tmp_path):
    plain = plain_classifier()
    path = str(tmp_path / 'prefixed.pth')
    torch.save({
        'state_dict': {
            f'architecture.{k}': v
            for k, v in plain.state_dict().items()
        }
    }, path)
    model = build_teacher(init_from=path).eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        assert (model(x, mode='tensor') -
                plain(x, mode='tensor')).abs().max() < 1e-5


def test_init_from_another_depth_is_refused(tmp_path):
    _, path = save_plain(tmp_path, arch='resnet14')
    with pytest.raises(CheckpointMismatchError) as info:
        build_teacher(init_from=path)
    message = str(info.value)
    assert path in message
    assert 'not in the model' in message
    # resnet14 has a second block per stage: its keys are named.
    assert re.search(r"'backbone\.layer1\.1\.\w+\.\w+'", message), message


def test_init_from_another_width_names_the_key_and_shapes(tmp_path):
    _, path = save_plain(tmp_path, arch='resnet8x4', channels=256)
    with pytest.raises(CheckpointMismatchError) as info:
        build_teacher(init_from=path)
    message = str(info.value)
    assert 'shapes that do not fit' in message
    assert ('backbone.conv1.weight: checkpoint (32, 3, 3, 3), model '
            '(16, 3, 3, 3)') in message


def test_init_from_a_slimmable_checkpoint_is_refused(tmp_path):
    slimmable = build_teacher()
    path = str(tmp_path / 'slimmable.pth')
    torch.save({'state_dict': slimmable.state_dict()}, path)
    with pytest.raises(CheckpointMismatchError, match='already a slimmable'):
        build_teacher(init_from=path)
