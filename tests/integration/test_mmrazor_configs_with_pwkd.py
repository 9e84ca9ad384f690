"""Every classification distillation config mmrazor 1.0.0 ships, with a
``pwkd`` block added and nothing else changed."""
import copy
import glob
import os.path as osp

import mmrazor
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.runner import CheckpointLoader
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.models.algorithms import SlimmableTeacher
from pwkd_plugin.testing.offline_configs import offline

SHIPPED = osp.join(osp.dirname(mmrazor.__file__), '.mim', 'configs',
                   'distill', 'mmcls')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(SHIPPED, '*', '*.py'))
    if '/datasets/' not in path)
#: Methods PWKD refuses, and the words of the reason.
REFUSED = {
    'byot': 'self-distillation',
    'dafl': 'data-free distillation',
    'dfad': 'data-free distillation',
    'zskt': 'data-free distillation',
}
WIDTHS = (0.25, 0.5, 0.75, 1.0)


def slimmable_teacher_checkpoint(teacher_cfg, path):
    """A slimmable version of the config's teacher, written as a
    ``slimmable`` run writes it (initial weights, statistics of one pass)."""
    torch.manual_seed(0)
    mutator = dict(
        type='SlimmableTeacherMutator',
        widths=list(WIDTHS),
        parse_cfg=dict(
            type='ChannelAnalyzer',
            demo_input=(1, 3, 32, 32),
            tracer_type='FxTracer'))
    teacher = SlimmableTeacher(
        architecture=MODELS.build(copy.deepcopy(teacher_cfg)),
        mutator=mutator)
    teacher.train()
    with torch.no_grad():
        for width in WIDTHS:
            teacher.mutator.set_width(width)
            teacher(torch.randn(4, 3, 32, 32), mode='tensor')
    model_cfg = dict(type='SlimmableTeacher', mutator=mutator)
    torch.save({
        'state_dict': teacher.state_dict(),
        'meta': dict(cfg=Config(dict(model=model_cfg)).pretty_text)
    }, path)
    return path


@pytest.fixture(scope='module')
def teacher_checkpoint(tmp_path_factory):
    """``slimmable_teacher_checkpoint`` once per teacher config: 21 configs
    share 5 teachers. The files are only read."""
    written = {}

    def checkpoint(teacher_cfg):
        key = Config(dict(teacher=teacher_cfg)).pretty_text
        if key not in written:
            path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
            written[key] = slimmable_teacher_checkpoint(teacher_cfg,
                                                        str(path))
        return written[key]

    return checkpoint


def batch(num_classes, size=4):
    generator = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 256, (3, 32, 32), generator=generator).float()
        for _ in range(size)
    ]
    samples = [
        DataSample(metainfo=dict(sample_idx=torch.tensor(i))).set_gt_label(
            i % num_classes) for i in range(size)
    ]
    return dict(inputs=inputs, data_samples=samples)


def train_every_width(model, data):
    """A step at every width, two at the first (a second step at the same
    width, after the first has updated the student); the distillation
    losses of each width's last step."""
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=0.01))
    model.train()
    for width in WIDTHS:
        model.teacher_mutator.set_width(width)
        for _ in range(2 if width == WIDTHS[0] else 1):
            losses = model.train_step(data, optim_wrapper)
        distill = {k: v for k, v in losses.items() if 'distill' in k}
        assert distill, f'no distillation loss at width {width}'
        for name, value in distill.items():
            assert torch.isfinite(value), (width, name)
            assert value.abs() > 0, (width, name)


@pytest.mark.parametrize('strategy', ['pad', 'per_stage'])
def test_fitnets_with_other_feature_strategies(strategy, teacher_checkpoint):
    config = osp.join(SHIPPED, 'fitnets',
                      'fitnets_backbone_logits_resnet50_resnet18_8xb32_in1k.py')
    cfg = Config.fromfile(config)
    offline(cfg._cfg_dict)
    cfg.pwkd = dict(
        teacher_ckpt=teacher_checkpoint(cfg.model.teacher),
        feature_strategy=strategy)
    model = MODELS.build(prepare_train_config(cfg).model)
    adapted = {k: v for k, v in model.loss_adaptation.items() if v != 'none'}
    assert adapted == {'loss_s4': strategy, 'loss_s3': strategy}
    if strategy == 'per_stage':
        connector = model.distiller.connectors['loss_s4_sfeat']
        outs = [c.conv_module.conv.out_channels for c in connector.connectors]
        assert outs == [512, 1024, 1536, 2048]
    train_every_width(model, batch(1000))


@pytest.fixture
def checkpoints_read(monkeypatch):
    """The files and URLs every checkpoint load reads, in order."""
    reads = []
    original = CheckpointLoader.load_checkpoint.__func__

    def load_checkpoint(cls, filename, *args, **kwargs):
        reads.append(filename)
        return original(cls, filename, *args, **kwargs)

    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint',
                        classmethod(load_checkpoint))
    return reads


def student_side_offline(cfg):
    """Drop the student side's downloads; the teacher stays as shipped
    (its pre-trained weights and teacher_ckpt name URLs)."""
    offline(cfg.model.architecture)
    init_cfg = cfg.model.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        cfg.model.pop('init_cfg')  # a previous stage's student checkpoint


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_shipped_config_with_a_pwkd_block(config, checkpoints_read,
                                          teacher_checkpoint):
    method = osp.basename(osp.dirname(config))
    cfg = Config.fromfile(config)
    student_side_offline(cfg)
    if method in REFUSED:
        cfg.pwkd = dict(teacher_ckpt=config)
        with pytest.raises(ValueError, match=REFUSED[method]):
            prepare_train_config(cfg)
        return
    teacher = copy.deepcopy(cfg.model.teacher)
    offline(teacher)
    ckpt = teacher_checkpoint(teacher)
    cfg.pwkd = dict(teacher_ckpt=ckpt)
    cfg = prepare_train_config(cfg)
    if cfg.get('data_preprocessor') is not None:  # as the Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.init_weights()
    # Nothing of the base teacher's own weights is fetched or read.
    assert set(checkpoints_read) == {ckpt}
    train_every_width(
        model, batch(10 if 'cifar10' in osp.basename(config) else 1000))
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_a_whole_model_pretrained_init_keeps_the_slimmable_teacher(
        tmp_path, teacher_checkpoint):
    """Factor Transfer's second stage starts from the first stage's whole
    model; an ordinary teacher in that file must not overwrite the
    slimmable one."""
    config = osp.join(
        SHIPPED, 'factor_transfer',
        'factor-transfer_backbone_resnet50_resnet18_8xb16_cifar10_train.py')
    cfg = Config.fromfile(config)
    offline(cfg._cfg_dict)
    ckpt = teacher_checkpoint(cfg.model.teacher)
    cfg.pwkd = dict(teacher_ckpt=ckpt)
    cfg = prepare_train_config(cfg)
    ordinary = MODELS.build(copy.deepcopy(cfg.model.teacher))
    stage_one = str(tmp_path / 'stage_one.pth')
    torch.save({
        'state_dict': {
            f'teacher.{k}': v + 1
            for k, v in ordinary.state_dict().items()
        }
    }, stage_one)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=stage_one)
    model = MODELS.build(cfg.model)
    before = copy.deepcopy(model.teacher.state_dict())
    model.init_weights()
    conv = 'backbone.conv1.weight'
    assert conv in ordinary.state_dict()
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
