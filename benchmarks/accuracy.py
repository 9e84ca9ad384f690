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
import contextlib
import json
import math
import multiprocessing
import os
import os.path as osp
import shlex
import statistics
import sys
import time
from typing import NamedTuple, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')


class Task(NamedTuple):
    """A benchmark task: its configs, defaults and how the report names it."""
    title: str
    teacher_config: str
    student_configs: dict
    #: The size of the student's training set, the bound of
    #: ``--train-samples`` (None: not fixed, it depends on the fonts).
    train_images: Optional[int]
    #: Defaults of --epochs, --teacher-epochs, --seeds, --train-samples
    #: (None: the config's whole training set).
    epochs: int
    teacher_epochs: int
    seeds: int
    train_samples: Optional[int]
    description: str
    #: Whether the default ablations hold the teacher precision cases
    #: (``--precision-only`` and ``--cases`` run them on any task).
    precision_ablations: bool


TASKS = dict(
    digits=Task(
        title='the digits data',
        teacher_config='pwkd/teachers/slimmable_resnet20_digits.py',
        student_configs=dict(
            scratch='demo/resnet8_digits.py',
            KD='demo/kd_resnet20_resnet8_digits.py',
            DKD='demo/dkd_resnet20_resnet8_digits.py',
            FitNet='demo/fitnet_resnet20_resnet8_digits.py'),
        train_images=1437, epochs=20, teacher_epochs=20, seeds=5,
        train_samples=180,
        description='Student ResNet8; teacher slimmable ResNet20 on all '
        '1437 training images; top-1 (%) on the 360 test images.',
        precision_ablations=True),
    font_glyphs=Task(
        title='the font glyphs',
        teacher_config='pwkd/teachers/slimmable_resnet20_font_glyphs.py',
        student_configs=dict(
            scratch='fonts/resnet8_half_font_glyphs.py',
            KD='fonts/kd_resnet20_resnet8_half_font_glyphs.py',
            DKD='fonts/dkd_resnet20_resnet8_half_font_glyphs.py',
            FitNet='fonts/fitnet_resnet20_resnet8_half_font_glyphs.py'),
        train_images=None, epochs=16, teacher_epochs=4, seeds=8,
        train_samples=None,
        description='36 classes (0-9, A-Z) at 16x16. Student ResNet8 at half '
        'width on one training typeface in eight; teacher slimmable ResNet20 '
        'on every training typeface; top-1 (%) on the test typefaces, '
        'families never seen in training.',
        precision_ablations=False),
    font_glyphs_balanced=Task(
        title='the balanced font glyphs',
        teacher_config='pwkd/teachers/'
        'slimmable_resnet20_font_glyphs_balanced.py',
        student_configs=dict(
            scratch='fonts/resnet8_half_font_glyphs_balanced.py',
            KD='fonts/kd_resnet20_resnet8_half_font_glyphs_balanced.py',
            DKD='fonts/dkd_resnet20_resnet8_half_font_glyphs_balanced.py',
            FitNet='fonts/fitnet_resnet20_resnet8_half_font_glyphs_balanced'
            '.py'),
        train_images=None, epochs=16, teacher_epochs=4, seeds=8,
        train_samples=None,
        description='47 classes (0-9, A-Z, abdefghnqrt: EMNIST Balanced) at '
        '16x16, typefaces that draw capitals for lowercase left out. Student '
        'ResNet8 at half width on one training typeface in eight; teacher '
        'slimmable ResNet20 on every training typeface; top-1 (%) on the '
        'test typefaces, families never seen in training.',
        precision_ablations=False),
)
#: The teacher precision cases: name -> ``pwkd.teacher_precision``.
PRECISION_CASES = {
    'PWKD+KD, fp32 teacher': 'fp32',
    'PWKD+KD, bf16 teacher': 'bf16',
}
#: The feature strategy cases: name -> ``pwkd.feature_strategy`` (the
#: default is ``'slice'``). Not in the default run (16 more runs on the font
#: glyphs); ``--feature-cases`` or ``--cases`` runs them.
FEATURE_CASES = {
    'PWKD+FitNet, teacher features zero-padded': 'pad',
    'PWKD+FitNet, one connector per stage': 'per_stage',
}
#: Teacher settings: the ``slimmable`` block options of each.
TEACHERS = dict(plain=dict(), inplace=dict(inplace_distill=True))
#: The cases validated after every epoch, for the learning curves.
CURVE_CASES = ('KD', 'PWKD+KD')


