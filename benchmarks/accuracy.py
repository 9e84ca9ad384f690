"""Accuracy of PWKD against the methods it plugs into, on a benchmark task.

Three tasks (``--task``):

- ``digits``: scikit-learn's 8x8 digits at 16x16; student ResNet8 on the
  first 180 of the 1437 training images, teacher the demo's slimmable
  ResNet20 on all of them; 360 test images.
- ``font_glyphs``: the 36 digits and capitals of the Debian typefaces
  (:class:`pwkd_plugin.datasets.FontGlyphs`) at 16x16, test typefaces
  never seen in training; student ResNet8 at half width on one training
  font in eight, teacher slimmable ResNet20 on every training font.
- ``font_glyphs_balanced``: the same with the 47 classes of EMNIST Balanced
  (``FontGlyphs(character_set='balanced')``: digits, capitals and the
  lowercase letters whose shapes differ from their capitals').

Every student of a task is trained for the same number of epochs; every
teacher is trained once per teacher setting, seed 0 (``teacher_widths.py``
trains the plain one over seeds). KD, DKD and FitNet
distil from the teacher's whole width (taken out as an ordinary network with
``export_width``); PWKD+X is the same config with a ``pwkd`` block added.
Each case runs with N seeds; the report gives mean and standard deviation,
and for each comparison the paired difference (same seeds) with its 95 % t
interval. KD and PWKD+KD are validated after every epoch: the report holds
their learning curves (student top-1 per epoch, mean over seeds).

Cases: student from scratch, KD, PWKD+KD, DKD, PWKD+DKD, FitNet,
PWKD+FitNet; ablations of PWKD+KD: 2 and 3 stages, no cyclic learning rate
(the base schedule over the whole run), stage lengths proportional to the
width, the optimizer state reset at each stage, a teacher trained with
in-place distillation (with KD from that teacher for reference), and the
teacher forward in fp32 (the static copy as it is) against bf16 (the fast
copy's precision on hardware with native bf16), paired with each other and
with the default (``teacher_precision='auto'``). ``--precision-only`` runs
KD, PWKD+KD and the two precision cases alone; ``--cases`` and ``--seed``
select cases and seeds. On one thread per run (the CPU default) every run is
deterministic: rerunning a case and seed gives its figure exactly.

It writes ``accuracy_<task>.md``, ``.json``, ``.png`` and
``accuracy_<task>_curves.png`` to ``--out-dir`` (default
``benchmarks/results``) and shows progress and an estimate of the time left
while it runs.

Example::

    python benchmarks/accuracy.py --task font_glyphs
"""
import argparse
import concurrent.futures as futures
import json
import multiprocessing
import os
import os.path as osp
import shlex
import statistics
import sys
import time

from pwkd_bench.cases import (CURVE_CASES, TEACHERS, cases, comparisons,
                              precision_cases)
