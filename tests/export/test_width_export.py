"""Taking a width out of a slimmable teacher: export_width and its tool.

The exported config and checkpoint are loaded in a fresh Python process that
imports mmpretrain (and, for the plugin's own backbones, only what the
exported config's ``custom_imports`` names), and must reproduce the slimmable
teacher's output at that width.
"""
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.export import WIDTH_RECIPES, WidthExportError, export_width
from pwkd_plugin.export.width_export import compare_state_shapes
from pwkd_plugin.models.backbones import (CIFARResNet, CIFARVGG,
                                          CIFARWideResNet)
from pwkd_plugin.models.utils import slim_channels

from ..conftest import REPO_ROOT, config_path, shrink
from ..script_runs import run_script

DIGITS = config_path('pwkd/teachers/slimmable_resnet20_digits.py')
INPUT_SHAPE = (3, 16, 16)

# Runs in a fresh process: load each exported config + checkpoint with plain
# mmengine / mmpretrain and write the model's output on a fixed input.
LOADER = textwrap.dedent('''
    import json
    import sys

    import torch
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    spec = json.loads(sys.argv[1])
    inputs = torch.load(spec['inputs'])
    for case in spec['cases']:
        # For the plugin's backbones, the exported config's custom_imports
        # imports pwkd_plugin.models.backbones: the backbone classes must be
        # registered to be built. Nothing else of the plugin is imported.
        cfg = Config.fromfile(case['config'])
        model = MODELS.build(cfg.model)
        load_checkpoint(model, case['checkpoint'], map_location='cpu',
                        strict=True, logger='silent')
        model.eval()
        with torch.no_grad():
            torch.save(model(inputs, mode='tensor'), case['output'])
        # What loading the cases so far imported.
        case['modules'] = dict(
            pwkd_plugin='pwkd_plugin' in sys.modules,
            pwkd_backbones='pwkd_plugin.models.backbones' in sys.modules,
            mmrazor='mmrazor' in sys.modules)
    print(json.dumps([case['modules'] for case in spec['cases']]))
''')


@pytest.fixture(autouse=True, scope='module')
def _single_thread():
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def _train(cfg: Config, work_dir: str):
    """A real, short Runner run of a slimmable teacher (2 iterations of every
    width), so that every width's batch norms hold statistics of their
    own."""
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg = shrink(cfg, work_dir, num_train=32, batch_size=16)
    runner = Runner.from_cfg(prepare_train_config(cfg))
    runner.train()
    return runner.model, osp.join(work_dir, 'epoch_1.pth')


def _outputs(teacher, inputs):
    """The teacher's eval-mode output at every width."""
    teacher.eval()
    outputs = {}
    with torch.no_grad():
        for width in teacher.mutator.widths:
            teacher.mutator.set_width(width)
            outputs[width] = teacher(inputs, mode='tensor')
    return outputs