def cases(epochs, precision=True, features=False):
    """Every case: name -> (method, pwkd block or None, teacher setting);
    the teacher precision cases among the ablations when ``precision``, the
    feature strategy cases when ``features``."""
    from pwkd_plugin.models.utils import proportional_stage_lengths
    widths = (0.25, 0.5, 0.75, 1.0)
    weighted_lengths = proportional_stage_lengths
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
        'PWKD+KD, optimizer state reset per stage':
        ('KD', dict(reset_optimizer_state=True), 'plain'),
        'PWKD+KD, in-place distilled teacher': ('KD', {}, 'inplace'),
        'KD, in-place distilled teacher': ('KD', None, 'inplace'),
    }
    for name, dtype in PRECISION_CASES.items() if precision else ():
        ablations[name] = ('KD', dict(teacher_precision=dtype), 'plain')
    for name, strategy in FEATURE_CASES.items() if features else ():
        ablations[name] = ('FitNet', dict(feature_strategy=strategy),
                           'plain')
    return main, ablations


def precision_cases(epochs):
    """KD, PWKD+KD and the teacher precision cases alone."""
    main, ablations = cases(epochs)
    return ({name: main[name] for name in ('KD', 'PWKD+KD')},
            {name: ablations[name] for name in PRECISION_CASES})


def comparisons(ablations):
    """(case, reference) pairs whose paired differences are reported; an
    ablation of PWKD+X (``ablations``: name -> case) against PWKD+X and X."""
    pairs = [(f'PWKD+{m}', m) for m in ('KD', 'DKD', 'FitNet')]
    pairs += [('KD', 'scratch')]
    for name, (method, _, _) in ablations.items():
        if name.startswith('PWKD') and 'in-place' not in name and \
                name not in PRECISION_CASES:
            pairs += [(name, f'PWKD+{method}'), (name, method)]
    fp32, bf16 = PRECISION_CASES
    pairs += [(bf16, fp32), ('PWKD+KD', fp32)]
    pairs.append(('PWKD+KD, in-place distilled teacher', 'PWKD+KD'))
    pairs.append(('PWKD+KD, in-place distilled teacher',
                  'KD, in-place distilled teacher'))
    return pairs


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
    if args.cases:
        known = [name for group in cases(args.epochs, features=True)
                 for name in group]
        unknown = [name for name in args.cases if name not in known]
        if unknown:
            parser.error(f'--cases: no case named {unknown}; the cases are '
                         f'{known}')
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
    return args


def report_paths(out_dir, task):
    """The report's files: markdown, JSON, results plot, learning curves."""
    stem = osp.join(out_dir, f'accuracy_{task}')
    return [f'{stem}.md', f'{stem}.json', f'{stem}.png', f'{stem}_curves.png']


def start_worker(device):
    """One thread per run; the plugin imported (and registered) once."""
    import warnings
    if device == 'cpu':  # mmengine's Runner takes a visible GPU on its own
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    import torch
    torch.set_num_threads(1)
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    sys.path.insert(0, REPO)
    import pwkd_plugin  # noqa: F401


def quiet(cfg, work_dir, seed, epochs, val_interval=None):
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = val_interval or epochs
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


def train_teacher(task, setting, options, work_dir, epochs, seed=0,
                  config=None, curve_interval=None):
    """Train a slimmable teacher (``config``, relative to ``configs/``;
    default the task's); take its whole width out for KD. With
    ``curve_interval`` its widths are validated every that many epochs and
    the result has their ``curves`` (width -> top-1 per validation)."""
    from mmengine.config import Config
    from pwkd_plugin.apis import train_and_validate
    from pwkd_plugin.config_blocks import prepare_train_config
    from pwkd_plugin.export import export_width
    cfg = Config.fromfile(
        osp.join(CONFIGS, config or TASKS[task].teacher_config))
    cfg.slimmable.update(options)
    cfg = prepare_train_config(
        quiet(cfg, work_dir, seed, epochs, curve_interval))
    with output_to(work_dir):
        result = train_and_validate(cfg)
        whole = export_width(cfg, result['checkpoint'], 1.0,
                             osp.join(work_dir, 'whole_width'))
    top1 = {
        width_of(key): float(value)
        for key, value in result.items() if key.endswith('accuracy/top1')
    }
    curves = None
    if curve_interval is not None:
        curves = {width_of(key): curve for key, curve in
                  validation_curves(work_dir).items()}
    return dict(setting=setting, seed=seed,
                slimmable_ckpt=result['checkpoint'],
                whole_ckpt=whole['checkpoint'], top1=top1, curves=curves,
                seconds=result['seconds'])


