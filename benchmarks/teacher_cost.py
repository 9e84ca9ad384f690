"""Training cost of the slimmable teacher, and of the whole PWKD pipeline.

The slimmable ResNet32x4 of ``configs/pwkd/teachers/
slimmable_resnet32x4_cifar100.py`` at CIFAR shapes, timed side by side in
one process (every repeat times every case in turn, after warm-up; medians):

- ``joint``: one training step of the slimmable teacher (every width on the
  batch, widest first, gradients accumulated, one optimizer step);
- ``joint-masked``: the same with mmrazor's own boolean-mask indexing in
  the dynamic layers (the plugin slices contiguous channel runs instead,
  ``pwkd_plugin/models/dynamic_ops/channel_slices.py``);
- ``slimmable@W`` / ``slimmable-masked@W``: forward and backward of the
  slimmable network at width W alone (what the joint step spends on that
  width), sliced and with mmrazor's mask indexing;
- ``ordinary-pass@W``: the same for the ordinary ResNet32x4 of width W (the
  exported config of that width), the floor of ``slimmable@W``;
- ``ordinary@W``: one training step of that ordinary network;
- ``kd`` and ``pwkd@W``: the student's training step with mmrazor's KD and
  with PWKD at teacher width W (the plugin's defaults), as in ``speed.py``.

``joint / sum of ordinary@W`` is the slimmable teacher's overhead over
training the four ordinary networks one by one. Where it goes is shown by
operator profiles (``torch.profiler``) of ``slimmable@1`` and
``slimmable-masked@1`` against ``ordinary-pass@1``: the operators whose self
time differs most.

The pipeline table gives what a user pays per epoch of CIFAR-100's 50000
training images: making the slimmable teacher from an ordinary checkpoint
(``slimmable.init_from``, one epoch of joint steps) and the PWKD student
(the default plan's stages weighted by their lengths), against KD from the
ordinary teacher, and the totals of ``--finetune-epochs`` epochs of the
teacher plus ``--student-epochs`` of the student.

Example::

    python benchmarks/teacher_cost.py --json benchmarks/results/teacher_cost_cpu.json
"""
import argparse
import math
import os.path as osp
import sys
import tempfile
from typing import Optional

import torch
from torch.profiler import ProfilerActivity, profile

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import pwkd_plugin  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.optim import OptimWrapper  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from pwkd_plugin.config_blocks import prepare_train_config  # noqa: E402
from pwkd_plugin.export import static_classifier_config  # noqa: E402
from pwkd_plugin.models.algorithms.fast_teacher import (  # noqa: E402
    tf32_in_use)
from pwkd_plugin.models.dynamic_ops.channel_slices import (  # noqa: E402
    mmrazor_mask_indexing)
from pwkd_plugin.models.utils import build_classifier, quiet_logger  # noqa: E402,E501
from speed import (TEACHER_CONFIG, add_timing_arguments,  # noqa: E402
                   build_models, check_timing_arguments, cpu_name, make_batch,
                   time_cases, train_step, write_json)

CIFAR100_TRAIN_IMAGES = 50000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_timing_arguments(parser)
    parser.add_argument('--finetune-epochs', type=int, default=30,
                        help='epochs of slimmable.init_from fine-tuning in '
                        'the pipeline total')
    parser.add_argument('--student-epochs', type=int, default=240,
                        help="epochs of the student (the configs' schedule)")
    parser.add_argument('--profile-ops', type=int, default=8,
                        help='operators to list in the profile comparison')
    parser.add_argument('--profile-repeats', type=int, default=5,
                        help='profiled passes of each profiled case')
    args = parser.parse_args()
    check_timing_arguments(parser, args)
    if min(args.finetune_epochs, args.student_epochs, args.profile_ops,
           args.profile_repeats) < 1:
        parser.error('--finetune-epochs, --student-epochs and the --profile '
                     'options must be positive')
    return args


def build_slimmable_teacher(device: str):
    """The slimmable ResNet32x4 (``SlimmableTeacher``), untrained."""
    cfg = prepare_train_config(Config.fromfile(TEACHER_CONFIG))
    with quiet_logger():
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model.to(device), cfg.model.architecture


def forward_backward(model, batch, width: Optional[float] = None):
    """Forward and backward of ``model`` alone (no optimizer step); a
    slimmable ``model`` at ``width``."""
    data = model.data_preprocessor(batch, True)
    model.train()

    def run():
        if width is not None:
            model.mutator.set_width(width)
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        sum(losses.values()).backward()
        model.zero_grad(set_to_none=True)
        if width is not None:
            model.mutator.set_width(1.0)

    return run