def _load_in_fresh_process(tmp_path, results, inputs):
    inputs_path = str(tmp_path / 'inputs.pth')
    torch.save(inputs, inputs_path)
    cases = [
        dict(
            config=r['config'],
            checkpoint=r['checkpoint'],
            output=str(tmp_path / f'out_{i}.pth'))
        for i, r in enumerate(results)
    ]
    proc = subprocess.run(
        [
            sys.executable, '-c', LOADER,
            json.dumps(dict(inputs=inputs_path, cases=cases))
        ],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    return [torch.load(case['output']) for case in cases], modules


@pytest.fixture(scope='module')
def digits_teacher(tmp_path_factory):
    """The slimmable ResNet20 digits teacher: checkpoint, a fixed input and
    the teacher's eval-mode output on it at every width."""
    work_dir = str(tmp_path_factory.mktemp('slimmable_digits'))
    teacher, ckpt = _train(Config.fromfile(DIGITS), work_dir)
    inputs = torch.randn((4, *INPUT_SHAPE),
                         generator=torch.Generator().manual_seed(1))
    return ckpt, inputs, _outputs(teacher, inputs)


@pytest.fixture(scope='module')
def exported(digits_teacher, tmp_path_factory):
    """Widths 0.25 and 1.0 of the digits teacher (plugin backbone) and 0.5 of
    a slimmable mmpretrain ResNet_CIFAR-18, exported and loaded back in one
    fresh process (one process for both saves a few seconds of imports):
    the pure mmpretrain case first, so that the process state after it shows
    what loading it imported."""
    tmp_path = tmp_path_factory.mktemp('exported')
    ckpt, inputs, expected = digits_teacher
    digits = [
        export_width(DIGITS, ckpt, width, str(tmp_path / 'digits'))
        for width in (0.25, 1.0)
    ]

    cfg = Config.fromfile(DIGITS)
    cfg.model.backbone = dict(type='ResNet_CIFAR', depth=18)
    cfg.model.head.in_channels = 512
    source = copy.deepcopy(cfg)
    # mmpretrain's own data in the exported sections (not built here): the
    # export then names nothing of the plugin.
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        source[loader].dataset.type = 'CIFAR10'
    resnet18, resnet18_ckpt = _train(cfg, str(tmp_path / 'train_resnet18'))
    resnet18_expected = _outputs(resnet18, inputs)[0.5]
    resnet18_result = export_width(source, resnet18_ckpt, 0.5,
                                   str(tmp_path / 'resnet18'))

    outputs, modules = _load_in_fresh_process(tmp_path,
                                              [resnet18_result, *digits],
                                              inputs)
    return dict(
        digits=(ckpt, digits, outputs[1:], [expected[0.25], expected[1.0]],
                modules[1:]),
        resnet18=(resnet18_ckpt, resnet18_result, outputs[0],
                  resnet18_expected, modules[0]))


def _check_checkpoint(result, width, source_ckpt):
    ckpt = torch.load(result['checkpoint'])
    assert set(ckpt) == {'meta', 'state_dict'}
    assert ckpt['meta']['width'] == width
    assert ckpt['meta']['source_checkpoint'] == osp.abspath(source_ckpt)
    for key in ckpt['state_dict']:
        assert not key.startswith('architecture.'), key
        assert 'candidate_bn' not in key, key
    num_params = sum(v.numel() for k, v in ckpt['state_dict'].items()
                     if not k.endswith(('running_mean', 'running_var',
                                        'num_batches_tracked')))
    assert result['params'] == num_params
    assert result['flops'] > 0


def test_plugin_backbone_widths_load_with_plain_mmpretrain(exported):
    ckpt, results, outputs, expected, modules = exported['digits']
    for width, result in zip((0.25, 1.0), results):
        _check_checkpoint(result, width, ckpt)
        text = open(result['config']).read()
        assert "type='ImageClassifier'" in text
        assert "'pwkd_plugin.models.backbones'" in text
    assert 'width_ratio=0.25' in open(results[0]['config']).read()
    assert results[0]['params'] < results[1]['params'] / 10
    assert results[0]['flops'] < results[1]['flops'] / 10

    # The exported config's custom_imports registered the plugin backbone.
    assert all(m['pwkd_backbones'] for m in modules)
    for width, output, reference in zip((0.25, 1.0), outputs, expected):
        difference = (output - reference).abs().max().item()
        assert difference <= 1e-5, (width, difference)
    # The widths' outputs differ: the comparison is not trivially satisfied.
    assert (expected[0] - expected[1]).abs().max() > 1e-2


def test_mmpretrain_backbone_loads_without_pwkd_plugin(exported):
    ckpt, result, output, expected, modules = exported['resnet18']
    _check_checkpoint(result, 0.5, ckpt)
    cfg = Config.fromfile(result['config'])
    assert cfg.model.backbone.stem_channels == 32
    assert cfg.model.backbone.base_channels == 32
    assert cfg.model.head.in_channels == 256
    assert 'custom_imports' not in cfg
    # Loading it imported neither the plugin nor mmrazor.
    assert not modules['pwkd_plugin'] and not modules['mmrazor'], modules
    assert (output - expected).abs().max().item() <= 1e-5


def test_errors(digits_teacher, tmp_path, monkeypatch):
    ckpt, _, _ = digits_teacher
    out_dir = tmp_path / 'out'

    with pytest.raises(WidthExportError,
                       match=r'0\.3 .*widths \[0\.25, 0\.5, 0\.75, 1\.0\]'):
        export_width(DIGITS, ckpt, 0.3, str(out_dir))

    out_dir.mkdir()
    existing = out_dir / 'slimmable_resnet20_digits_width0_5.pth'
    existing.write_bytes(b'keep me')
    with pytest.raises(WidthExportError, match='overwrite.*width0_5.pth'):
        export_width(DIGITS, ckpt, 0.5, str(out_dir))
    assert existing.read_bytes() == b'keep me'
    assert os.listdir(out_dir) == [existing.name]

    cfg = Config.fromfile(DIGITS)
    cfg.model.backbone = dict(type='ShuffleNetV2', widen_factor=1.0)
    with pytest.raises(WidthExportError,
                       match="'ShuffleNetV2'.*CIFARResNet.*ResNet_CIFAR"):
        export_width(cfg, ckpt, 0.5, str(tmp_path / 'shufflenet'))

    with pytest.raises(WidthExportError, match='not a slimmable teacher'):
        export_width(config_path('demo/resnet20_digits.py'), ckpt, 0.5,
                     str(tmp_path / 'plain'))

    # A recipe that does not narrow the backbone: caught by the shape check,
    # nothing is written.
    monkeypatch.setitem(WIDTH_RECIPES, 'CIFARResNet',
                        (lambda backbone, *args: backbone, 'nothing'))
    with pytest.raises(
            WidthExportError,
            match=r"'CIFARResNet'.*'backbone\.conv1\.weight' has shape "
            r'\(16, 3, 3, 3\).*\(4, 3, 3, 3\)'):
        export_width(DIGITS, ckpt, 0.25, str(tmp_path / 'bad_recipe'))
    assert not (tmp_path / 'bad_recipe').exists()


def test_compare_state_shapes_names_the_first_mismatch():
    deployed = {'a': torch.zeros(2), 'b': torch.zeros(3, 4)}
    compare_state_shapes(dict(deployed), deployed, 'X')
    with pytest.raises(WidthExportError, match=r"'b' has shape \(3, 5\)"):
        compare_state_shapes({
            'a': torch.zeros(2),
            'b': torch.zeros(3, 5)
        }, deployed, 'X')
    with pytest.raises(WidthExportError, match="'b' is missing"):
        compare_state_shapes({'a': torch.zeros(2)}, deployed, 'X')
    with pytest.raises(WidthExportError, match="'c'.*not in the deployed"):
        compare_state_shapes(dict(deployed, c=torch.zeros(1)), deployed, 'X')


@pytest.mark.parametrize('cls,arch', [(CIFARResNet, 'resnet8x4'),
                                      (CIFARVGG, 'vgg8'),
                                      (CIFARWideResNet, 'wrn_16_2')])
def test_backbone_width_ratio(cls, arch):
    whole = cls(arch).state_dict()
    narrow = cls(arch, width_ratio=0.5, width_divisor=8).state_dict()
    assert list(narrow) == list(whole)
    for name, tensor in whole.items():
        expected = tuple(
            slim_channels(n, 0.5, 8) if n != 3 else 3
            for n in tensor.shape[:2])
        assert tuple(narrow[name].shape[:2]) == expected, name
    with pytest.raises(ValueError, match='width_ratio'):
        cls(arch, width_ratio=1.5)


def test_tool_prints_params_and_flops(digits_teacher, tmp_path):
    ckpt, _, _ = digits_teacher
    out_dir = str(tmp_path / 'tool')
    proc = run_script(osp.join('tools', 'export_width.py'), DIGITS, ckpt,
                      '--width', '0.5', '--out-dir', out_dir, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = osp.join(out_dir, 'slimmable_resnet20_digits_width0_5.py')
    assert config in proc.stdout
    assert config[:-3] + '.pth' in proc.stdout
    params = sum(v.numel() for k, v in torch.load(config[:-3] + '.pth')
                 ['state_dict'].items()
                 if not k.endswith(('running_mean', 'running_var',
                                    'num_batches_tracked')))
    lines = proc.stdout.splitlines()
    params_line = next(line for line in lines if line.startswith('param'))
    flops_line = next(line for line in lines if line.startswith('FLOPs'))
    assert f'{params / 1e6:.4f}M' in params_line
    assert '0.2725M' in params_line  # the whole ResNet20, 10 classes
    assert flops_line.count('M') == 2
