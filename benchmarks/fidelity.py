"""How closely the fast teacher copy follows the fp32 teacher, per width.

At every width of a slimmable teacher, the same batches go through the
plugin's fp32 static copy and through its fast copy (batch norms folded,
channels-last, ``--precision``); the script states the largest absolute
logit difference and the relative difference of the KD, DKD and FitNet
losses (mmrazor's ``KLDivergence``, ``DKDLoss`` and ``L2Loss`` with the
settings of this repository's configs) computed from each, against the same
student outputs. Two settings:

- ``digits``: the demo's slimmable ResNet20 (trained here for
  ``--teacher-epochs`` on the 1437 training images, or ``--digits-ckpt``)
  on the real validation images, ResNet8 student;
- ``cifar``: the slimmable ResNet32x4 at CIFAR shapes (3x32x32, 100
  classes; initial weights, batch norm statistics from random images, since
  no CIFAR-100 is at hand), ResNet8x4 student.

On a CUDA ``--device`` the fp32 reference runs with TF32 off (true fp32),
and the report says whether the GPU's default (TF32 convolutions) was on.

Example::

    python benchmarks/fidelity.py --precision bf16 --json fidelity.json
    python benchmarks/fidelity.py --device cuda --precision fp16
"""
import argparse
import os.path as osp
import sys
import tempfile

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import pwkd_plugin  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmrazor.models.task_modules import RecorderManager  # noqa: E402
from mmrazor.registry import DATASETS, MODELS  # noqa: E402

from pwkd_plugin.config_blocks import prepare_train_config  # noqa: E402
from pwkd_plugin.models.algorithms import build_partial_teacher  # noqa: E402
from pwkd_plugin.models.algorithms.fast_teacher import (  # noqa: E402
    exact_fp32, make_fast_teacher, resolve_precision, tf32_in_use)
from pwkd_plugin.models.algorithms.partial_teacher import (  # noqa: E402
    WIDTH_MUTATOR, static_teacher_at_width)
from pwkd_plugin.models.utils import build_classifier, quiet_logger  # noqa: E402,E501
from pwkd_plugin.testing import save_untrained_slimmable_teacher  # noqa: E402
from speed import cpu_name, write_json  # noqa: E402

CONFIGS = osp.join(REPO, 'configs')
SETTINGS = dict(
    digits=dict(
        kd='demo/kd_resnet20_resnet8_digits.py',
        dkd='demo/dkd_resnet20_resnet8_digits.py',
        fitnet='demo/fitnet_resnet20_resnet8_digits.py',
        teacher='pwkd/teachers/slimmable_resnet20_digits.py'),
    cifar=dict(
        kd='kd/kd_resnet32x4_resnet8x4_cifar100.py',
        dkd='kd/dkd_resnet32x4_resnet8x4_cifar100.py',
        fitnet='demo/fitnet_resnet20_resnet8_digits.py',
        teacher='pwkd/teachers/slimmable_resnet32x4_cifar100.py'))
RECORDS = dict(
    fc=dict(type='ModuleOutputs', source='head.fc'),
    feat=dict(type='ModuleOutputs', source='backbone.layer3'))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--precision', default='bf16',
                        choices=('auto', 'bf16', 'fp16'),
                        help="the fast copy's precision (default bf16, what "
                        "'auto' runs on hardware with native bf16)")
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS),
                        choices=list(SETTINGS))
    parser.add_argument('--batches', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--teacher-epochs', type=int, default=5,
                        help='epochs of the digits slimmable teacher')
    parser.add_argument('--digits-ckpt',
                        help='a trained digits slimmable teacher instead')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args()
    if min(args.batches, args.batch_size, args.teacher_epochs) < 1:
        parser.error('--batches, --batch-size, --teacher-epochs: positive')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    return args