def with_mask_indexing(run):
    """``run`` with mmrazor's own mask indexing in the dynamic layers."""

    def masked():
        with mmrazor_mask_indexing():
            run()

    return masked


def op_self_times(run, repeats: int, device: str = 'cpu') -> dict:
    """Operator name -> self CPU (on a CUDA ``device``: self CUDA) seconds
    per call of ``run``."""
    on_cuda = torch.device(device).type == 'cuda'
    run()
    with profile(activities=[ProfilerActivity.CPU] + (
            [ProfilerActivity.CUDA] if on_cuda else [])) as prof:
        for _ in range(repeats):
            run()
    times = {}
    for event in prof.key_averages():
        seconds = (event.self_device_time_total if on_cuda else
                   event.self_cpu_time_total) / 1e6 / repeats
        times[event.key] = times.get(event.key, 0.0) + seconds
    return times


def profile_difference(slimmable: dict, ordinary: dict, count: int) -> list:
    """The ``count`` operators whose self time differs most between two
    profiles (:func:`op_self_times`): ``[(name, slimmable s, ordinary s)]``.
    """
    def difference(name):
        return -abs(slimmable.get(name, 0.0) - ordinary.get(name, 0.0))

    names = sorted(set(slimmable) | set(ordinary), key=difference)
    return [(n, slimmable.get(n, 0.0), ordinary.get(n, 0.0))
            for n in names[:count]]


