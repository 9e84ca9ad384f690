"""The fast teacher copy: folding, layout and precision keep its outputs."""
import collections
import copy
import re

import pytest
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import convert_sync_batchnorm
from mmrazor.models.task_modules import RecorderManager
from mmrazor.registry import DATASETS, MODELS

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.models.algorithms import fast_teacher
from pwkd_plugin.models.algorithms.fast_teacher import (
    fold_batch_norms, make_fast_teacher, resolve_precision)
from pwkd_plugin.models.algorithms.partial_teacher import \
    static_teacher_at_width

from ...conftest import config_path

WIDTHS = (0.25, 0.5, 0.75, 1.0)
METHODS = dict(KD='demo/kd_resnet20_resnet8_digits.py',
               DKD='demo/dkd_resnet20_resnet8_digits.py',
               FitNet='demo/fitnet_resnet20_resnet8_digits.py')


def digits_batch(cfg, model, size=16):
    """Real digits images through the config's own pipeline."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    data = pseudo_collate([dataset[i] for i in range(size)])
    return model.data_preprocessor(data, True)


def kd_model_cfg(method, teacher_ckpt, **fast):
    cfg = Config.fromfile(config_path(METHODS[method]))
    cfg.model.teacher_ckpt = teacher_ckpt
    if fast:
        cfg.fast_teacher = fast
    return cfg, prepare_train_config(cfg).model


def twin_models(reference_cfg, model_cfg):
    torch.manual_seed(0)
    reference = MODELS.build(reference_cfg)
    model = MODELS.build(model_cfg)
    model.load_state_dict(reference.state_dict())
    reference.train()
    model.train()
    return reference, model


def relative(actual, expected):
    return (abs(actual - expected) / abs(expected)).item()


def batch_norms(module):
    return [n for n, m in module.named_modules()
            if isinstance(m, nn.BatchNorm2d)]


def test_precision_is_chosen_from_the_hardware(monkeypatch):
    cpu = torch.device('cpu')
    assert resolve_precision('fp32', cpu) is None
    assert resolve_precision('bf16', cpu) is torch.bfloat16
    assert resolve_precision('fp16', cpu) is torch.float16
    native = fast_teacher.cpu_has_native_bf16()
    assert native == bool(torch.cpu._is_avx512_bf16_supported()
                          or torch.cpu._is_amx_tile_supported())
    assert resolve_precision('auto', cpu) is (
        torch.bfloat16 if native else torch.float32)
    for has_bf16, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(fast_teacher, 'cpu_has_native_bf16',
                            lambda has=has_bf16: has)
        assert resolve_precision('auto', cpu) is dtype
    # No GPU here: the GPU's answers stand in. Hopper, Ampere: bf16; Volta,
    # Turing: fp16 tensor cores; Pascal: fp16 is slow there, so fp32.
    for capability, dtype in (((9, 0), torch.bfloat16),
                              ((8, 0), torch.bfloat16),
                              ((7, 5), torch.float16),
                              ((7, 0), torch.float16),
                              ((6, 1), torch.float32),
                              ((6, 0), torch.float32)):
        monkeypatch.setattr(torch.cuda, 'is_bf16_supported',
                            lambda including_emulation=True, c=capability:
                            c >= (8, 0))
        monkeypatch.setattr(torch.cuda, 'get_device_capability',
                            lambda device=None, c=capability: c)
        assert resolve_precision('auto', torch.device('cuda')) is dtype, \
            capability
    with pytest.raises(ValueError, match=r"precision must be one of .*'fp8'"):
        resolve_precision('fp8', cpu)


@pytest.fixture(scope='module')
def resnet20():
    teacher = MODELS.build(
        Config.fromfile(config_path(METHODS['KD'])).model.teacher)
    torch.manual_seed(0)
    with torch.no_grad():  # batch norm statistics away from 0 / 1
        for _ in range(3):
            teacher.train()(torch.randn(8, 3, 16, 16) * 2 + 0.5,
                            mode='tensor')
    return teacher.eval()


@pytest.fixture
def teacher(resnet20):
    return copy.deepcopy(resnet20)


def test_folded_channels_last_fp32_equals_the_teacher(teacher):
    before = copy.deepcopy(teacher.state_dict())
    fast = make_fast_teacher(teacher, torch.float32)

    assert len(batch_norms(teacher)) == 21 and not batch_norms(fast)
    assert isinstance(fast.get_submodule('backbone.bn1'), nn.Identity)
    conv = fast.get_submodule('backbone.conv1')
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(p.requires_grad for p in fast.parameters())
    inputs = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        expected = teacher(inputs, mode='tensor')
        actual = fast(inputs, mode='tensor')
    assert actual.dtype == torch.float32 and actual.is_contiguous()
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    # The teacher itself is untouched.
    assert all(torch.equal(before[k], v)
               for k, v in teacher.state_dict().items())


def test_fold_keeps_what_recorders_read(teacher):
    recorders = RecorderManager(dict(
        bn_out=dict(type='ModuleOutputs', source='backbone.layer1.0.bn1'),
        bn_in=dict(type='ModuleInputs', source='backbone.layer1.0.bn2'),
        conv_out=dict(type='ModuleOutputs', source='backbone.layer2.0.conv1'),
        bn_weight=dict(type='Parameter', source='backbone.layer3.0.bn1.weight'),
    ))
    recorders.initialize(teacher)
    inputs = torch.randn(4, 3, 16, 16)
    with recorders, torch.no_grad():
        teacher(inputs, mode='tensor')
    expected = {name: copy.deepcopy(r.data_buffer)
                for name, r in recorders.recorders.items()}

    fast = make_fast_teacher(teacher, torch.float32, recorders)
    kept = set(batch_norms(fast))
    assert kept == {'backbone.layer1.0.bn2', 'backbone.layer2.0.bn1',
                    'backbone.layer3.0.bn1'}
    assert isinstance(fast.get_submodule('backbone.layer1.0.bn1'),
                      nn.Identity)
    with recorders, torch.no_grad():
        fast(inputs, mode='tensor')
    for name, recorder in recorders.recorders.items():
        torch.testing.assert_close(recorder.data_buffer, expected[name],
                                   rtol=1e-5, atol=1e-5, msg=name)
    assert recorders.get_recorder('bn_weight').data_buffer[0] is \
        fast.get_parameter('backbone.layer3.0.bn1.weight')

    # A function recorder on a batch norm call: nothing is folded.
    recorders = RecorderManager(dict(bn=dict(
        type='FunctionOutputs', source='torch.nn.functional.batch_norm')))
    assert len(batch_norms(
        make_fast_teacher(teacher, torch.float32, recorders))) == 21


def test_bf16_recorders_and_outputs_reach_the_losses_in_fp32(teacher):
    recorders = RecorderManager(dict(
        feat=dict(type='ModuleOutputs', source='backbone.layer3'),
        bn=dict(type='ModuleOutputs', source='backbone.layer3.2.bn2'),
        logits=dict(type='ModuleOutputs', source='head.fc')))
    fast = make_fast_teacher(teacher, torch.bfloat16, recorders)
    with recorders, torch.no_grad():
        out = fast(torch.randn(2, 3, 16, 16), mode='tensor')
    assert out.dtype == torch.float32
    for recorder in recorders.recorders.values():
        record = recorder.data_buffer[0]
        assert record.dtype == torch.float32 and record.is_contiguous()
        record.view(-1)  # the standard layout: any loss can view it


def test_compile_option_keeps_outputs(teacher):
    fast = make_fast_teacher(teacher, torch.float32,
                             compile=dict(backend='eager'))
    inputs = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(fast(inputs, mode='tensor'),
                                   teacher(inputs, mode='tensor'),
                                   rtol=1e-5, atol=1e-5)


def test_fold_skips_batch_norms_in_training_mode(teacher):
    teacher.train()
    assert len(batch_norms(teacher)) == 21
    assert fold_batch_norms(copy.deepcopy(teacher)) == []


def test_fp32_leaves_the_base_algorithm_bit_for_bit(digits_teacher_ckpt):
    cfg, reference_cfg = kd_model_cfg('KD', digits_teacher_ckpt)
    _, model_cfg = kd_model_cfg('KD', digits_teacher_ckpt, precision='fp32')
    assert model_cfg.type == 'FastTeacherDistill'
    reference, model = twin_models(reference_cfg, model_cfg)
    assert model.active_teacher() is model.teacher
    data = digits_batch(cfg, model)
    expected = reference.loss(data['inputs'], data['data_samples'])
    actual = model.loss(data['inputs'], data['data_samples'])
    assert actual.keys() == expected.keys()
    assert all(torch.equal(actual[k], expected[k]) for k in expected)


@pytest.mark.parametrize('method', sorted(METHODS))
@pytest.mark.parametrize('precision', ['auto', 'bf16'])
def test_fast_teacher_losses_within_one_percent(digits_teacher_ckpt, method,
                                                precision):
    cfg, reference_cfg = kd_model_cfg(method, digits_teacher_ckpt)
    _, model_cfg = kd_model_cfg(method, digits_teacher_ckpt,
                                precision=precision)
    reference, model = twin_models(reference_cfg, model_cfg)
    data = digits_batch(cfg, model)
    expected = reference.loss(data['inputs'], data['data_samples'])
    actual = model.loss(data['inputs'], data['data_samples'])
    assert not batch_norms(model.active_teacher())
    assert actual.keys() == expected.keys()
    for name in expected:
        if name.startswith('distill.'):
            assert expected[name] > 0
            assert relative(actual[name], expected[name]) < 0.01, name
        else:  # the student's own loss does not see the teacher
            assert torch.equal(actual[name], expected[name]), name
    with torch.no_grad():
        inputs = data['inputs']
        logits = model.active_teacher()(inputs, mode='tensor')
        exact = reference.teacher(inputs, mode='tensor')
    bound = 1e-4 if model.teacher_dtype(inputs.device) == torch.float32 \
        else 0.05 * exact.abs().max().item()
    assert (logits - exact).abs().max().item() < bound


@pytest.fixture
def pwkd_cfg(digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    return cfg


@pytest.mark.parametrize('precision', ['auto', 'bf16'])
def test_pwkd_runs_the_fast_copy_at_every_width(pwkd_cfg, precision):
    pwkd_cfg.pwkd.teacher_precision = precision
    model_cfg = prepare_train_config(copy.deepcopy(pwkd_cfg)).model
    assert model_cfg.teacher_precision == precision
    reference_cfg = dict(model_cfg, teacher_precision='fp32')
    reference, model = twin_models(reference_cfg, model_cfg)
    data = digits_batch(pwkd_cfg, model)
    for width in WIDTHS:
        for each in (reference, model):
            each.teacher_mutator.set_width(width)
        fast = model.active_teacher()
        assert model.active_teacher() is fast
        assert batch_norms(reference.active_teacher()) and not batch_norms(
            fast)
        expected = reference.loss(data['inputs'], data['data_samples'])
        actual = model.loss(data['inputs'], data['data_samples'])
        assert relative(actual['distill.loss_kl'],
                        expected['distill.loss_kl']) < 0.01, width
    assert model.teacher is model._slimmable_teacher[0]


def test_pwkd_fp32_is_the_static_copy_as_it_was(pwkd_cfg):
    pwkd_cfg.pwkd.teacher_precision = 'fp32'
    model = MODELS.build(prepare_train_config(pwkd_cfg).model)
    model.train()
    model.teacher_mutator.set_width(0.5)
    data = digits_batch(pwkd_cfg, model)
    static = static_teacher_at_width(model.teacher)
    assert [type(m) for m in model.active_teacher().modules()] == \
        [type(m) for m in static.modules()]
    with torch.no_grad():
        actual = model.active_teacher()(data['inputs'], mode='tensor')
        expected = static(data['inputs'], mode='tensor')
    assert torch.equal(actual, expected)


def test_bad_precision_is_refused_when_the_config_is_read(pwkd_cfg):
    pwkd_cfg.pwkd.teacher_precision = 'half'
    with pytest.raises(ValueError,
                       match=r"pwkd.teacher_precision must be one of"):
        prepare_train_config(pwkd_cfg)


def test_deliveries_reach_the_student_in_fp32(digits_teacher_ckpt):
    cfg = Config.fromfile(config_path(METHODS['KD']))
    cfg.model.teacher_ckpt = digits_teacher_ckpt
    # The teacher's pooled features replace the student's (same shapes).
    cfg.model.distiller.distill_deliveries = dict(feats=dict(
        type='MethodOutputs', max_keep_data=1,
        method_path='mmpretrain.models.heads.LinearClsHead.pre_logits'))
    cfg.fast_teacher = dict(precision='bf16')
    model = MODELS.build(prepare_train_config(cfg).model)
    model.train()
    seen = []
    model.student.head.fc.register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0].dtype))
    data = digits_batch(cfg, model)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert seen == [torch.float32]
    assert torch.isfinite(losses['student.loss'])


def test_timm_batch_norm_act_folds_keeping_its_activation():
    pytest.importorskip('timm')
    from timm.layers import BatchNormAct2d
    from pwkd_plugin.testing.teacher_families import small_family
    torch.manual_seed(0)
    teacher = MODELS.build(dict(small_family('RegNetY (timm)'),
                                _scope_='mmpretrain'))
    with torch.no_grad():  # batch norm statistics away from 0 / 1
        teacher.train()(torch.randn(8, 3, 32, 32) * 2 + 0.5, mode='tensor')
    teacher.eval()
    norms = [n for n, m in teacher.named_modules()
             if isinstance(m, BatchNormAct2d)]
    fast = make_fast_teacher(teacher, torch.float32)
    assert len(norms) > 10
    for name in norms:
        kept = fast.get_submodule(name)
        assert isinstance(kept, nn.Sequential), name
        assert type(kept[1]) is type(teacher.get_submodule(name).act), name
    assert not [n for n, m in fast.named_modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = teacher(inputs, mode='tensor')
        actual = fast(inputs, mode='tensor')
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


class AtenCalls(TorchDispatchMode):
    """Counts the aten operators run inside the block, by name."""

    def __enter__(self):
        self.calls = collections.Counter()
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def test_reduced_precision_weights_are_cast_once(teacher):
    fast = make_fast_teacher(teacher, torch.bfloat16)
    layers = [m for m in fast.modules()
              if type(m) in (nn.Conv2d, nn.Linear)]
    assert len(layers) == 22  # 21 convolutions and the classifier
    assert all(p.dtype == torch.bfloat16 for m in layers
               for p in m.parameters())
    # What autocast gave with fp32 weights, cast on every forward.
    reference = make_fast_teacher(teacher, torch.float32)
    inputs = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            expected = reference(inputs, mode='tensor').float()
        with AtenCalls() as count:
            actual = fast(inputs, mode='tensor')
    assert torch.equal(actual, expected)
    # Casts left: the input, once per convolution (autocast's cast of its
    # fp32 input), and the output back to fp32; none of a weight.
    assert count.calls['_to_copy'] <= 2 + len(layers)
    with torch.no_grad(), AtenCalls() as reference_count, torch.autocast(
            'cpu', dtype=torch.bfloat16):
        reference(inputs, mode='tensor')
    assert reference_count.calls['_to_copy'] >= count.calls['_to_copy'] + \
        len(layers)


def test_restore_copies_a_channels_last_feature_once():
    feature = torch.randn(2, 8, 4, 4, dtype=torch.bfloat16).contiguous(
        memory_format=torch.channels_last)
    with AtenCalls() as count:
        restored = fast_teacher.restore(feature)
    assert restored.dtype == torch.float32 and restored.is_contiguous()
    assert torch.equal(restored, feature.float())
    assert sum(count.calls.values()) == 1, count.calls
    plain = torch.randn(2, 3)
    assert fast_teacher.restore(plain) is plain


def overflowing_in_fp16(teacher):
    """The teacher with logits beyond fp16's largest value (65504)."""
    with torch.no_grad():
        teacher.head.fc.weight.mul_(1e6)
    return teacher