def width_of(key):
    """'0.25' of a slimmable teacher's metric 'width_0.25/accuracy/top1'."""
    return key.split('/')[0][len('width_'):]


def validation_curves(work_dir):
    """Every top-1 metric of a run (``accuracy/top1``, or one per width of a
    slimmable teacher) -> its value at every validation, by epoch (of the
    newest run, where a stopped attempt left an older one)."""
    run_dir = max(
        name for name in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, name, 'vis_data', 'scalars.json')))
    curves = {}
    with open(osp.join(work_dir, run_dir, 'vis_data', 'scalars.json')) as f:
        for line in f:
            scalars = json.loads(line)
            for key, value in scalars.items():
                if key.endswith('accuracy/top1'):
                    curves.setdefault(key, {})[scalars['step']] = float(value)
    return {key: [curve[epoch] for epoch in sorted(curve)]
            for key, curve in curves.items()}


def validation_curve(work_dir):
    """The student top-1 of every validation of a run, by epoch."""
    return validation_curves(work_dir)['accuracy/top1']


def train_student(task, name, method, pwkd, teacher, seed, work_dir, epochs,
                  train_samples, config=None, curve_interval=None,
                  dataset=None):
    """Train one student; its final top-1 (and the top-1 of every
    ``curve_interval`` epochs, by default every epoch for the learning-curve
    cases). ``config`` (relative to ``configs/``) replaces the task's config
    of ``method``; ``dataset`` updates its training set's options."""
    from mmengine.config import Config
    from pwkd_plugin.apis import train_and_validate
    from pwkd_plugin.config_blocks import prepare_train_config
    cfg = Config.fromfile(
        osp.join(CONFIGS, config or TASKS[task].student_configs[method]))
    if method != 'scratch':
        cfg.model.teacher_ckpt = teacher['whole_ckpt']
        # The student alone is validated (mmrazor's distillation val loop
        # would validate the teacher again at every validation).
        cfg.val_cfg = dict()
    if pwkd is not None:
        cfg.pwkd = dict(pwkd, teacher_ckpt=teacher['slimmable_ckpt'])
    if train_samples is not None:
        cfg.train_dataloader.dataset.indices = train_samples
    cfg.train_dataloader.dataset.update(dataset or {})
    if curve_interval is None and name in CURVE_CASES:
        curve_interval = 1
    with_curve = curve_interval is not None
    cfg = prepare_train_config(
        quiet(cfg, work_dir, seed, epochs, curve_interval))
    with output_to(work_dir):
        result = train_and_validate(cfg)
    return dict(case=name, seed=seed, top1=float(result['accuracy/top1']),
                curve=validation_curve(work_dir) if with_curve else None,
                seconds=result['seconds'])


def run_all(pool, jobs, label, on_result=None):
    """Run ``jobs`` (callable, kwargs) in ``pool``; print progress and an
    estimate of the time left (from the mean time of the jobs done); pass
    each result to ``on_result`` as it comes."""
    start = time.perf_counter()
    pending = {pool.submit(fn, **kwargs): kwargs for fn, kwargs in jobs}
    print(f'[{label}] {len(jobs)} runs, {pool._max_workers} at a time',
          flush=True)
    results = []
    for done, future in enumerate(futures.as_completed(pending), 1):
        result = future.result()
        results.append(result)
        if on_result is not None:
            on_result(result)
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (len(jobs) - done)
        what = (f'{result["case"]}, seed {result["seed"]}: top-1 '
                f'{result["top1"]:.2f}' if 'case' in result else
                f'teacher {result["setting"]}, seed {result["seed"]}: '
                f'top-1 {result["top1"]}')
        print(f'[{label} {done}/{len(jobs)}] {what} ({result["seconds"]:.0f}'
              f' s); {elapsed / 60:.1f} min elapsed, about {eta / 60:.1f} '
              'min left', flush=True)
    return results


def summary(values):
    return dict(mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else None,
                n=len(values), values=values)


def paired(case, reference, by_case):
    from scipy import stats
    a, b = by_case[case], by_case[reference]
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    mean = statistics.mean(diffs)
    if len(diffs) > 1:
        half = float(stats.t.ppf(0.975, len(diffs) - 1) *
                     statistics.stdev(diffs) / math.sqrt(len(diffs)))
        ci95 = [mean - half, mean + half]
    else:
        ci95 = None
    return dict(case=case, reference=reference, mean_diff=mean, ci95=ci95,
                wins=sum(d > 0 for d in diffs), ties=sum(d == 0 for d in diffs),
                n=len(diffs), diffs=diffs, seeds=seeds)