def main():
    args = parse_args()
    torch.manual_seed(0)
    batch = make_batch(args.batch_size)
    teacher, architecture = build_slimmable_teacher(args.device)
    widths = list(teacher.mutator.widths)
    with tempfile.TemporaryDirectory() as workdir:
        students, _, lengths, _ = build_models(args.device, workdir,
                                               ('kd', 'pwkd'))
    with quiet_logger():
        ordinary = {
            width: build_classifier(
                static_classifier_config(architecture, width)).to(
                    args.device)
            for width in widths
        }
    teacher_optim = OptimWrapper(
        torch.optim.SGD(teacher.parameters(), lr=0.05, momentum=0.9,
                        weight_decay=5e-4))
    # What the Runner's loop would have told the optimizer wrapper.
    teacher_optim.message_hub.update_info('iter', 0)
    teacher_optim.message_hub.update_info('max_iters', 10**6)
    teacher.train()
    cases = dict(joint=lambda: teacher.train_step(batch, teacher_optim))
    cases['joint-masked'] = with_mask_indexing(cases['joint'])
    for width in widths:
        cases[f'slimmable@{width:g}'] = forward_backward(
            teacher, batch, width)
        cases[f'slimmable-masked@{width:g}'] = with_mask_indexing(
            cases[f'slimmable@{width:g}'])
        cases[f'ordinary-pass@{width:g}'] = forward_backward(
            ordinary[width], batch)
        cases[f'ordinary@{width:g}'] = train_step(ordinary[width], batch)
    cases['kd'] = train_step(students['kd'], batch)
    for width in widths:
        cases[f'pwkd@{width:g}'] = train_step(students[f'pwkd@{width:g}'],
                                              batch)
    print(f'timing {len(cases)} cases, batch {args.batch_size}, '
          f'{args.device}', file=sys.stderr)
    seconds = time_cases(cases, args.device, args.warmup, args.repeats)
    ordinary_ops = op_self_times(cases['ordinary-pass@1'],
                                 args.profile_repeats, args.device)
    profile_rows = {
        case: profile_difference(
            op_self_times(cases[f'{case}@1'], args.profile_repeats,
                          args.device),
            ordinary_ops, args.profile_ops)
        for case in ('slimmable', 'slimmable-masked')
    }

    ordinary_sum = sum(seconds[f'ordinary@{w:g}'] for w in widths)
    slimmable_sum, masked_sum, pass_sum = (
        sum(seconds[f'{case}@{w:g}'] for w in widths)
        for case in ('slimmable', 'slimmable-masked', 'ordinary-pass'))
    pwkd = sum(length * seconds[f'pwkd@{w:g}']
               for w, length in zip(widths, lengths)) / sum(lengths)
    iterations = math.ceil(CIFAR100_TRAIN_IMAGES / args.batch_size)
    epoch = dict(finetune=seconds['joint'] * iterations,
                 pwkd_student=pwkd * iterations,
                 kd_student=seconds['kd'] * iterations)
    pipeline = epoch['finetune'] * args.finetune_epochs + \
        epoch['pwkd_student'] * args.student_epochs
    kd_total = epoch['kd_student'] * args.student_epochs
    result = dict(
        teacher='slimmable ResNet32x4', student='ResNet8x4',
        batch_size=args.batch_size, input_shape=[3, 32, 32],
        device=args.device,
        device_name=(torch.cuda.get_device_name(args.device)
                     if args.device.startswith('cuda') else cpu_name()),
        threads=torch.get_num_threads(), torch=torch.__version__,
        # fp32 convolutions / matmuls as TF32 (GPUs from Ampere on).
        tf32=tf32_in_use(args.device),
        warmup=args.warmup, repeats=args.repeats, widths=widths,
        stage_lengths=lengths, step_seconds=seconds,
        joint_over_ordinary_sum=seconds['joint'] / ordinary_sum,
        joint_masked_over_ordinary_sum=seconds['joint-masked'] /
        ordinary_sum,
        slimmable_over_ordinary={
            case: {
                f'{w:g}': seconds[f'{case}@{w:g}'] /
                seconds[f'ordinary-pass@{w:g}']
                for w in widths
            }
            for case in ('slimmable', 'slimmable-masked')
        },
        profile_at_width_1={
            case: [
                dict(op=name, slimmable_s=slim, ordinary_s=plain)
                for name, slim, plain in rows
            ]
            for case, rows in profile_rows.items()
        },
        iterations_per_epoch=iterations, epoch_seconds=epoch,
        finetune_epochs=args.finetune_epochs,
        student_epochs=args.student_epochs,
        pipeline_seconds=pipeline, kd_seconds=kd_total,
        pipeline_over_kd=pipeline / kd_total)

    print(f'\nslimmable ResNet32x4, batch {args.batch_size}, 3x32x32, '
          f'{result["device_name"]} ({args.device}, {result["threads"]} '
          f'threads), median of {args.repeats}\n')
    print('| width | slimmable (ms) | slimmable, mmrazor\'s mask indexing '
          '(ms) | ordinary network (ms) | slimmable / ordinary | mask '
          'indexing / ordinary |')
    print('|---|---|---|---|---|---|')
    for width in widths:
        slim, masked, plain = (seconds[f'{case}@{width:g}']
                               for case in ('slimmable', 'slimmable-masked',
                                            'ordinary-pass'))
        print(f'| {width:g} | {slim * 1e3:.1f} | {masked * 1e3:.1f} | '
              f'{plain * 1e3:.1f} | {slim / plain:.3f} | '
              f'{masked / plain:.3f} |')
    print(f'| sum | {slimmable_sum * 1e3:.1f} | {masked_sum * 1e3:.1f} | '
          f'{pass_sum * 1e3:.1f} | {slimmable_sum / pass_sum:.3f} | '
          f'{masked_sum / pass_sum:.3f} |')
    print('\n(forward and backward of one width; the joint step runs every '
          'width and one optimizer step)\n')
    print('| joint step | ms | / sum of the ordinary networks\' training '
          f'steps ({ordinary_sum * 1e3:.1f} ms) |')
    print('|---|---|---|')
    for case, key in (('joint', 'joint_over_ordinary_sum'),
                      ('joint-masked', 'joint_masked_over_ordinary_sum')):
        print(f'| {case} | {seconds[case] * 1e3:.1f} | {result[key]:.3f} |')
    for case, rows in profile_rows.items():
        print(f'\n| operator, {case} at width 1 | slimmable (ms) | '
              'ordinary (ms) | difference (ms) |')
        print('|---|---|---|---|')
        for name, slim, plain in rows:
            print(f'| `{name}` | {slim * 1e3:.1f} | {plain * 1e3:.1f} | '
                  f'{(slim - plain) * 1e3:+.1f} |')
    hours = 1 / 3600
    print(f'\n| per epoch of {CIFAR100_TRAIN_IMAGES} images ({iterations} '
          'iterations) | hours |')
    print('|---|---|')
    print(f'| making the slimmable teacher (`init_from` fine-tuning) | '
          f'{epoch["finetune"] * hours:.2f} |')
    print(f'| PWKD student (default plan, fast teacher) | '
          f'{epoch["pwkd_student"] * hours:.2f} |')
    print(f'| KD student (ordinary teacher, mmrazor as it is) | '
          f'{epoch["kd_student"] * hours:.2f} |')
    print(f'| **pipeline: {args.finetune_epochs} teacher + '
          f'{args.student_epochs} student epochs, against '
          f'{args.student_epochs} KD epochs** | {pipeline * hours:.1f} / '
          f'{kd_total * hours:.1f} = {pipeline / kd_total:.3f} |')
    if args.json:
        write_json(args.json, result)


if __name__ == '__main__':
    main()
