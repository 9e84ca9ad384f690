"""Accuracy of PWKD against the methods it plugs into, on the digits data.

Every student is ResNet8 trained for the same number of epochs; every teacher
is the demo's slimmable ResNet20 (trained once per teacher setting, seed 0).
KD, DKD and FitNet distil from the teacher's whole width (taken out as an
ordinary network with ``export_width``); PWKD+X is the same config with a
``pwkd`` block added. Each case runs with N seeds; the report gives mean and
standard deviation, and for each comparison the paired difference (same
seeds) with its 95 % t interval.

Cases: student from scratch, KD, PWKD+KD, DKD, PWKD+DKD, FitNet,
PWKD+FitNet; ablations of PWKD+KD: 2 and 3 stages, no cyclic learning rate
(the base schedule over the whole run), stage lengths proportional to the
width, a teacher trained with in-place distillation (with KD from that
teacher for reference), and the teacher forward in fp32 (the static copy as
it is) against bf16 (the fast copy's precision on hardware with native bf16),
paired with each other and with the default (``teacher_precision='auto'``).
``--precision-only`` runs KD, PWKD+KD and the two precision cases alone.

It writes ``accuracy_digits.md``, ``.json`` and ``.png`` to ``--out-dir``
(default ``benchmarks/results``) and shows progress while it runs.

Example::

    python benchmarks/accuracy.py --seeds 5
"""
import argparse
import concurrent.futures as futures
import contextlib
import json
import math
import multiprocessing
import os
import os.path as osp
import platform
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')
TEACHER_CONFIG = 'pwkd/teachers/slimmable_resnet20_digits.py'
STUDENT_CONFIGS = dict(
    scratch='demo/resnet8_digits.py',
    KD='demo/kd_resnet20_resnet8_digits.py',
    DKD='demo/dkd_resnet20_resnet8_digits.py',
    FitNet='demo/fitnet_resnet20_resnet8_digits.py')
#: The teacher precision cases: name -> ``pwkd.teacher_precision``.
PRECISION_CASES = {
    'PWKD+KD, fp32 teacher': 'fp32',
    'PWKD+KD, bf16 teacher': 'bf16',
}
#: Teacher settings: the ``slimmable`` block options of each.
TEACHERS = dict(plain=dict(), inplace=dict(inplace_distill=True))
OUTPUT_STEM = 'accuracy_digits'


def weighted_lengths(total, widths):
    """Stage lengths proportional to the widths, adding up to ``total``."""
    shares = [total * w / sum(widths) for w in widths]
    lengths = [max(1, math.floor(share)) for share in shares]
    by_remainder = sorted(range(len(widths)),
                          key=lambda i: shares[i] - math.floor(shares[i]),
                          reverse=True)
    for index in by_remainder[:total - sum(lengths)]:
        lengths[index] += 1
    return lengths


def cases(epochs):
    """Every case: name -> (method, pwkd block or None, teacher setting)."""
    widths = (0.25, 0.5, 0.75, 1.0)
    main = {'scratch': ('scratch', None, 'plain')}
    for method in ('KD', 'DKD', 'FitNet'):
        main[method] = (method, None, 'plain')
        main[f'PWKD+{method}'] = (method, {}, 'plain')
    ablations = {
        'PWKD+KD, 2 stages (0.5, 1)': ('KD', dict(widths=(0.5, 1.0)),
                                       'plain'),
        'PWKD+KD, 3 stages (0.5, 0.75, 1)':
        ('KD', dict(widths=(0.5, 0.75, 1.0)), 'plain'),
        'PWKD+KD, no cyclic LR': ('KD', dict(lr_cycle=None), 'plain'),
        'PWKD+KD, stage lengths ~ width '
        f'{weighted_lengths(epochs, widths)}':
        ('KD', dict(stage_lengths=weighted_lengths(epochs, widths)),
         'plain'),
        'PWKD+KD, in-place distilled teacher': ('KD', {}, 'inplace'),
        'KD, in-place distilled teacher': ('KD', None, 'inplace'),
    }
    for name, precision in PRECISION_CASES.items():
        ablations[name] = ('KD', dict(teacher_precision=precision), 'plain')
    return main, ablations


def precision_cases(epochs):
    """KD, PWKD+KD and the teacher precision cases alone."""
    main, ablations = cases(epochs)
    return ({name: main[name] for name in ('KD', 'PWKD+KD')},
            {name: ablations[name] for name in PRECISION_CASES})


