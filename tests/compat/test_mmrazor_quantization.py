"""Fix ``mmrazor_quantization``: mmrazor's models import on torch >= 2.1."""
import sys
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

import pwkd_plugin  # noqa: F401  (applies the fixes)
from pwkd_plugin.compat import (MMRazorQuantizationUnavailable,
                                apply_compat_fixes,
                                disable_mmrazor_quantization)
from pwkd_plugin.compat.mmrazor_quantization import MODULE_NAME

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import run_python  # noqa: E402

GLOBAL_QCONFIG = dict(
    w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
    a_observer=dict(type='mmrazor.MovingAverageMinMaxObserver'),
    w_fake_quant=dict(type='mmrazor.FakeQuantize'),
    a_fake_quant=dict(type='mmrazor.FakeQuantize'),
    w_qscheme=dict(qdtype='qint8', bit=8, is_symmetry=True),
    a_qscheme=dict(qdtype='quint8', bit=8, is_symmetry=True))

CIFAR_CLASSIFIER = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512))


@pytest.fixture(autouse=True)
def mmrazor_scope():
    # Builds as under a Runner of mmrazor, whatever scope earlier tests left.
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


def assert_unavailable_message(error):
    message = str(error)
    assert f'torch {torch.__version__}' in message
    assert 'quantization' in message and 'disables it' in message
    assert 'mmrazor.structures.quantization' in message


def test_mmrazor_models_do_not_import_without_the_fix(tmp_path):
    result = run_python(
        '''
import torch
r = outcome(lambda: __import__('mmrazor.models'))
r['pwkd_plugin_imported'] = 'pwkd_plugin' in sys.modules
r['torch'] = torch.__version__
report(r)
''', cwd=str(tmp_path))
    assert not result['pwkd_plugin_imported']
    assert result['torch'] == torch.__version__
    assert 'ImportError' in result.get('mro', []), result
    # mmrazor's own placeholder for the missing torch quantization helpers.
    assert 'torch>=1.13' in result['msg']


def test_mmrazor_models_import_with_the_fix():
    import mmrazor.models  # noqa: F401
    from mmrazor.registry import MODELS

    for name in ('SingleTeacherDistill', 'ConfigurableDistiller',
                 'KLDivergence', 'DKDLoss', 'SlimmableChannelMutator',
                 'SlimmableNetwork'):
        cls = MODELS.get(name)
        assert cls is not None, name
        assert cls.__module__.startswith('mmrazor.models.'), cls
    # The real module was never imported: the stand-in is in its place.
    stand_in = sys.modules[MODULE_NAME]
    assert type(stand_in).__name__ == '_DisabledQuantizationModule'
    assert stand_in.BackendConfigs == {}


def test_distillation_parts_still_work():
    from mmrazor.registry import MODELS

    torch.manual_seed(0)
    loss = MODELS.build(dict(type='mmrazor.KLDivergence', tau=1))
    logits = torch.randn(4, 10)
    assert loss(logits, logits).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(logits, torch.randn(4, 10)).item() > 0


def test_qconfig_handler_raises_the_reason():
    from mmrazor.structures.quantization import QConfigHandler

    with pytest.raises(MMRazorQuantizationUnavailable) as info:
        QConfigHandler(GLOBAL_QCONFIG)
    assert_unavailable_message(info.value)
    assert isinstance(info.value, ImportError)


def test_any_other_name_of_the_module_raises_the_reason():
    import mmrazor.structures.quantization as quantization

    with pytest.raises(MMRazorQuantizationUnavailable) as info:
        quantization.get_academic_backend_config()
    assert_unavailable_message(info.value)
    with pytest.raises(MMRazorQuantizationUnavailable):
        quantization.QSchemeHandler(qdtype='qint8')
    with pytest.raises(AttributeError):
        quantization.__wrapped__  # dunder lookups stay attribute errors


@pytest.mark.parametrize('quantizer', [
    dict(type='mmrazor.TensorRTQuantizer', global_qconfig=GLOBAL_QCONFIG),
    dict(type='mmrazor.OpenVINOQuantizer', global_qconfig=GLOBAL_QCONFIG),
    dict(
        type='mmrazor.AcademicQuantizer',
        qconfig_mapping=dict(_global_=GLOBAL_QCONFIG)),
],
                         ids=lambda cfg: cfg['type'])
def test_building_a_quantizer_raises_the_reason(quantizer):
    from mmrazor.registry import MODELS

    with pytest.raises(MMRazorQuantizationUnavailable) as info:
        MODELS.build(quantizer)
    assert_unavailable_message(info.value)


def test_building_mm_architecture_quant_raises_the_reason():
    from mmrazor.registry import MODELS

    with pytest.raises(MMRazorQuantizationUnavailable) as info:
        MODELS.build(
            dict(
                type='mmrazor.MMArchitectureQuant',
                architecture=CIFAR_CLASSIFIER,
                quantizer=dict(
                    type='mmrazor.TensorRTQuantizer',
                    global_qconfig=GLOBAL_QCONFIG)))
    assert_unavailable_message(info.value)


def test_disabling_again_is_a_no_op():
    stand_in = sys.modules[MODULE_NAME]
    assert disable_mmrazor_quantization() is True
    apply_compat_fixes()
    assert disable_mmrazor_quantization() is True
    assert sys.modules[MODULE_NAME] is stand_in
    import mmrazor.structures.quantization as again
    assert again is stand_in


def test_a_backend_config_lookup_raises_the_reason():
    from mmrazor.structures.quantization import BackendConfigs

    assert 'native' not in BackendConfigs and len(BackendConfigs) == 0
    with pytest.raises(MMRazorQuantizationUnavailable) as info:
        BackendConfigs['native']
    assert not isinstance(info.value, KeyError)
    assert "'native'" in str(info.value)
    assert_unavailable_message(info.value)