def test_a_teacher_overflowing_in_fp16_is_refused(teacher):
    teacher = overflowing_in_fp16(teacher)
    inputs = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.isfinite(teacher(inputs, mode='tensor')).all()
        bf16 = make_fast_teacher(teacher, torch.bfloat16)
        assert torch.isfinite(bf16(inputs, mode='tensor')).all()
        fp16 = make_fast_teacher(teacher, torch.float16)
        with pytest.raises(FloatingPointError, match=re.escape(
                'The teacher (ImageClassifier) forward in fp16 gave '
                'non-finite values (inf or nan) in its outputs')):
            fp16(inputs, mode='tensor')
    # Recorded features are checked as well: here the classifier's input
    # overflows (its weights scaled instead).
    with torch.no_grad():
        teacher.head.fc.weight.div_(1e6)
        teacher.backbone.conv1.weight.mul_(1e6)
    recorders = RecorderManager(dict(
        feat=dict(type='ModuleOutputs', source='backbone.layer1')))
    fp16 = make_fast_teacher(teacher, torch.float16, recorders, name='T')
    with recorders, torch.no_grad(), pytest.raises(
            FloatingPointError, match=r'The teacher \(T\) forward in fp16'):
        fp16(inputs, mode='tensor')


def test_the_distiller_names_its_teacher_when_fp16_overflows(
        digits_teacher_ckpt):
    cfg, _ = kd_model_cfg('KD', digits_teacher_ckpt)
    _, model_cfg = kd_model_cfg('KD', digits_teacher_ckpt, precision='fp16')
    model = MODELS.build(model_cfg)
    overflowing_in_fp16(model.teacher)
    data = digits_batch(cfg, model, size=4)
    with pytest.raises(FloatingPointError, match=re.escape(
            'The teacher (ImageClassifier) forward in fp16 gave non-finite '
            "values (inf or nan) in its outputs: its activations exceed what "
            "fp16 holds (fp16: 65504). Set teacher_precision='bf16'")):
        model.loss(data['inputs'], data['data_samples'])