def comparisons(ablation_names):
    """(case, reference) pairs whose paired differences are reported."""
    pairs = [(f'PWKD+{m}', m) for m in ('KD', 'DKD', 'FitNet')]
    pairs += [('KD', 'scratch')]
    for name in ablation_names:
        if name.startswith('PWKD') and 'in-place' not in name and \
                name not in PRECISION_CASES:
            pairs += [(name, 'PWKD+KD'), (name, 'KD')]
    fp32, bf16 = PRECISION_CASES
    pairs += [(bf16, fp32), ('PWKD+KD', fp32)]
    pairs.append(('PWKD+KD, in-place distilled teacher', 'PWKD+KD'))
    pairs.append(('PWKD+KD, in-place distilled teacher',
                  'KD, in-place distilled teacher'))
    return pairs


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=5,
                        help='seeds per case (default 5)')
    parser.add_argument('--epochs', type=int, default=20,
                        help='student epochs, every case (default 20)')
    parser.add_argument('--train-samples', type=int, default=180,
                        help='student training images, the first N of the '
                        '1437 (default 180; the teacher always sees all): '
                        'with all of them every student is at about 99.4 %%, '
                        'which leaves nothing to compare')
    parser.add_argument('--teacher-epochs', type=int, default=20,
                        help='slimmable teacher epochs (default 20)')
    parser.add_argument('--no-ablations', action='store_true',
                        help='only the seven main cases')
    parser.add_argument('--precision-only', action='store_true',
                        help='only KD, PWKD+KD and PWKD+KD with the teacher '
                        'in fp32 and in bf16')
    parser.add_argument('--cases', nargs='+', metavar='NAME',
                        help='only these cases (names as in the report, '
                        'e.g. scratch KD PWKD+KD)')
    parser.add_argument('--workers', type=int, default=os.cpu_count(),
                        help='runs in parallel, one thread each '
                        '(default: the number of CPUs)')
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'accuracy',
                                         time.strftime('%Y%m%d_%H%M%S')),
                        help='checkpoints and logs (a new folder)')
    parser.add_argument('--out-dir', default=osp.join(REPO, 'benchmarks',
                                                      'results'),
                        help='where the report goes')
    parser.add_argument('--force', action='store_true',
                        help='replace an existing report in --out-dir')
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error('--seeds must be at least 2 (for a deviation and an '
                     'interval)')
    if args.epochs < 4 or args.teacher_epochs < 1 or args.workers < 1:
        parser.error('--epochs must be at least 4 (one per stage), '
                     '--teacher-epochs and --workers positive')
    if not 1 <= args.train_samples <= 1437:
        parser.error('--train-samples must be in 1..1437')
    if args.cases:
        known = [name for group in cases(args.epochs) for name in group]
        unknown = [name for name in args.cases if name not in known]
        if unknown:
            parser.error(f'--cases: no case named {unknown}; the cases are '
                         f'{known}')
    if osp.exists(args.work_dir) and os.listdir(args.work_dir):
        parser.error(f'--work-dir {args.work_dir} is not empty; give a new '
                     'folder')
    existing = [
        path for path in report_paths(args.out_dir) if osp.exists(path)
    ]
    if existing and not args.force:
        parser.error(f'{existing[0]} exists; give another --out-dir or '
                     '--force to replace the report')
    return args


def report_paths(out_dir):
    return [
        osp.join(out_dir, f'{OUTPUT_STEM}.{ext}')
        for ext in ('md', 'json', 'png')
    ]


def start_worker():
    """One thread per run; the plugin imported (and registered) once."""
    import warnings

    import torch
    torch.set_num_threads(1)
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    sys.path.insert(0, REPO)
    import pwkd_plugin  # noqa: F401


def quiet(cfg, work_dir, seed, epochs):
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=seed)
    return cfg