def teacher_gain(top1):
    """Top-1 of the whole width minus that of the narrowest (``top1``:
    width -> top-1)."""
    return top1[max(top1, key=float)] - top1[min(top1, key=float)]


def task_figures(report):
    """The figures that say whether the task can show PWKD's mechanism:
    how much the teacher gains from its narrowest to its whole width, how
    far the student alone trails the whole teacher, and the width of the
    PWKD+KD - KD interval."""
    top1 = report['teachers'].get('plain', {}).get('top1', {})
    figures = {}
    if top1:
        figures['teacher_gain'] = teacher_gain(top1)
    if top1 and 'scratch' in report['cases']:
        figures['student_gap'] = (top1[max(top1, key=float)] -
                                  report['cases']['scratch']['mean'])
    for pair in report['paired']:
        if (pair['case'], pair['reference']) == ('PWKD+KD', 'KD') and \
                pair['ci95'] is not None:
            figures['pwkd_kd_interval_half_width'] = (
                pair['ci95'][1] - pair['ci95'][0]) / 2
    return figures


def merged(previous, update, by_case):
    """``previous`` with the cases of ``update`` put in (each rerun with the
    same seeds and settings; ``by_case``: case -> seed -> top-1 of the
    update) and the paired differences computed again."""
    teacher_top1 = {s: t['top1'] for s, t in update['teachers'].items()}
    for setting, top1 in teacher_top1.items():
        if previous['teachers'][setting]['top1'] != top1:
            raise RuntimeError(
                f'--update: the {setting} teacher came out at {top1}, the '
                f'report\'s at {previous["teachers"][setting]["top1"]}: '
                'not the same runs (other code, or another CPU: '
                f'{update["machine"]} here, {previous["machine"]} there); '
                'rerun the whole report')
    report = dict(previous, cases=dict(previous['cases'], **update['cases']))
    for group in ('main_cases', 'ablation_cases'):
        report[group] = previous[group] + [
            name for name in update[group] if name not in previous[group]]
    report['updates'] = previous.get('updates', []) + [dict(
        command=update['command'], minutes=update['minutes'],
        cases=list(update['cases']))]
    everything = {name: dict(zip(report['seed_list'], case['values']))
                  for name, case in report['cases'].items()}
    everything.update(by_case)
    ablations = {name: (case_method(name), None, None)
                 for name in report['ablation_cases']}
    report['paired'] = [
        paired(case, ref, everything) for case, ref in comparisons(ablations)
        if case in everything and ref in everything]
    return report


def case_method(name):
    """The method a case name distils with (``'PWKD+FitNet, ...'``:
    FitNet)."""
    head = name.split(',')[0]
    return head[len('PWKD+'):] if head.startswith('PWKD+') else head


def fmt(value, spec='.2f'):
    return '-' if value is None else format(value, spec)