def test_sync_batch_norms_fold(teacher):
    synced = convert_sync_batchnorm(copy.deepcopy(teacher)).eval()
    assert sum(type(m) is nn.SyncBatchNorm for m in synced.modules()) == 21
    fast = make_fast_teacher(synced, torch.float32)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                   for m in fast.modules())
    inputs = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(
            fast(inputs, mode='tensor'), teacher(inputs, mode='tensor'),
            rtol=1e-5, atol=1e-5)


def test_tf32_is_stated(monkeypatch):
    cpu = torch.device('cpu')
    assert fast_teacher.tf32_in_use(cpu) == {
        'convolutions': False, 'matrix products': False}
    # An Ampere GPU's answers, with PyTorch's defaults (TF32 convolutions,
    # fp32 matrix products).
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'get_device_capability',
                        lambda device=None: (8, 0))
    cuda = torch.device('cuda')
    flags = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    try:
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = False
        assert fast_teacher.tf32_in_use(cuda) == {
            'convolutions': True, 'matrix products': False}
        _check_tf32_log(monkeypatch, cuda)
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = flags


def _check_tf32_log(monkeypatch, cuda):
    lines = []
    monkeypatch.setattr(
        fast_teacher.MMLogger, 'get_current_instance',
        lambda: type('Log', (), {'info': staticmethod(lines.append)}))
    fast_teacher.log_precision('FastTeacherDistill', 'fp32', None, cuda)
    fast_teacher.log_precision('FastTeacherDistill', 'auto', torch.bfloat16,
                               cuda)
    assert lines == [
        'FastTeacherDistill: teacher forward in fp32, as it is (no fast '
        "copy); its fp32 convolutions run as TF32 (PyTorch's default on "
        "this GPU) on cuda (precision='fp32')",
        'FastTeacherDistill: teacher forward in bf16, batch norms folded, '
        "channels-last on cuda (precision='auto')"]
