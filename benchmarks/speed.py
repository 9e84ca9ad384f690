"""Training-iteration speed of PWKD against KD and student-only training.

ResNet32x4 -> ResNet8x4 at CIFAR shapes (the configs
``configs/kd/kd_resnet32x4_resnet8x4_cifar100.py`` and
``configs/pwkd/resnet_cifar100.py``), measured side by side in one process:
every repeat times one iteration of every case in turn, after warm-up, and
the median is reported. Cases:

- ``student``: the student alone (cross entropy), the floor;
- ``kd``: mmrazor's KD with the whole teacher, as it runs without the plugin;
- ``kd-fast``: the same config with a ``fast_teacher`` block (the teacher
  forward on the fast copy: batch norms folded, channels-last, the reduced
  precision the hardware has natively);
- ``pwkd@W``: PWKD with the teacher at width W, as the plugin runs it by
  default (``teacher_precision='auto'``: the fast copy of the width);
- ``pwkd-fp32@W``: the same with ``teacher_precision='fp32'`` (the static
  copy as it is);
- ``pwkd-sliced@W``: the same with ``static_teacher=False`` (the slimmable
  layers slice their weights on every forward), to show what the static copy
  saves;
- ``kd-static@W``: KD whose teacher is an ordinary network built at width W
  (the floor for ``pwkd-fp32@W``).

Teacher forwards alone (no grad) are timed too, at each width: the plugin's
fast copy (``fast@W``), its fp32 static copy (``teacher@W``), the slimmable
layers (``teacher-sliced@W``) and the ordinary network of that width
(``static@W``). ``--json`` keys: ``pwkd_over_kd`` (the default PWKD plan,
each stage's iteration weighted by its length, over ``kd``),
``kd_fast_over_kd``, ``fast_over_static`` (width -> ``fast@W`` /
``static@W``) and ``teacher_over_static`` (``teacher@W`` / ``static@W``).

Example::

    python benchmarks/speed.py --repeats 10 --json benchmarks/results/speed_cpu.json
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from typing import Optional

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import pwkd_plugin  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.optim import OptimWrapper  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from pwkd_plugin.config_blocks import prepare_train_config  # noqa: E402
from pwkd_plugin.export import static_classifier_config  # noqa: E402
from pwkd_plugin.models.algorithms.fast_teacher import (  # noqa: E402
    tf32_in_use)
from pwkd_plugin.models.utils import build_classifier, quiet_logger  # noqa: E402,E501
from pwkd_plugin.testing import save_untrained_slimmable_teacher  # noqa: E402

KD_CONFIG = osp.join(REPO, 'configs/kd/kd_resnet32x4_resnet8x4_cifar100.py')
PWKD_CONFIG = osp.join(REPO, 'configs/pwkd/resnet_cifar100.py')
TEACHER_CONFIG = osp.join(
    REPO, 'configs/pwkd/teachers/slimmable_resnet32x4_cifar100.py')


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a side-by-side timing: device, batch, repeats."""
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations of every case first')
    parser.add_argument('--repeats', type=int, default=7,
                        help='timed iterations of every case')
    parser.add_argument('--json', help='also write the figures here')


def check_timing_arguments(parser: argparse.ArgumentParser, args) -> None:
    """Refuse the options of :func:`add_timing_arguments` that cannot run."""
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    if args.repeats < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error('--repeats and --batch-size must be positive, '
                     '--warmup not negative')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_timing_arguments(parser)
    args = parser.parse_args()
    check_timing_arguments(parser, args)
    return args