from pwkd_bench.plots import plot, plot_curves
from pwkd_bench.pool import run_all, start_worker
from pwkd_bench.report import markdown, merged, report_paths, task_figures
from pwkd_bench.stats import paired, summary
from pwkd_bench.tasks import REPO, TASKS
from pwkd_bench.training import train_student, train_teacher


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=sorted(TASKS), default='digits',
                        help='the benchmark task (default digits)')
    parser.add_argument('--seeds', type=int,
                        help='seeds per case, 0..N-1 (default: the task\'s, '
                        '5 for digits, 8 for the font glyphs)')
    parser.add_argument('--seed', type=int, nargs='+', metavar='S',
                        help='only these seeds (instead of --seeds), e.g. to '
                        'rerun one figure of a report')
    parser.add_argument('--epochs', type=int,
                        help='student epochs, every case (default: the '
                        'task\'s, 20 for digits, 16 for the font glyphs)')
    parser.add_argument('--train-samples', type=int,
                        help='student training images, the first N of the '
                        'config\'s training set (default: 180 of the 1437 '
                        'for digits, where all of them put every student at '
                        'about 99.4 %%; all for the font glyphs); the teacher '
                        'always sees its whole training set')
    parser.add_argument('--teacher-epochs', type=int,
                        help='slimmable teacher epochs (default: the '
                        'task\'s, 20 for digits, 4 for the font glyphs)')
    parser.add_argument('--no-ablations', action='store_true',
                        help='only the seven main cases')
    parser.add_argument('--feature-cases', action='store_true',
                        help='add the feature strategy cases (PWKD+FitNet '
                        'with the teacher features zero-padded, with one '
                        'connector per stage) to the run')
    parser.add_argument('--precision-only', action='store_true',
                        help='only KD, PWKD+KD and PWKD+KD with the teacher '
                        'in fp32 and in bf16')
    parser.add_argument('--cases', nargs='+', metavar='NAME',
                        help='only these cases (names as in the report, '
                        'e.g. scratch KD PWKD+KD)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='where every run trains (default cpu; runs on '
                        'cuda are not bit for bit deterministic)')
    parser.add_argument('--workers', type=int,
                        help='runs in parallel, one thread each (default: '
                        'the number of CPUs; 4 with --device cuda, all on '
                        'the first GPU)')
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'accuracy',
                                         time.strftime('%Y%m%d_%H%M%S')),
                        help='checkpoints and logs (a new folder)')
    parser.add_argument('--out-dir', default=osp.join(REPO, 'benchmarks',
                                                      'results'),
                        help='where the report goes')
    parser.add_argument('--update', action='store_true',
                        help='rerun only --cases (with the report\'s seeds '
                        'and settings) and replace them in the report at '
                        '--out-dir; the teacher must come out as the '
                        'report\'s')
    parser.add_argument('--force', action='store_true',
                        help='replace an existing report in --out-dir')
    args = parser.parse_args()
    task = TASKS[args.task]
    settings = ('seed', 'seeds', 'epochs', 'teacher_epochs', 'train_samples')
    given = [key for key in settings if getattr(args, key) is not None]
    if args.update and given:
        parser.error('--update reruns with the report\'s seeds and settings; '
                     'leave out ' + ', '.join(
                         '--' + key.replace('_', '-') for key in given))
    for key in ('seeds', 'epochs', 'teacher_epochs', 'train_samples'):
        if getattr(args, key) is None:
            setattr(args, key, getattr(task, key))
    if args.seed is not None:
        if len(set(args.seed)) != len(args.seed) or min(args.seed) < 0:
            parser.error('--seed: give distinct seeds, each 0 or more')
        args.seeds = len(args.seed)
    else:
        if args.seeds < 2:
            parser.error('--seeds must be at least 2 (for a deviation and '
                         'an interval); --seed S reruns a single seed')
        args.seed = list(range(args.seeds))
    if args.epochs < 4 or args.teacher_epochs < 1:
        parser.error('--epochs must be at least 4 (one per stage), '
                     '--teacher-epochs positive')
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            parser.error('--device cuda: no CUDA device is visible here')
    if args.workers is None:
        args.workers = 4 if args.device == 'cuda' else os.cpu_count()
    if args.workers < 1:
        parser.error('--workers must be positive')
    bound = task.train_images
    if args.train_samples is not None and not (
            1 <= args.train_samples <= (bound or args.train_samples)):
        parser.error(f'--train-samples must be in 1..{bound or "N"}')
    if args.feature_cases and (args.no_ablations or args.precision_only):
        parser.error('--feature-cases adds ablations; it cannot go with '
                     '--no-ablations or --precision-only')
    if osp.exists(args.work_dir) and os.listdir(args.work_dir):
        parser.error(f'--work-dir {args.work_dir} is not empty; give a new '
                     'folder')
    existing = [
        path for path in report_paths(args.out_dir, args.task)
        if osp.exists(path)
    ]
    if args.update:
        json_path = report_paths(args.out_dir, args.task)[1]
        if not args.cases or not osp.exists(json_path):
            parser.error('--update needs --cases and an existing report '
                         f'{json_path}')
        with open(json_path) as file:
            args.previous = json.load(file)
        previous = args.previous
        args.seed, args.epochs = previous['seed_list'], previous['epochs']
        args.teacher_epochs = previous['teacher_epochs']
        args.train_samples = previous['train_samples']
    elif existing and not args.force:
        parser.error(f'{existing[0]} exists; give another --out-dir or '
                     '--force to replace the report')
    # Last: naming the cases imports the package (seconds).
    if args.cases:
        known = [name for group in cases(args.epochs, features=True)
                 for name in group]
        unknown = [name for name in args.cases if name not in known]
        if unknown:
            parser.error(f'--cases: no case named {unknown}; the cases are '
                         f'{known}')
    return args