def markdown(report):
    seeds = report['seed_list']
    train = (f'the first {report["train_samples"]} training images'
             if report['train_samples'] else 'the whole training set')
    lines = [
        f'# PWKD accuracy on {report["title"]}', '',
        f'Command: `{report["command"]}`  ',
        f'Machine: {report["machine"]}; {report["minutes"]:.0f} min.  ',
    ] + [
        f'Updated: `{u["command"]}` ({u["minutes"]:.0f} min) reran '
        f'{", ".join(f"`{case}`" for case in u["cases"])}.  ' for u in report.get('updates', [])
    ] + [
        f'{report["description"]} Student {report["epochs"]} epochs every '
        f'case on {train}; teacher {report["teacher_epochs"]} epochs, seed 0; '
        f'{len(seeds)} seeds per case ({", ".join(map(str, seeds))}).', '',
        '| teacher | ' + ' | '.join(
            f'width {w}' for w in report['teachers']['plain']['top1']) +
        ' |', '|---' * (1 + len(report['teachers']['plain']['top1'])) + '|'
    ]
    for setting, teacher in report['teachers'].items():
        lines.append(f'| {setting} | ' + ' | '.join(
            f'{v:.2f}' for v in teacher['top1'].values()) + ' |')
    figures = report['figures']
    named = dict(
        teacher_gain='teacher top-1, whole width - narrowest width',
        student_gap='whole teacher - student trained alone (mean)',
        pwkd_kd_interval_half_width='PWKD+KD - KD, half width of the 95 % '
        'interval')
    if figures:
        lines += ['', '## Task figures (points)', '', '| figure | value |',
                  '|---|---|']
        lines += [f'| {named[key]} | {value:.2f} |'
                  for key, value in figures.items()]
    for title, names in (('Methods', report['main_cases']),
                         ('Ablations', report['ablation_cases'])):
        if not names:
            continue
        lines += ['', f'## {title}', '', '| case | mean | std | per seed |',
                  '|---|---|---|---|']
        for name in names:
            s = report['cases'][name]
            lines.append(f'| {name} | {s["mean"]:.2f} | {fmt(s["std"])} | ' +
                         ', '.join(f'{v:.2f}' for v in s['values']) + ' |')
    lines += ['', '## Paired differences (same seeds)', '',
              '| case - reference | mean diff | 95 % interval | better in |',
              '|---|---|---|---|']
    for p in report['paired']:
        ties = f' ({p["ties"]} tied)' if p['ties'] else ''
        interval = ('-' if p['ci95'] is None else
                    f'[{p["ci95"][0]:+.2f}, {p["ci95"][1]:+.2f}]')
        lines.append(f'| {p["case"]} - {p["reference"]} | '
                     f'{p["mean_diff"]:+.2f} | {interval} | '
                     f'{p["wins"]}/{p["n"]} seeds{ties} |')
    if report['curves']:
        epochs = range(1, report['epochs'] + 1)
        lines += ['', '## Learning curves (student top-1 after each epoch, '
                  'mean over seeds)', '',
                  '| case | ' + ' | '.join(map(str, epochs)) + ' |',
                  '|---' * (1 + report['epochs']) + '|']
        lines += [f'| {name} | ' + ' | '.join(f'{v:.1f}' for v in curve) +
                  ' |' for name, curve in report['curves'].items()]
    return '\n'.join(lines) + '\n'


def plot(report, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = report['main_cases'] + report['ablation_cases']
    pairs = [p for p in report['paired'] if p['ci95'] is not None]
    fig, axes = plt.subplots(
        2 if pairs else 1, 1,
        figsize=(9, 0.32 * (len(names) + len(pairs)) + 2.5),
        gridspec_kw=dict(height_ratios=[len(names), len(pairs)]
                         if pairs else [1]),
        squeeze=False)
    top = axes[0][0]
    means = [report['cases'][n]['mean'] for n in names]
    stds = [report['cases'][n]['std'] or 0 for n in names]
    top.barh(range(len(names)), means, xerr=stds, color=[
        'tab:orange' if n.startswith('PWKD') else 'tab:blue' for n in names
    ])
    top.set_yticks(range(len(names)), names)
    top.invert_yaxis()
    low = min(m - s for m, s in zip(means, stds))
    top.set_xlim(max(0, low - 1), 100)
    top.set_xlabel('top-1 (%), mean and std over seeds')
    if pairs:
        bottom = axes[1][0]
        bottom.errorbar(
            [p['mean_diff'] for p in pairs], range(len(pairs)),
            xerr=[[p['mean_diff'] - p['ci95'][0] for p in pairs],
                  [p['ci95'][1] - p['mean_diff'] for p in pairs]],
            fmt='o', capsize=3)
        bottom.axvline(0, color='grey', lw=1)
        bottom.set_yticks(range(len(pairs)),
                          [f'{p["case"]} - {p["reference"]}' for p in pairs])
        bottom.invert_yaxis()
        bottom.set_xlabel('paired difference (points), 95 % interval')
    fig.suptitle(f'{report["title"]}: {report["epochs"]} epochs, '
                 f'{len(report["seed_list"])} seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(report, path):
    """Student top-1 per epoch, mean over seeds, with the stage ends of the
    default PWKD plan."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, axis = plt.subplots(figsize=(7, 4))
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    for name, curve in report['curves'].items():
        axis.plot(range(1, len(curve) + 1), curve, marker='o', ms=3,
                  label=name)
    for end in report['stage_ends'][:-1]:
        axis.axvline(end + 0.5, color='grey', lw=0.8, ls=':')
    axis.set_xlabel('epoch (dotted: the ends of the PWKD stages)')
    axis.set_ylabel('student top-1 (%), mean over seeds')
    axis.set_title(f'{report["title"]}: learning curves, '
                   f'{len(report["seed_list"])} seeds')
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
