"""Top-1 of a benchmark task's slimmable teacher at each width, over seeds.

The accuracy benchmark (``accuracy.py``) trains its teacher once, seed 0;
how much the teacher gains from its narrowest to its whole width depends on
the seed (and on the CPU) by a few points, so this trains the task's plain
slimmable teacher once per seed, exactly as ``accuracy.py`` does (the same
function, so its seed 0 is the accuracy report's teacher on the same
machine), and reports top-1 per width, the gain (whole - narrowest width)
per seed and its mean and standard deviation.

It writes ``teacher_widths_<task>.md`` and ``.json`` to ``--out-dir``
(default ``benchmarks/results``); with ``--teacher-epochs`` other than the
task's, ``teacher_widths_<task>_<epochs>e``, so reports of several training
lengths stand side by side.

Example::

    python benchmarks/teacher_widths.py --task font_glyphs_balanced --seeds 3
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

from pwkd_bench.pool import run_all, start_worker
from pwkd_bench.stats import teacher_gain
from pwkd_bench.tasks import REPO, TASKS
from pwkd_bench.training import train_teacher


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=sorted(TASKS),
                        default='font_glyphs_balanced',
                        help='the benchmark task (default '
                        'font_glyphs_balanced)')
    parser.add_argument('--seeds', type=int, default=3,
                        help='teacher seeds 0..N-1 (default 3)')
    parser.add_argument('--teacher-epochs', type=int,
                        help='slimmable teacher epochs (default: the '
                        'task\'s, as accuracy.py)')
    parser.add_argument('--workers', type=int, default=os.cpu_count(),
                        help='runs in parallel, one thread each (default: '
                        'the number of CPUs)')
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'teacher_widths',
                                         time.strftime('%Y%m%d_%H%M%S')),
                        help='checkpoints and logs (a new folder)')
    parser.add_argument('--out-dir',
                        default=osp.join(REPO, 'benchmarks', 'results'),
                        help='where the report goes')
    parser.add_argument('--force', action='store_true',
                        help='replace an existing report in --out-dir')
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error('--seeds must be at least 2 (for a deviation)')
    if args.workers < 1:
        parser.error('--workers must be positive')
    if args.teacher_epochs is None:
        args.teacher_epochs = TASKS[args.task].teacher_epochs
    if args.teacher_epochs < 1:
        parser.error('--teacher-epochs must be positive')
    if osp.exists(args.work_dir) and os.listdir(args.work_dir):
        parser.error(f'--work-dir {args.work_dir} is not empty; give a new '
                     'folder')
    existing = [p for p in report_paths(args.out_dir, args.task,
                                        args.teacher_epochs)
                if osp.exists(p)]
    if existing and not args.force:
        parser.error(f'{existing[0]} exists; give another --out-dir or '
                     '--force to replace the report')
    return args


def report_paths(out_dir, task, teacher_epochs):
    stem = osp.join(out_dir, f'teacher_widths_{task}')
    if teacher_epochs != TASKS[task].teacher_epochs:
        stem += f'_{teacher_epochs}e'
    return [f'{stem}.md', f'{stem}.json']


def markdown(report):
    widths = list(report['teachers'][0]['top1'])
    lines = [
        f'# Slimmable teacher top-1 per width on {report["title"]}', '',
        f'Command: `{report["command"]}`  ',
        f'Machine: {report["machine"]}; {report["minutes"]:.0f} min.  ',
        f'{report["teacher_epochs"]} epochs per teacher; gain: whole width - '
        'narrowest width (points).', '',
        '| seed | ' + ' | '.join(f'width {w}' for w in widths) + ' | gain |',
        '|---' * (len(widths) + 2) + '|'
    ]
    for teacher in report['teachers']:
        lines.append(f'| {teacher["seed"]} | ' + ' | '.join(
            f'{teacher["top1"][w]:.2f}' for w in widths) +
            f' | {teacher["gain"]:.2f} |')
    lines.append('| mean | ' + ' | '.join(
        f'{report["mean_top1"][w]:.2f}' for w in widths) +
        f' | {report["gain"]["mean"]:.2f} '
        f'(std {report["gain"]["std"]:.2f}) |')
    return '\n'.join(lines) + '\n'


def main():
    args = parse_args()
    start = time.perf_counter()
    context = multiprocessing.get_context('spawn')
    with futures.ProcessPoolExecutor(args.workers, mp_context=context,
                                     initializer=start_worker,
                                     initargs=('cpu', )) as pool:
        teachers = run_all(pool, [(train_teacher, dict(
            task=args.task, setting='plain', options={}, seed=seed,
            epochs=args.teacher_epochs,
            work_dir=osp.join(args.work_dir, f'teacher_seed{seed}')))
            for seed in range(args.seeds)], 'teachers')
    teachers = sorted(teachers, key=lambda t: t['seed'])
    gains = [teacher_gain(t['top1']) for t in teachers]
    from speed import cpu_name
    report = dict(
        task=args.task, title=TASKS[args.task].title,
        command=shlex.join(['python', 'benchmarks/teacher_widths.py'] +
                           sys.argv[1:]),
        machine=f'{cpu_name()}, {os.cpu_count()} CPUs, {args.workers} runs '
        'in parallel, one thread each, on cpu',
        minutes=(time.perf_counter() - start) / 60,
        teacher_epochs=args.teacher_epochs,
        teachers=[dict(seed=t['seed'], top1=t['top1'], gain=g,
                       seconds=t['seconds'])
                  for t, g in zip(teachers, gains)],
        mean_top1={w: statistics.mean(t['top1'][w] for t in teachers)
                   for w in teachers[0]['top1']},
        gain=dict(mean=statistics.mean(gains), std=statistics.stdev(gains),
                  values=gains))
    os.makedirs(args.out_dir, exist_ok=True)
    md_path, json_path = report_paths(args.out_dir, args.task,
                                      args.teacher_epochs)
    text = markdown(report)
    with open(md_path, 'w') as file:
        file.write(text)
    with open(json_path, 'w') as file:
        json.dump(report, file, indent=2)
    print('\n' + text)
    print(f'wrote {md_path}, {json_path}')


if __name__ == '__main__':
    main()