def main():
    args = parse_args()
    task = TASKS[args.task]
    start = time.perf_counter()
    if args.precision_only:
        main_cases, ablations = precision_cases(args.epochs)
    else:
        # --cases picks among all of them.
        main_cases, ablations = cases(
            args.epochs, task.precision_ablations or bool(args.cases),
            features=bool(args.cases) or args.feature_cases)
    if args.no_ablations:
        ablations = {}
    if args.cases:
        main_cases, ablations = ({
            name: case
            for name, case in group.items() if name in args.cases
        } for group in (main_cases, ablations))
    all_cases = dict(main_cases, **ablations)
    settings = sorted({case[2] for case in all_cases.values()
                       if case[0] != 'scratch'})
    context = multiprocessing.get_context('spawn')
    with futures.ProcessPoolExecutor(args.workers, mp_context=context,
                                     initializer=start_worker,
                                     initargs=(args.device, )) as pool:
        teachers = run_all(pool, [(train_teacher, dict(
            task=args.task, setting=s, options=TEACHERS[s],
            work_dir=osp.join(args.work_dir, f'teacher_{s}'),
            epochs=args.teacher_epochs)) for s in settings], 'teachers')
        teachers = {t['setting']: t for t in teachers}
        # The longest runs first, so that the last ones do not run alone.
        order = sorted(all_cases.items(), key=lambda item: (
            item[1][0] == 'scratch', item[1][1] is None))
        indices = {name: index for index, name in enumerate(all_cases)}
        jobs = [(train_student, dict(
            task=args.task, name=name, method=method, pwkd=pwkd,
            teacher=teachers.get(setting), seed=seed, epochs=args.epochs,
            train_samples=args.train_samples,
            work_dir=osp.join(args.work_dir,
                              f'case{indices[name]}_seed{seed}')))
                for seed in args.seed
                for name, (method, pwkd, setting) in order]
        results = run_all(pool, jobs, 'students')

    by_case = {name: {} for name in all_cases}
    curves = {name: {} for name in CURVE_CASES if name in all_cases}
    for result in results:
        by_case[result['case']][result['seed']] = result['top1']
        if result['curve'] is not None:
            curves[result['case']][result['seed']] = result['curve']
    from pwkd_plugin.models.utils import equal_stage_lengths
    from speed import cpu_name
    lengths = equal_stage_lengths(args.epochs, 4)
    report = dict(
        task=args.task, title=task.title, description=task.description,
        command=shlex.join(['python', 'benchmarks/accuracy.py'] + sys.argv[1:]),
        machine=f'{cpu_name()}, {os.cpu_count()} CPUs, '
        f'{args.workers} runs in parallel, one thread each, on '
        f'{args.device}',
        minutes=(time.perf_counter() - start) / 60,
        epochs=args.epochs, teacher_epochs=args.teacher_epochs,
        train_samples=args.train_samples,
        seed_list=args.seed,
        teachers={s: dict(top1=t['top1'], seconds=t['seconds'])
                  for s, t in teachers.items()},
        main_cases=list(main_cases), ablation_cases=list(ablations),
        cases={name: summary([v for _, v in sorted(by_case[name].items())])
               for name in all_cases},
        paired=[paired(case, ref, by_case)
                for case, ref in comparisons(ablations)
                if case in all_cases and ref in all_cases],
        curves={name: [statistics.mean(values) for values in zip(
            *(curve for _, curve in sorted(per_seed.items())))]
                for name, per_seed in curves.items()},
        curves_per_seed={name: {str(seed): curve
                                for seed, curve in sorted(per_seed.items())}
                         for name, per_seed in curves.items()},
        stage_ends=[sum(lengths[:i + 1]) for i in range(len(lengths))])
    if args.update:
        report = merged(args.previous, report, by_case)
    report['figures'] = task_figures(report)
    os.makedirs(args.out_dir, exist_ok=True)
    md_path, json_path, png_path, curves_path = report_paths(
        args.out_dir, args.task)
    text = markdown(report)
    with open(md_path, 'w') as file:
        file.write(text)
    with open(json_path, 'w') as file:
        json.dump(report, file, indent=2)
    plot(report, png_path)
    written = [md_path, json_path, png_path]
    if report['curves']:
        plot_curves(report, curves_path)
        written.append(curves_path)
    print('\n' + text)
    print('wrote ' + ', '.join(written))


if __name__ == '__main__':
    main()