def losses(setting):
    """name -> the KD, DKD and FitNet loss modules of the configs."""
    built = {}
    for name in ('kd', 'dkd', 'fitnet'):
        cfg = Config.fromfile(osp.join(CONFIGS, SETTINGS[setting][name]))
        (loss_cfg, ) = cfg.model.distiller.distill_losses.values()
        built[name] = MODELS.build(dict(loss_cfg, _scope_='mmrazor'))
    return built


def train_digits_teacher(work_dir, epochs):
    from pwkd_plugin.apis import train_and_validate
    cfg = Config.fromfile(osp.join(CONFIGS, SETTINGS['digits']['teacher']))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=epochs)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    result = train_and_validate(prepare_train_config(cfg))
    print(f'digits teacher, {epochs} epochs: ' + ', '.join(
        f'{k.split("/")[0]} {float(v):.2f}' for k, v in result.items()
        if k.endswith('accuracy/top1')), file=sys.stderr)
    return result['checkpoint']


def batches(setting, kd_cfg, preprocessor, args):
    """Preprocessed batches: real validation digits, or CIFAR-shaped."""
    if setting == 'digits':
        dataset = DATASETS.build(kd_cfg.val_dataloader.dataset)
        for index in range(args.batches):
            start = index * args.batch_size
            items = [dataset[i] for i in range(
                start, min(start + args.batch_size, len(dataset)))]
            yield preprocessor(pseudo_collate(items), False)
        return
    from mmpretrain.structures import DataSample
    generator = torch.Generator().manual_seed(0)
    for index in range(args.batches):
        inputs = torch.randint(0, 256, (args.batch_size, 3, 32, 32),
                               generator=generator).float()
        samples = [
            DataSample().set_gt_label(i % 100) for i in range(len(inputs))
        ]
        yield preprocessor(dict(inputs=list(inputs), data_samples=samples),
                           False)