@contextlib.contextmanager
def output_to(work_dir):
    """A run's prints and warnings go to ``work_dir/output.log``."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'output.log'), 'w') as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def train_teacher(setting, options, work_dir, epochs):
    """Train a slimmable teacher; take its whole width out for KD."""
    from mmengine.config import Config
    from pwkd_plugin.apis import (export_width, prepare_train_config,
                                  train_and_validate)
    cfg = Config.fromfile(osp.join(CONFIGS, TEACHER_CONFIG))
    cfg.slimmable.update(options)
    cfg = prepare_train_config(quiet(cfg, work_dir, 0, epochs))
    with output_to(work_dir):
        result = train_and_validate(cfg)
        whole = export_width(cfg, result['checkpoint'], 1.0,
                             osp.join(work_dir, 'whole_width'))
    top1 = {
        key.split('/')[0][len('width_'):]: float(value)
        for key, value in result.items() if key.endswith('accuracy/top1')
    }
    return dict(setting=setting, slimmable_ckpt=result['checkpoint'],
                whole_ckpt=whole['checkpoint'], top1=top1,
                seconds=result['seconds'])


def train_student(name, method, pwkd, teacher, seed, work_dir, epochs,
                  train_samples):
    """Train one student; its final top-1."""
    from mmengine.config import Config
    from pwkd_plugin.apis import prepare_train_config, train_and_validate
    cfg = Config.fromfile(osp.join(CONFIGS, STUDENT_CONFIGS[method]))
    if method != 'scratch':
        cfg.model.teacher_ckpt = teacher['whole_ckpt']
    if pwkd is not None:
        cfg.pwkd = dict(pwkd, teacher_ckpt=teacher['slimmable_ckpt'])
    cfg.train_dataloader.dataset.indices = train_samples
    cfg = prepare_train_config(quiet(cfg, work_dir, seed, epochs))
    with output_to(work_dir):
        result = train_and_validate(cfg)
    return dict(case=name, seed=seed, top1=float(result['accuracy/top1']),
                seconds=result['seconds'])


def run_all(pool, jobs, label):
    """Run ``jobs`` (callable, kwargs) in ``pool``; print progress."""
    start = time.perf_counter()
    pending = {pool.submit(fn, **kwargs): kwargs for fn, kwargs in jobs}
    results = []
    for done, future in enumerate(futures.as_completed(pending), 1):
        result = future.result()
        results.append(result)
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (len(jobs) - done)
        what = (f'{result["case"]}, seed {result["seed"]}: top-1 '
                f'{result["top1"]:.2f}' if 'case' in result else
                f'teacher {result["setting"]}: top-1 {result["top1"]}')
        print(f'[{label} {done}/{len(jobs)}] {what} ({result["seconds"]:.0f}'
              f' s); {elapsed / 60:.1f} min elapsed, about {eta / 60:.1f} '
              'min left', flush=True)
    return results


def summary(values):
    return dict(mean=statistics.mean(values), std=statistics.stdev(values),
                n=len(values), values=values)


def paired(case, reference, by_case):
    from scipy import stats
    a, b = by_case[case], by_case[reference]
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    mean = statistics.mean(diffs)
    half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(
        diffs) / math.sqrt(len(diffs))
    half = float(half)
    return dict(case=case, reference=reference, mean_diff=mean,
                ci95=[mean - half, mean + half],
                wins=sum(d > 0 for d in diffs), ties=sum(d == 0 for d in diffs),
                n=len(diffs), diffs=diffs)


def markdown(report):
    lines = [
        '# PWKD accuracy on the digits data', '',
        f'Command: `{report["command"]}`  ',
        f'Machine: {report["machine"]}; {report["minutes"]:.0f} min.  ',
        f'Student ResNet8, {report["epochs"]} epochs every case on the first '
        f'{report["train_samples"]} of the 1437 training images; teacher '
        f'slimmable ResNet20, {report["teacher_epochs"]} epochs on all of '
        'them, seed 0; '
        f'{report["seeds"]} seeds per case (0..{report["seeds"] - 1}); '
        'top-1 (%) on the 360 validation images.', '',
        '| teacher | ' + ' | '.join(
            f'width {w}' for w in report['teachers']['plain']['top1']) +
        ' |', '|---' * (1 + len(report['teachers']['plain']['top1'])) + '|'
    ]
    for setting, teacher in report['teachers'].items():
        lines.append(f'| {setting} | ' + ' | '.join(
            f'{v:.2f}' for v in teacher['top1'].values()) + ' |')
    for title, names in (('Methods', report['main_cases']),
                         ('Ablations', report['ablation_cases'])):
        if not names:
            continue
        lines += ['', f'## {title}', '', '| case | mean | std | per seed |',
                  '|---|---|---|---|']
        for name in names:
            s = report['cases'][name]
            lines.append(f'| {name} | {s["mean"]:.2f} | {s["std"]:.2f} | ' +
                         ', '.join(f'{v:.2f}' for v in s['values']) + ' |')
    lines += ['', '## Paired differences (same seeds)', '',
              '| case - reference | mean diff | 95 % interval | better in |',
              '|---|---|---|---|']
    for p in report['paired']:
        ties = f' ({p["ties"]} tied)' if p['ties'] else ''
        lines.append(f'| {p["case"]} - {p["reference"]} | '
                     f'{p["mean_diff"]:+.2f} | [{p["ci95"][0]:+.2f}, '
                     f'{p["ci95"][1]:+.2f}] | {p["wins"]}/{p["n"]} seeds'
                     f'{ties} |')
    return '\n'.join(lines) + '\n'


def plot(report, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = report['main_cases'] + report['ablation_cases']
    pairs = report['paired']
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 0.32 * (len(names) + len(pairs)) + 2.5),
        gridspec_kw=dict(height_ratios=[len(names), len(pairs)]))
    means = [report['cases'][n]['mean'] for n in names]
    stds = [report['cases'][n]['std'] for n in names]
    top.barh(range(len(names)), means, xerr=stds, color=[
        'tab:orange' if n.startswith('PWKD') else 'tab:blue' for n in names
    ])
    top.set_yticks(range(len(names)), names)
    top.invert_yaxis()
    low = min(m - s for m, s in zip(means, stds))
    top.set_xlim(max(0, low - 1), 100)
    top.set_xlabel('top-1 (%), mean and std over seeds')
    bottom.errorbar([p['mean_diff'] for p in pairs], range(len(pairs)),
                    xerr=[[p['mean_diff'] - p['ci95'][0] for p in pairs],
                          [p['ci95'][1] - p['mean_diff'] for p in pairs]],
                    fmt='o', capsize=3)
    bottom.axvline(0, color='grey', lw=1)
    bottom.set_yticks(range(len(pairs)),
                      [f'{p["case"]} - {p["reference"]}' for p in pairs])
    bottom.invert_yaxis()
    bottom.set_xlabel('paired difference (points), 95 % interval')
    fig.suptitle(f'ResNet20 -> ResNet8 on digits ({report["train_samples"]} '
                 f'training images), {report["epochs"]} epochs, '
                 f'{report["seeds"]} seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    args = parse_args()
    start = time.perf_counter()
    main_cases, ablations = (precision_cases if args.precision_only else
                             cases)(args.epochs)
    if args.no_ablations:
        ablations = {}
    if args.cases:
        main_cases, ablations = ({
            name: case
            for name, case in group.items() if name in args.cases
        } for group in (main_cases, ablations))
    all_cases = dict(main_cases, **ablations)
    settings = sorted({case[2] for case in all_cases.values()})
    context = multiprocessing.get_context('spawn')
    with futures.ProcessPoolExecutor(args.workers, mp_context=context,
                                     initializer=start_worker) as pool:
        teachers = run_all(pool, [(train_teacher, dict(
            setting=s, options=TEACHERS[s],
            work_dir=osp.join(args.work_dir, f'teacher_{s}'),
            epochs=args.teacher_epochs)) for s in settings], 'teachers')
        teachers = {t['setting']: t for t in teachers}
        jobs = [(train_student, dict(
            name=name, method=method, pwkd=pwkd, teacher=teachers[setting],
            seed=seed, epochs=args.epochs, train_samples=args.train_samples,
            work_dir=osp.join(args.work_dir, f'case{index}_seed{seed}')))
                for seed in range(args.seeds)
                for index, (name, (method, pwkd, setting)) in enumerate(
                    all_cases.items())]
        results = run_all(pool, jobs, 'students')

    by_case = {name: {} for name in all_cases}
    for result in results:
        by_case[result['case']][result['seed']] = result['top1']
    report = dict(
        command=' '.join(['python benchmarks/accuracy.py'] + sys.argv[1:]),
        machine=f'{platform.machine()}, {os.cpu_count()} CPUs, '
        f'{args.workers} runs in parallel, one thread each',
        minutes=(time.perf_counter() - start) / 60,
        epochs=args.epochs, teacher_epochs=args.teacher_epochs,
        train_samples=args.train_samples,
        seeds=args.seeds,
        teachers={s: dict(top1=t['top1'], seconds=t['seconds'])
                  for s, t in teachers.items()},
        main_cases=list(main_cases), ablation_cases=list(ablations),
        cases={name: summary([v for _, v in sorted(by_case[name].items())])
               for name in all_cases},
        paired=[paired(case, ref, by_case)
                for case, ref in comparisons(ablations)
                if case in all_cases and ref in all_cases])
    os.makedirs(args.out_dir, exist_ok=True)
    md_path, json_path, png_path = report_paths(args.out_dir)
    text = markdown(report)
    with open(md_path, 'w') as file:
        file.write(text)
    with open(json_path, 'w') as file:
        json.dump(report, file, indent=2)
    plot(report, png_path)
    print('\n' + text)
    print(f'wrote {md_path}, {json_path}, {png_path}')


if __name__ == '__main__':
    main()
