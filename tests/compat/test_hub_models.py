"""Fix ``hub_models``: ``cfg_path`` models from ``mmcls::`` and local files."""
import os.path as osp
import sys

import mmengine.hub
import mmengine.hub.hub as hub_module
import pytest
import torch

import pwkd_plugin  # noqa: F401  (applies the fixes)
import mmrazor.models  # noqa: F401
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS
from pwkd_plugin.compat.hub_models import get_model, patch_hub_get_model

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import run_python  # noqa: E402

#: A small mmpretrain classifier, as a user's own config file would hold it.
LOCAL_TEACHER = '''
default_scope = 'mmpretrain'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
'''


def distill_cfg(teacher_cfg_path):
    """mmrazor's SingleTeacherDistill with a ``cfg_path`` teacher."""
    return dict(
        _scope_='mmrazor',
        type='SingleTeacherDistill',
        architecture=dict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            backbone=dict(type='ResNet_CIFAR', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=512)),
        teacher=dict(cfg_path=teacher_cfg_path, pretrained=False),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc')),
            teacher_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc')),
            distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=4)),
            loss_forward_mappings=dict(
                loss_kl=dict(
                    preds_S=dict(from_student=True, recorder='fc'),
                    preds_T=dict(from_student=False, recorder='fc')))))


@pytest.fixture
def local_teacher(tmp_path):
    path = tmp_path / 'my_teacher.py'
    path.write_text(LOCAL_TEACHER)
    return str(path)


def test_without_the_fix_local_cfg_path_fails(local_teacher, tmp_path):
    result = run_python(
        f'''
# The other fixes that building needs: only the hub fix is missing.
load_fix('mmrazor_quantization').disable_mmrazor_quantization()
alias = load_fix('mmcls_alias')
alias.install_mmcls_module_alias()
alias.patch_mmcls_configs()
load_fix('package_paths').patch_mmengine_package_lookup()

import mmrazor.models
from mmrazor.registry import MODELS

r = {{'local': outcome(
    lambda: MODELS.build({distill_cfg(local_teacher)!r}))}}
import mmengine.hub
r['hub'] = outcome(lambda: mmengine.hub.get_model({local_teacher!r}))
r['pwkd_plugin_imported'] = 'pwkd_plugin' in sys.modules
report(r)
''',
        cwd=str(tmp_path))
    assert not result['pwkd_plugin_imported']
    for key in ('local', 'hub'):
        assert result[key].get('error') == 'ValueError', result[key]
        assert "just like `mmdet::faster_rcnn" in result[key]['msg']


def test_local_cfg_path_teacher_builds(local_teacher):
    torch.manual_seed(0)
    model = MODELS.build(distill_cfg(local_teacher))
    assert isinstance(model.teacher, ImageClassifier)
    assert model.teacher.head.fc.out_features == 10
    # The distiller really uses it: a loss step records the teacher's logits.
    samples = [DataSample().set_gt_label(i) for i in (1, 7)]
    losses = model(torch.randn(2, 3, 32, 32), samples, mode='loss')
    assert set(losses) == {'student.loss', 'distill.loss_kl'}
    assert all(torch.isfinite(v) for v in losses.values())


def test_missing_local_file_names_the_path(tmp_path):
    missing = str(tmp_path / 'no_such_teacher.py')
    with pytest.raises(FileNotFoundError) as info:
        MODELS.build(distill_cfg(missing))
    assert missing in str(info.value)


def test_local_file_with_pretrained_says_where_weights_go(local_teacher):
    with pytest.raises(ValueError, match='teacher_ckpt'):
        get_model(local_teacher, pretrained=True)


def test_mmcls_cfg_path_builds_an_mmpretrain_classifier():
    model = MODELS.build(
        dict(cfg_path='mmcls::resnet/resnet18_8xb16_cifar10.py',
             pretrained=False))
    assert type(model) is ImageClassifier
    assert type(model.backbone).__name__ == 'ResNet_CIFAR'
    assert model.head.fc.out_features == 10

    distiller = MODELS.build(
        distill_cfg('mmcls::resnet/resnet18_8xb16_cifar10.py'))
    assert type(distiller.teacher) is ImageClassifier


def test_hub_get_model_is_replaced_once():
    assert mmengine.hub.get_model is get_model
    assert hub_module.get_model is get_model
    assert patch_hub_get_model() is True
    assert mmengine.hub.get_model is get_model
    assert hub_module.get_model is get_model