def cpu_name() -> str:
    """The CPU model, with the bf16 instructions it has (they change the
    figures of bf16 runs, so a report says which it ran on)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as file:
            for line in file:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                elif line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
    except OSError:
        pass
    bf16 = sorted(flag for flag in flags if flag.endswith('bf16'))
    return f'{name} ({" ".join(bf16) if bf16 else "no bf16 instructions"})'


def make_batch(batch_size: int, num_classes: int = 100) -> dict:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(
        0, 256, (batch_size, 3, 32, 32), generator=generator).float()
    samples = [
        DataSample().set_gt_label(i % num_classes) for i in range(batch_size)
    ]
    return dict(inputs=list(inputs), data_samples=samples)


def build_models(device: str, workdir: str, cases: Optional[tuple] = None):
    """Every model the benchmark times, on ``device``.

    Args:
        device (str): Where the models run.
        workdir (str): Where the slimmable teacher's checkpoint is written.
        cases (tuple, optional): Build only these cases (``'kd'``,
            ``'pwkd'`` for every ``pwkd@W``, ...). Defaults to all.

    Returns:
        tuple: ``(models, widths, stage_lengths, static_teachers)``:
        training models by case name, the PWKD plan, and the ordinary
        teacher network of every width.
    """
    kd_cfg = Config.fromfile(KD_CONFIG)
    kd_model = copy.deepcopy(kd_cfg.model)
    kd_model.pop('teacher_ckpt', None)  # weights do not change the speed
    student = dict(kd_model.architecture)
    student['data_preprocessor'] = kd_model.data_preprocessor

    teacher_ckpt = save_untrained_slimmable_teacher(
        TEACHER_CONFIG, osp.join(workdir, 'slimmable_teacher.pth'))
    pwkd_cfg = Config.fromfile(PWKD_CONFIG)
    pwkd_cfg.pwkd.teacher_ckpt = teacher_ckpt
    pwkd_cfg = prepare_train_config(pwkd_cfg)
    hook = next(h for h in pwkd_cfg.custom_hooks
                if h['type'].endswith('PWKDStageHook'))
    widths = [float(w) for w in hook['widths']]
    sliced_cfg = copy.deepcopy(pwkd_cfg.model)
    sliced_cfg.static_teacher = False
    fp32_cfg = dict(pwkd_cfg.model, teacher_precision='fp32')
    kd_fast = Config(dict(model=kd_model, fast_teacher=dict()))
    kd_fast = prepare_train_config(kd_fast).model

    def wanted(name):
        return cases is None or name.split('@')[0] in cases

    with quiet_logger():
        models = {
            name: build()
            for name, build in (
                ('student', lambda: build_classifier(student)),
                ('kd', lambda: MODELS.build(kd_model)),
                ('kd-fast', lambda: MODELS.build(kd_fast))) if wanted(name)
        }
        static_teachers = {}
        for width in widths:
            # One model per width: the plugin keeps the static copy of one
            # width, and a run changes width only at stage boundaries.
            for name, cfg in ((f'pwkd@{width:g}', pwkd_cfg.model),
                              (f'pwkd-fp32@{width:g}', fp32_cfg),
                              (f'pwkd-sliced@{width:g}', sliced_cfg)):
                if wanted(name):
                    models[name] = MODELS.build(cfg)
                    models[name].teacher_mutator.set_width(width)
            static_cfg = static_classifier_config(kd_model.teacher, width)
            if wanted('static'):
                static_teachers[width] = build_classifier(static_cfg)
            if wanted('kd-static'):
                models[f'kd-static@{width:g}'] = MODELS.build(
                    dict(kd_model, teacher=static_cfg))
    for model in list(models.values()) + list(static_teachers.values()):
        model.to(device)
    for model in static_teachers.values():
        model.eval()
    return models, widths, list(hook['stage_lengths']), static_teachers


def train_step(model, batch):
    optim_wrapper = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                        lr=0.01, momentum=0.9))
    model.train()

    def step():
        model.train_step(batch, optim_wrapper)

    return step


def teacher_forward(get_module, batch, preprocessor):
    inputs = preprocessor(batch, False)['inputs']

    def forward():
        with torch.no_grad():
            get_module()(inputs, mode='tensor')

    return forward


def time_cases(cases: dict, device: str, warmup: int, repeats: int) -> dict:
    """Median seconds of every case; cases interleaved in each repeat."""
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)
    times = {name: [] for name in cases}
    for repeat in range(warmup + repeats):
        for name, run in cases.items():
            sync()
            start = time.perf_counter()
            run()
            sync()
            if repeat >= warmup:
                times[name].append(time.perf_counter() - start)
        print(f'  repeat {repeat + 1}/{warmup + repeats}'
              f'{" (warm-up)" if repeat < warmup else ""}',
              file=sys.stderr, flush=True)
    return {name: statistics.median(values) for name, values in times.items()}


def write_json(path: str, result: dict) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as file:
        json.dump(result, file, indent=2)
    print(f'wrote {path}')


def main():
    args = parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as workdir:
        models, widths, lengths, static_teachers = build_models(
            args.device, workdir)
    batch = make_batch(args.batch_size)
    preprocessor = models['kd'].data_preprocessor
    steps = {
        name: train_step(model, batch)
        for name, model in models.items()
    }
    forwards = {}
    for width in widths:
        forwards[f'fast@{width:g}'] = teacher_forward(
            models[f'pwkd@{width:g}'].active_teacher, batch, preprocessor)
        forwards[f'teacher@{width:g}'] = teacher_forward(
            models[f'pwkd-fp32@{width:g}'].active_teacher, batch,
            preprocessor)
        forwards[f'teacher-sliced@{width:g}'] = teacher_forward(
            lambda model=models[f'pwkd-sliced@{width:g}']: model.teacher,
            batch, preprocessor)
        forwards[f'static@{width:g}'] = teacher_forward(
            lambda model=static_teachers[width]: model, batch, preprocessor)

    print(f'timing {len(steps)} training iterations and {len(forwards)} '
          f'teacher forwards, batch {args.batch_size}, {args.device}',
          file=sys.stderr)
    step_times = time_cases(steps, args.device, args.warmup, args.repeats)
    forward_times = time_cases(forwards, args.device, args.warmup,
                               args.repeats)

    kd, student = step_times['kd'], step_times['student']
    weighted = sum(length * step_times[f'pwkd@{w:g}']
                   for w, length in zip(widths, lengths)) / sum(lengths)
    teacher_over_static, fast_over_static = ({
        f'{w:g}': forward_times[f'{case}@{w:g}'] /
        forward_times[f'static@{w:g}']
        for w in widths
    } for case in ('teacher', 'fast'))
    precision = models['pwkd@1'].teacher_dtype(
        torch.device(args.device))
    result = dict(
        pair='ResNet32x4 -> ResNet8x4',
        batch_size=args.batch_size,
        input_shape=[3, 32, 32],
        device=args.device,
        device_name=(torch.cuda.get_device_name(args.device)
                     if args.device.startswith('cuda') else cpu_name()),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        # fp32 convolutions / matmuls as TF32 (GPUs from Ampere on).
        tf32=tf32_in_use(args.device),
        warmup=args.warmup,
        repeats=args.repeats,
        widths=widths,
        stage_lengths=lengths,
        iteration_seconds=step_times,
        teacher_forward_seconds=forward_times,
        teacher_dtype=str(precision).replace('torch.', ''),
        pwkd_weighted_seconds=weighted,
        pwkd_over_kd=weighted / kd,
        kd_fast_over_kd=step_times['kd-fast'] / kd,
        fast_over_static=fast_over_static,
        teacher_over_static=teacher_over_static)

    print(f'\nResNet32x4 -> ResNet8x4, batch {args.batch_size}, 3x32x32, '
          f'{result["device_name"]} ({args.device}, '
          f'{result["threads"]} threads), median of {args.repeats}\n')
    print('| training iteration | ms | / KD | / student-only |')
    print('|---|---|---|---|')
    for name, seconds in step_times.items():
        print(f'| {name} | {seconds * 1e3:.1f} | {seconds / kd:.3f} | '
              f'{seconds / student:.2f} |')
    print(f'| PWKD, default plan {lengths} (weighted) | {weighted * 1e3:.1f} '
          f'| {weighted / kd:.3f} | {weighted / student:.2f} |')
    print(f'\n| teacher forward | fast copy, {result["teacher_dtype"]} '
          '(ms) | fp32 static copy (ms) | sliced layers (ms) | ordinary '
          'network (ms) | fast / ordinary | static copy / ordinary |')
    print('|---|---|---|---|---|---|---|')
    for width in widths:
        print(f'| width {width:g} | '
              f'{forward_times[f"fast@{width:g}"] * 1e3:.1f} | '
              f'{forward_times[f"teacher@{width:g}"] * 1e3:.1f} | '
              f'{forward_times[f"teacher-sliced@{width:g}"] * 1e3:.1f} | '
              f'{forward_times[f"static@{width:g}"] * 1e3:.1f} | '
              f'{fast_over_static[f"{width:g}"]:.3f} | '
              f'{teacher_over_static[f"{width:g}"]:.3f} |')
    print(f'\npwkd_over_kd = {result["pwkd_over_kd"]:.3f}, kd_fast_over_kd = '
          f'{result["kd_fast_over_kd"]:.3f}, fast_over_static = ' + ', '.join(
              f'{v:.3f}' for v in fast_over_static.values()) +
          f' (teacher in {result["teacher_dtype"]})')
    if args.json:
        write_json(args.json, result)


if __name__ == '__main__':
    main()