def calibrate(teacher, widths, preprocessor):
    """Batch norm statistics of every width from random CIFAR images."""
    generator = torch.Generator().manual_seed(1)
    norms = [m for m in teacher.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.momentum = None  # a plain average over the batches
    with torch.no_grad():
        for width in widths:
            getattr(teacher, WIDTH_MUTATOR).set_width(width)
            teacher.train()
            for _ in range(2):
                images = torch.randint(0, 256, (32, 3, 32, 32),
                                       generator=generator).float()
                teacher(preprocessor(dict(inputs=list(images)),
                                     False)['inputs'], mode='tensor')
    teacher.eval()


def recorded(teacher, inputs, recorders):
    with recorders, torch.no_grad(), exact_fp32():
        logits = teacher(inputs, mode='tensor')
    return logits, recorders.get_recorder('feat').get_record_data()


def measure(setting, ckpt, dtype, args):
    kd_cfg = Config.fromfile(osp.join(CONFIGS, SETTINGS[setting]['kd']))
    # A Runner (the digits teacher's) leaves its default scope behind.
    DefaultScope._instance_dict.clear()
    with quiet_logger():
        torch.manual_seed(0)
        student = build_classifier(dict(
            kd_cfg.model.architecture,
            data_preprocessor=kd_cfg.model.data_preprocessor)).eval()
        teacher = build_partial_teacher(kd_cfg.model.teacher, ckpt)
    student.to(args.device)
    teacher.to(args.device)
    widths = [float(w) for w in teacher.width_mutator.widths]
    preprocessor = student.data_preprocessor
    if setting == 'cifar':
        calibrate(teacher, widths, preprocessor)
    loss_fns = losses(setting)
    data = list(batches(setting, kd_cfg, preprocessor, args))
    student_out = []
    student_records = RecorderManager(RECORDS)
    student_records.initialize(student)
    for batch in data:
        student_out.append(recorded(student, batch['inputs'],
                                    student_records))
    rows = []
    for width in widths:
        teacher.width_mutator.set_width(width)
        static = static_teacher_at_width(teacher)
        exact_records, fast_records = (RecorderManager(RECORDS)
                                       for _ in range(2))
        exact_records.initialize(static)
        fast = make_fast_teacher(static, dtype, fast_records)
        torch.manual_seed(0)
        channels = static.get_submodule('head.fc').in_features
        connector = torch.nn.Conv2d(student_out[0][1].shape[1], channels,
                                    1).to(args.device)
        row = dict(width=width, max_abs_logit_diff=0.0, max_abs_logit=0.0)
        sums = {name: [0.0, 0.0] for name in loss_fns}
        for batch, (s_logits, s_feat) in zip(data, student_out):
            exact = recorded(static, batch['inputs'], exact_records)
            approx = recorded(fast, batch['inputs'], fast_records)
            row['max_abs_logit_diff'] = max(
                row['max_abs_logit_diff'],
                (approx[0] - exact[0]).abs().max().item())
            row['max_abs_logit'] = max(row['max_abs_logit'],
                                       exact[0].abs().max().item())
            labels = torch.cat(
                [sample.gt_label for sample in batch['data_samples']])
            with torch.no_grad():
                hint = connector(s_feat)
                for index, (t_logits, t_feat) in enumerate((exact, approx)):
                    sums['kd'][index] += loss_fns['kd'](s_logits,
                                                        t_logits).item()
                    sums['dkd'][index] += loss_fns['dkd'](
                        s_logits, t_logits, labels).item()
                    sums['fitnet'][index] += loss_fns['fitnet'](
                        hint, t_feat).item()
        for name, (exact_sum, approx_sum) in sums.items():
            row[f'{name}_loss'] = exact_sum / len(data)
            row[f'{name}_rel_diff'] = abs(approx_sum - exact_sum) / abs(
                exact_sum)
        rows.append(row)
        print(f'  {setting} width {width:g} done', file=sys.stderr)
    return rows


def main():
    args = parse_args()
    device = torch.device(args.device)
    dtype = resolve_precision(args.precision, device)
    result = dict(device=args.device,
                  device_name=(torch.cuda.get_device_name(device)
                               if device.type == 'cuda' else cpu_name()),
                  fp32_reference='fp32 (TF32 off)',
                  tf32_by_default=tf32_in_use(device),
                  precision=args.precision,
                  dtype=str(dtype).replace('torch.', ''),
                  auto_here=str(resolve_precision('auto', device)).replace(
                      'torch.', ''),
                  batches=args.batches, batch_size=args.batch_size,
                  threads=torch.get_num_threads(), settings={})
    with tempfile.TemporaryDirectory() as work_dir:
        for setting in args.settings:
            if setting == 'digits':
                ckpt = args.digits_ckpt or train_digits_teacher(
                    osp.join(work_dir, 'digits'), args.teacher_epochs)
            else:
                ckpt = save_untrained_slimmable_teacher(
                    osp.join(CONFIGS, SETTINGS['cifar']['teacher']),
                    osp.join(work_dir, 'cifar.pth'))
            result['settings'][setting] = measure(setting, ckpt, dtype, args)
    print(f'\nfast copy in {result["dtype"]} against the fp32 static copy '
          f"('auto' here: {result['auto_here']}) on {result['device_name']}; "
          f'{args.batches} batches of {args.batch_size}\n')
    print('| data | width | max abs logit diff (max abs logit) | KD rel. diff '
          '| DKD rel. diff | FitNet rel. diff |')
    print('|---|---|---|---|---|---|')
    for setting, rows in result['settings'].items():
        for row in rows:
            print(f'| {setting} | {row["width"]:g} | '
                  f'{row["max_abs_logit_diff"]:.4f} '
                  f'({row["max_abs_logit"]:.2f}) | '
                  f'{row["kd_rel_diff"]:.2e} | {row["dkd_rel_diff"]:.2e} | '
                  f'{row["fitnet_rel_diff"]:.2e} |')
    if args.json:
        write_json(args.json, result)


if __name__ == '__main__':
    main()
