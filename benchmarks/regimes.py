"""Where does PWKD help? PWKD+KD against KD in several training regimes.

Every cell is the balanced font glyph task (47 classes at 16x16, test
typefaces never seen in training; ``accuracy.py --task
font_glyphs_balanced``) in another regime:

- ``base``: the accuracy report's regime: student ResNet8 at half width, 16
  epochs on one training typeface in eight, from the slimmable ResNet20
  trained 4 epochs;
- ``long``: the same student trained 64 epochs (4x);
- ``all_fonts``: the student on every training typeface (8x the images),
  16 epochs; the cell closest to the paper's regime in images and
  iterations, where DKD and FitNet run alone and with PWKD under the
  paper's plan as well;
- ``all_fonts_2x``: KD alone, 32 epochs on every training typeface:
  whether ``all_fonts``' KD still rises with twice the epochs (the report
  compares KD's top-1 by the student's length);
- ``teacher_4x``: the base student from a ResNet20 teacher trained 16
  epochs (4x; the teacher's widths are reported);
- ``teacher_8x``, ``teacher_16x``: the same from a teacher trained 32 and
  64 epochs: whether the teacher has stopped rising shows in its widths
  against the shorter teachers' (a long teacher keeps a checkpoint at each
  of its validations and, stopped, resumes from the last); in
  ``teacher_8x``, nearer the paper's converged teachers, DKD and FitNet run
  alone and with PWKD under the package's default plan;
- ``large_gap``: a teacher much larger than the student, ResNet56 (about 40x
  the student's parameters) -> ResNet8 at half width, student 16 epochs on
  one typeface in eight, teacher 4 epochs;
- ``paper_pair``: the paper's headline pair, ResNet32x4 -> ResNet8x4, at the
  glyphs' size (teacher 4 epochs); about 25x ResNet20's work, a cell for
  ``--device cuda``.

Each cell runs KD and PWKD+KD under four plans (:data:`SCHEDULES`): the
paper's (equal stages, the learning rate restarted per stage), the same
stages under the base recipe's schedule (no restarts), short partial stages
and a long whole one (1:1:1:5) under the base schedule, and restarts whose
peak halves stage by stage. Seeds 0..7 by default; every case is paired
with KD on the same seeds (95 % t interval) and each schedule with the
paper's. KD and the PWKD cases are validated 16 times per run: the report
holds their learning curves.

Results go to ``regimes.json`` (and ``regimes.md``, ``regimes.png``) in
``--out-dir`` after every run, so a run can be stopped and continued
(``--cells`` picks cells; runs already in the report are not run again).
Runs are deterministic on one thread on one CPU model, but per-seed figures
differ between CPU models (and between versions of the code that draw
random numbers otherwise): a cell holds the runs of one CPU model only, and
before new runs join a cell, its teacher (trained again unless
``--work-dir`` holds it) and one of its recorded runs are run again here
and must come out as recorded.

Example::

    python benchmarks/regimes.py --cells base long
"""
import argparse
import concurrent.futures as futures
import json
import math
import multiprocessing
import os
import os.path as osp
import shlex
import statistics
import sys
from typing import NamedTuple, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'tools', 'misc'))
import marked_tables  # noqa: E402
from pwkd_bench.pool import run_stream, start_worker  # noqa: E402
from pwkd_bench.stats import (paired, summary, teacher_gain,  # noqa: E402
                              unpaired)
from pwkd_bench.tasks import REPO  # noqa: E402
from pwkd_bench.training import train_student, train_teacher  # noqa: E402

TASK = 'font_glyphs_balanced'
BATCH_SIZE = 64  # the student configs' training batch
#: Validations per curve run (at equal intervals of the student's epochs).
CURVE_POINTS = 16
#: Validations of each width of a teacher over its training.
TEACHER_CURVE_POINTS = 8


class Teacher(NamedTuple):
    """A slimmable teacher: its config (under ``configs/``), name, epochs."""
    config: str
    arch: str
    epochs: int


class Cell(NamedTuple):
    """A regime: the teacher, the student's config family and its data."""
    title: str
    teacher: Teacher
    student_epochs: int
    #: One training typeface in ``font_step`` (1: every training typeface).
    font_step: int
    #: Config (under ``configs/``) of each distillation method.
    methods: dict
    #: The plans (names in :data:`SCHEDULES`) under which DKD and FitNet
    #: run with PWKD here, beside DKD and FitNet alone; none: KD only.
    more_methods: tuple = ()
    #: When given, the only cases this cell runs (e.g. KD alone).
    only_cases: tuple = ()


#: The PWKD plans measured in every cell: case name -> ``pwkd`` block. Each
#: pins its plan, so a change of the package's defaults changes no case.
SCHEDULES = {
    'PWKD+KD': dict(stage_ratios=(1, 1, 1, 1),
                    lr_cycle=dict(mode='cosine', peak_decay=1.0)),
    'PWKD+KD, no restarts': dict(stage_ratios=(1, 1, 1, 1), lr_cycle=None),
    'PWKD+KD, short partial stages 1:1:1:5': dict(stage_ratios=(1, 1, 1, 5),
                                                  lr_cycle=None),
    'PWKD+KD, restarts decaying x0.5': dict(
        stage_ratios=(1, 1, 1, 1),
        lr_cycle=dict(mode='cosine', peak_decay=0.5)),
}
#: What the paper's plan is called among the cases.
PAPER = 'PWKD+KD'
#: The plan of a minimal ``pwkd`` block (the package's default), pinned.
DEFAULT = 'PWKD+KD, short partial stages 1:1:1:5'
#: How the docs' tables name each plan.
PLAN_LABELS = {
    PAPER: "the paper's: equal stages, restarts",
    'PWKD+KD, no restarts': 'equal stages, base schedule',
    DEFAULT: 'short partial stages 1:1:1:5, base schedule (the default)',
    'PWKD+KD, restarts decaying x0.5': 'restarts decaying x0.5',
}


RESNET20_4E = Teacher(
    'pwkd/teachers/slimmable_resnet20_font_glyphs_balanced.py', 'ResNet20', 4)
RESNET8_HALF = dict(
    KD='fonts/kd_resnet20_resnet8_half_font_glyphs_balanced.py',
    DKD='fonts/dkd_resnet20_resnet8_half_font_glyphs_balanced.py',
    FitNet='fonts/fitnet_resnet20_resnet8_half_font_glyphs_balanced.py')
CELLS = dict(
    base=Cell('16 epochs, one typeface in eight, teacher 4 epochs',
              RESNET20_4E, 16, 8, RESNET8_HALF),
    long=Cell('64 epochs (4x), one typeface in eight, teacher 4 epochs',
              RESNET20_4E, 64, 8, RESNET8_HALF),
    all_fonts=Cell('16 epochs on every training typeface (8x the images), '
                   'teacher 4 epochs', RESNET20_4E, 16, 1, RESNET8_HALF,
                   more_methods=(PAPER, )),
    all_fonts_2x=Cell(
        '32 epochs (2x) on every training typeface, teacher 4 epochs: KD '
        "alone, whether all_fonts' KD still rises with more epochs",
        RESNET20_4E, 32, 1, RESNET8_HALF, only_cases=('KD', )),
    teacher_4x=Cell(
        '16 epochs, one typeface in eight, teacher 16 epochs (4x)',
        RESNET20_4E._replace(epochs=16), 16, 8, RESNET8_HALF),
    teacher_8x=Cell(
        '16 epochs, one typeface in eight, teacher 32 epochs (8x)',
        RESNET20_4E._replace(epochs=32), 16, 8, RESNET8_HALF,
        more_methods=(DEFAULT, )),
    teacher_16x=Cell(
        '16 epochs, one typeface in eight, teacher 64 epochs (16x)',
        RESNET20_4E._replace(epochs=64), 16, 8, RESNET8_HALF),
    large_gap=Cell(
        'ResNet56 -> ResNet8 at half width, 16 epochs, one typeface in '
        'eight, teacher 4 epochs',
        Teacher('pwkd/teachers/slimmable_resnet56_font_glyphs_balanced.py',
                'ResNet56', 4), 16, 8,
        dict(KD='fonts/kd_resnet56_resnet8_half_font_glyphs_balanced.py')),
    paper_pair=Cell(
        'ResNet32x4 -> ResNet8x4, 16 epochs, one typeface in eight, '
        'teacher 4 epochs',
        Teacher('pwkd/teachers/slimmable_resnet32x4_font_glyphs_balanced.py',
                'ResNet32x4', 4), 16, 8,
        dict(KD='fonts/kd_resnet32x4_resnet8x4_font_glyphs_balanced.py')),
)
#: The methods besides KD that cells with ``more_methods`` run.
OTHER_METHODS = ('DKD', 'FitNet')


def method_case(method: str, schedule: str) -> str:
    """The case of ``method`` with PWKD under the plan ``schedule`` (a
    :data:`SCHEDULES` name): ``'PWKD+DKD'`` is DKD under the paper's plan,
    as ``'PWKD+KD'`` is KD."""
    return f'PWKD+{method}{schedule[len(PAPER):]}'


def schedule_of(case: str, method: str) -> str:
    """The :data:`SCHEDULES` name of a PWKD case of ``method``."""
    return PAPER + case[len(f'PWKD+{method}'):]


def method_pairs() -> list:
    """Every (PWKD case, its method alone) pair a cell may hold, in the
    report's order."""
    pairs = [(name, 'KD') for name in SCHEDULES]
    return pairs + [(method_case(m, name), m) for m in OTHER_METHODS
                    for name in SCHEDULES]


def cell_cases(cell: Cell) -> dict:
    """Every case of a cell: name -> (method, pwkd block or None). Every
    PWKD case pins its plan, so a change of the package's defaults changes
    no case."""
    cases = {'KD': ('KD', None)}
    cases.update({name: ('KD', block) for name, block in SCHEDULES.items()})
    for method in OTHER_METHODS if cell.more_methods else ():
        cases[method] = (method, None)
        cases.update({method_case(method, name): (method, SCHEDULES[name])
                      for name in cell.more_methods})
    if cell.only_cases:
        cases = {name: cases[name] for name in cell.only_cases}
    return cases


def comparisons(cases) -> list:
    """(case, reference) pairs: every PWKD case against its method, and
    every other KD schedule against the paper's."""
    pairs = method_pairs()
    pairs += [(name, PAPER) for name in SCHEDULES if name != PAPER]
    return [(a, b) for a, b in pairs if a in cases and b in cases]


def curve_interval(cell: Cell) -> int:
    return max(1, cell.student_epochs // CURVE_POINTS)


def student_images(cell: Cell) -> int:
    """Training images of the cell's student (its typefaces' glyphs)."""
    from pwkd_plugin.datasets import FontGlyphs
    return len(FontGlyphs(split='train', image_size=16,
                          character_set='balanced', font_step=cell.font_step,
                          pipeline=[]))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cells', nargs='+', choices=list(CELLS),
                        default=list(CELLS), metavar='CELL',
                        help=f'the cells to run (default all: '
                        f'{", ".join(CELLS)})')
    parser.add_argument('--seeds', type=int, default=8,
                        help='seeds per case, 0..N-1 (default 8)')
    parser.add_argument('--seed', type=int, nargs='+', metavar='S',
                        help='only these seeds (instead of --seeds): a cell '
                        'in parts, e.g. --seed 0 1 2 3, then --seed 4 5 6 7')
    parser.add_argument('--cases', nargs='+', metavar='NAME',
                        help='only these cases of each cell (names as in '
                        'the report, e.g. KD PWKD+KD)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='where every run trains (default cpu; runs on '
                        'cuda run in parallel on the first GPU and are not '
                        'bit for bit deterministic)')
    parser.add_argument('--workers', type=int,
                        help='runs in parallel, one thread each (default: '
                        'the number of CPUs; 8 with --device cuda)')
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'regimes'),
                        help='checkpoints and logs; a teacher found here '
                        '(from an earlier run of this command) is not '
                        'trained again (default work_dirs/regimes)')
    parser.add_argument('--out-dir', default=osp.join(REPO, 'benchmarks',
                                                      'results'),
                        help='where the report goes; runs already in its '
                        'regimes.json are kept and not run again')
    parser.add_argument('--merge', metavar='DIR',
                        help="put the cells of DIR's regimes.json in place "
                        "of the same cells of --out-dir's report (whole "
                        "cells: a cell holds one machine's runs), rewrite "
                        'the report and exit; nothing runs')
    parser.add_argument('--docs', nargs='+', metavar='FILE',
                        help="rewrite the report's tables marked in these "
                        'Markdown files (between "<!-- regimes: plans -->" '
                        'and "<!-- end regimes: plans -->", the same for '
                        "cells) from --out-dir's report and exit; nothing "
                        'runs')
    args = parser.parse_args()
    if args.merge and not osp.isfile(osp.join(args.merge, 'regimes.json')):
        parser.error(f'--merge: {args.merge} holds no regimes.json')
    if args.seed is not None:
        if len(set(args.seed)) != len(args.seed) or min(args.seed) < 0:
            parser.error('--seed: give distinct seeds, each 0 or more')
    elif args.seeds < 2:
        parser.error('--seeds must be at least 2 (for an interval)')
    else:
        args.seed = list(range(args.seeds))
    if args.cases:
        known = {case for name in args.cells
                 for case in cell_cases(CELLS[name])}
        unknown = [case for case in args.cases if case not in known]
        if unknown:
            parser.error(f'--cases: the cells {args.cells} have no case '
                         f'{unknown}; their cases are {sorted(known)}')
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            parser.error('--device cuda: no CUDA device is visible here')
    if args.workers is None:
        args.workers = 8 if args.device == 'cuda' else os.cpu_count()
    if args.workers < 1:
        parser.error('--workers must be positive')
    return args


def machine(args) -> str:
    from speed import cpu_name
    if args.device == 'cuda':
        import torch
        return f'{torch.cuda.get_device_name(0)} (cuda)'
    return f'{cpu_name()} (cpu)'


class Report:
    """``regimes.json``: every run so far, written after each new one."""

    def __init__(self, out_dir: str):
        self.json_path = osp.join(out_dir, 'regimes.json')
        self.out_dir = out_dir
        self.data = dict(cells=[])
        if osp.exists(self.json_path):
            with open(self.json_path) as file:
                self.data = json.load(file)

    def cell(self, name: str) -> Optional[dict]:
        return next((c for c in self.data['cells'] if c['name'] == name),
                    None)

    def open_cell(self, name: str, cell: Cell, where: str) -> dict:
        """The cell's record; a new one when there is none. A record of
        another machine is refused (per-seed figures differ between CPU
        models)."""
        record = self.cell(name)
        if record is not None and record['machine'] != where:
            raise SystemExit(
                f'regimes.json holds cell {name!r} measured on '
                f'{record["machine"]}, this is {where}: per-seed figures '
                'differ between machines, so runs of both cannot be paired. '
                'Give another --out-dir, or remove the cell from the report '
                'to measure it here from the start')
        if record is None:
            record = dict(name=name, title=cell.title, machine=where,
                          student_epochs=cell.student_epochs,
                          font_step=cell.font_step, teacher=None, runs={},
                          curves={}, seconds={}, minutes=0.0)
            self.data['cells'].append(record)
            self.data['cells'].sort(key=lambda c: list(CELLS).index(
                c['name']))
        return record

    def write(self):
        """The JSON (runs and the figures computed from them), Markdown and
        plot, each replaced atomically."""
        os.makedirs(self.out_dir, exist_ok=True)
        for record in self.data['cells']:
            summarise(record)
        write_atomic(self.json_path, json.dumps(self.data, indent=2))
        write_atomic(osp.join(self.out_dir, 'regimes.md'),
                     markdown(self.data))
        plot(self.data, osp.join(self.out_dir, 'regimes.png'))


def write_atomic(path: str, text: str) -> None:
    with open(path + '.tmp', 'w') as file:
        file.write(text)
    os.replace(path + '.tmp', path)


def summarise(record: dict) -> None:
    """A cell's per-case values, paired differences and mean curves from its
    runs (case -> seed -> top-1)."""
    order = ['KD', *SCHEDULES]
    for method in OTHER_METHODS:
        order += [method] + [method_case(method, s) for s in SCHEDULES]
    runs = {case: {int(s): v for s, v in record['runs'][case].items()}
            for case in sorted(record['runs'], key=lambda case: (
                order.index(case) if case in order else len(order)))}
    record['cases'] = {
        case: dict(summary([by_seed[s] for s in sorted(by_seed)]),
                   seeds=sorted(by_seed))
        for case, by_seed in runs.items()
    }
    record['paired'] = [
        paired(case, reference, runs) for case, reference in comparisons(runs)
        if len(set(runs[case]) & set(runs[reference])) > 1
    ]
    record['mean_curves'] = {
        case: [statistics.mean(points)
               for points in zip(*record['curves'][case].values())]
        for case in runs if record['curves'].get(case)
    }


def student_job(name, cell, case, seed, teacher, work_dir):
    """The run of one case and seed of a cell, as a pool job."""
    index = list(cell_cases(cell)).index(case)
    method, pwkd = cell_cases(cell)[case]
    curve = case == 'KD' or case.startswith('PWKD+KD')
    return (train_cell_student, dict(
        cell=name, task=TASK, name=case, method=method, pwkd=pwkd,
        teacher=teacher, seed=seed, epochs=cell.student_epochs,
        train_samples=None, config=cell.methods[method],
        curve_interval=curve_interval(cell) if curve else None,
        dataset=dict(font_step=cell.font_step),
        work_dir=osp.join(work_dir, name, f'case{index}_seed{seed}')))


def missing_runs(cell, record, seeds, only=None) -> list:
    """(case, seed) of the runs a cell's record does not hold yet (of the
    cases ``only`` when given), seed by seed, so that a run stopped early
    leaves whole pairs."""
    return [(case, seed) for seed in seeds for case in cell_cases(cell)
            if str(seed) not in record['runs'].get(case, {}) and (
                not only or case in only)]


def cell_jobs(name, cell, record, seeds, teacher, work_dir, only=None):
    """The runs of a cell not yet in its record (of the cases ``only``
    when given)."""
    record['student_images'] = student_images(cell)
    record['student_iterations'] = cell.student_epochs * math.ceil(
        record['student_images'] / BATCH_SIZE)
    return [student_job(name, cell, case, seed, teacher, work_dir)
            for case, seed in missing_runs(cell, record, seeds, only)]


def checked_point(record: dict, case: str, seed: int,
                  interval: Optional[int]) -> Optional[int]:
    """Epochs after which a recorded run is checked: its first validation
    at half its final top-1 or more (an early validation near chance would
    tell little), when its recorded curve holds every validation; None:
    the whole run."""
    curve = record['curves'].get(case, {}).get(str(seed))
    if not curve or not interval or \
            len(curve) * interval != record['student_epochs']:
        return None
    final = record['runs'][case][str(seed)]
    index = next(i for i, top1 in enumerate(curve) if top1 >= final / 2)
    return (index + 1) * interval


def check_job(name, cell, record, teacher, work_dir):
    """A run the cell already holds, run again: the cell's first case at its
    first seed (None for a cell without runs); up to the validation of
    :func:`checked_point` (the first epochs of a run come out bit for bit
    as in the whole run), else whole."""
    done = [case for case in cell_cases(cell) if record['runs'].get(case)]
    if not done:
        return None
    seed = min(map(int, record['runs'][done[0]]))
    job = student_job(name, cell, done[0], seed, teacher, work_dir)
    job[1]['work_dir'] += '_check'
    stop_after = checked_point(record, done[0], seed,
                               job[1]['curve_interval'])
    if stop_after is not None and stop_after < cell.student_epochs:
        job[1]['stop_after'] = stop_after
    return job


def check_reproduced(result, record) -> None:
    """Refuse to add runs to a cell whose recorded run came out otherwise
    here (other code or another CPU draws other numbers)."""
    seed = str(result['seed'])
    recorded = record['runs'][result['case']][seed]
    what = 'came out at'
    if result.get('stopped_after'):
        interval = record['student_epochs'] // len(
            record['curves'][result['case']][seed])
        recorded = record['curves'][result['case']][seed][
            result['stopped_after'] // interval - 1]
        what = f'after {result["stopped_after"]} epochs came out at'
    if result['top1'] != recorded:
        raise SystemExit(
            f'cell {result["cell"]}: {result["case"]}, seed '
            f'{result["seed"]} {what} {result["top1"]} here, the report '
            f'holds {recorded}: this code or machine does not reproduce the '
            'cell\'s runs, so new runs could not be paired with them. Give '
            'another --out-dir, or remove the cell from the report to '
            'measure it again from the start')
    record.setdefault('reproduced', []).append(
        dict(case=result['case'], seed=result['seed'],
             epochs=result.get('stopped_after') or record['student_epochs']))


def teacher_curve_interval(teacher: Teacher) -> int:
    """Epochs between the teacher's validations: its curve per width shows
    whether its top-1 still rises at the end."""
    return max(1, teacher.epochs // TEACHER_CURVE_POINTS)


def find_teacher(work_dir: str) -> Optional[dict]:
    path = osp.join(work_dir, 'teacher.json')
    if osp.exists(path):
        with open(path) as file:
            return json.load(file)
    return None


def teacher_dir(args, teacher: Teacher) -> str:
    stem = osp.splitext(osp.basename(teacher.config))[0]
    return osp.join(args.work_dir, f'{stem}_{teacher.epochs}e')


def teacher_job(args, teacher: Teacher):
    """The job training ``teacher`` (seed 0) in ``--work-dir``."""
    return ('teachers', train_teacher, dict(
        task=TASK, setting=teacher, options={},
        work_dir=teacher_dir(args, teacher), epochs=teacher.epochs,
        config=teacher.config,
        curve_interval=teacher_curve_interval(teacher)))


def keep_teacher(args, result: dict) -> Teacher:
    """Write a trained teacher's result beside it (found there by a later
    run of the command); the teacher."""
    teacher = Teacher(*result['setting'])
    result['setting'] = list(teacher)
    write_atomic(osp.join(teacher_dir(args, teacher), 'teacher.json'),
                 json.dumps(result))
    return teacher


def check_teacher(name: str, record: dict, teacher: Teacher,
                  trained: dict) -> None:
    """Record the cell's teacher, or refuse one that came out otherwise than
    the cell's runs so far had (other code, or another CPU)."""
    figures = dict(arch=teacher.arch, epochs=teacher.epochs,
                   config=teacher.config, top1=trained['top1'],
                   rise=teacher_gain(trained['top1']),
                   curves=trained.get('curves'),
                   curve_interval=teacher_curve_interval(teacher))
    if record['teacher'] is not None and record['runs'] and \
            record['teacher']['top1'] != figures['top1']:
        raise SystemExit(
            f'cell {name}: the teacher came out at {figures["top1"]}, the '
            f'report\'s runs distilled from {record["teacher"]["top1"]}: not '
            'the same teacher (other code or another CPU); give another '
            '--out-dir')
    record['teacher'] = figures


def interval(pair: Optional[dict]) -> str:
    if pair is None:
        return '-'
    if pair['ci95'] is None:
        return f'{pair["mean_diff"]:+.2f}'
    low, high = pair['ci95']
    wide = ' (wide)' if (high - low) / 2 > MAX_HALF_WIDTH else ''
    return f'{pair["mean_diff"]:+.2f} [{low:+.2f}, {high:+.2f}]{wide}'


#: The interval half width every PWKD - KD difference should stay within
#: (more seeds where it does not).
MAX_HALF_WIDTH = 0.6


def find_pair(record: dict, case: str, reference: str) -> Optional[dict]:
    return next((p for p in record.get('paired', [])
                 if (p['case'], p['reference']) == (case, reference)), None)


def verdicts(data: dict) -> dict:
    """Per schedule: the cells where it beats KD (interval above 0), ties
    and loses (interval below 0), its mean difference over those cells, and
    whether it may be the default (nowhere below KD beyond its interval)."""
    table = {}
    for case in SCHEDULES:
        pairs = {c['name']: find_pair(c, case, 'KD') for c in data['cells']}
        pairs = {name: p for name, p in pairs.items()
                 if p is not None and p['ci95'] is not None}
        if not pairs:
            continue
        wins = [n for n, p in pairs.items() if p['ci95'][0] > 0]
        losses = [n for n, p in pairs.items() if p['ci95'][1] < 0]
        table[case] = dict(
            wins=wins, losses=losses,
            ties=[n for n in pairs if n not in wins + losses],
            mean_diff=statistics.mean(p['mean_diff'] for p in pairs.values()),
            eligible=not losses)
    return table


def default_choice(table: dict) -> Optional[str]:
    """The schedule with the best mean difference to KD among those that
    are nowhere below KD beyond their interval (None: no such schedule)."""
    eligible = {case: v for case, v in table.items() if v['eligible']}
    return max(eligible, key=lambda case: eligible[case]['mean_diff']) \
        if eligible else None


def compared_cells(data: dict) -> list:
    """The cells that hold a PWKD case paired with its method."""
    return [c for c in data['cells'] if c.get('paired')]


def markdown(data: dict) -> str:
    cells = compared_cells(data)
    lines = [
        '# Where PWKD helps: PWKD+KD against KD by training regime', '',
        f'Command: `{data.get("command", "")}` (runs of earlier commands '
        'kept).  ',
        'Task: the balanced font glyphs (47 classes at 16x16, test '
        'typefaces never seen in training); top-1 (%) on the test '
        'typefaces. Differences are paired on seeds, with their 95 % t '
        f'interval; "(wide)": half width over {MAX_HALF_WIDTH} points. '
        'Wall time: the time of the runs over the runs in parallel, one '
        'thread each.', '', '## PWKD case - KD (points)', '',
        '| case | ' + ' | '.join(c['name'] for c in cells) + ' |',
        '|---' * (len(cells) + 1) + '|'
    ]
    for case, reference in method_pairs():
        row = [interval(find_pair(c, case, reference)) for c in cells]
        if any(value != '-' for value in row):
            lines.append(f'| {case} - {reference} | ' + ' | '.join(row) +
                         ' |')
    table = verdicts(data)
    if table:
        lines += ['', '## The default by measurement', '',
                  '| schedule | mean - KD over the cells | beats KD in | '
                  'level with KD in | below KD in |', '|---' * 5 + '|']
        lines += [f'| {case} | {v["mean_diff"]:+.2f} | '
                  f'{", ".join(v["wins"]) or "-"} | '
                  f'{", ".join(v["ties"]) or "-"} | '
                  f'{", ".join(v["losses"]) or "-"} |'
                  for case, v in table.items()]
        choice = default_choice(table)
        lines.append('')
        lines.append(
            f'Among the schedules nowhere below KD beyond their interval, '
            f'the best mean is `{choice}`.' if choice else
            'Every schedule is below KD beyond its interval in some cell.')
        if not any(v['wins'] for v in table.values()):
            lines.append('No schedule beats KD beyond its interval in any '
                         'cell measured.')
    lines += ['', '## Cells', '',
              '| cell | regime | student images | student iterations | '
              'teacher | teacher top-1 per width | whole - narrowest | '
              'wall min | machine |', '|---' * 9 + '|']
    for c in data['cells']:
        teacher = c.get('teacher') or {}
        top1 = teacher.get('top1', {})
        lines.append(
            f'| {c["name"]} | {c["title"]} | {c.get("student_images", "-")} '
            f'| {c.get("student_iterations", "-")} | '
            f'{teacher.get("arch", "-")}, {teacher.get("epochs", "-")} '
            f'epochs | ' + ' / '.join(f'{v:.2f}' for v in top1.values()) +
            f' | {teacher.get("rise", 0):.2f} | {c["minutes"]:.0f} '
            f'(+{teacher.get("minutes", 0):.0f} teacher) | {c["machine"]} |')
    lines += teacher_length_lines(data['cells'])
    lines += student_length_lines(data['cells'])
    for c in data['cells']:
        lines += ['', f'## {c["name"]}: {c["title"]}', '']
        lines += teacher_curve_lines(c.get('teacher') or {})
        lines += ['| case | seeds | mean | std | per seed |',
                  '|---|---|---|---|---|']
        for case, values in c.get('cases', {}).items():
            std = '-' if values['std'] is None else f'{values["std"]:.2f}'
            lines.append(
                f'| {case} | {values["n"]} | {values["mean"]:.2f} | {std} | '
                + ', '.join(f'{v:.2f}' for v in values['values']) + ' |')
        if c.get('paired'):
            lines += ['', '| case - reference | mean diff [95 % interval] | '
                      'better in |', '|---|---|---|']
            lines += [f'| {p["case"]} - {p["reference"]} | {interval(p)} | '
                      f'{p["wins"]}/{p["n"]} seeds |' for p in c['paired']]
        curves = c.get('mean_curves', {})
        if curves:
            step = max(1, c['student_epochs'] // CURVE_POINTS)
            epochs = list(range(step, c['student_epochs'] + 1, step))
            lines += ['', 'Learning curves (student top-1 after each epoch '
                      'shown, mean over seeds):', '',
                      '| case | ' + ' | '.join(map(str, epochs)) + ' |',
                      '|---' * (len(epochs) + 1) + '|']
            lines += [f'| {case} | ' + ' | '.join(
                f'{v:.1f}' for v in curve) + ' |'
                      for case, curve in curves.items()]
    return '\n'.join(lines) + '\n'


def marked(pair: Optional[dict]) -> str:
    """:func:`interval`, bold where the case is below its reference beyond
    the interval, italic where above."""
    text = interval(pair)
    if pair is None or pair['ci95'] is None:
        return text
    low, high = pair['ci95']
    return f'**{text}**' if high < 0 else f'*{text}*' if low > 0 else text


def with_seeds(pair: Optional[dict], cell_seeds: int) -> str:
    """:func:`marked`, with the pair's seeds where they are not the cell's
    (a case still being measured, or one measured with more seeds)."""
    text = marked(pair)
    if pair is not None and pair['n'] != cell_seeds:
        text += f' ({pair["n"]} seeds)'
    return text


def plans_table(data: dict) -> str:
    """Every PWKD plan - the method it plugs into, by cell (the seeds of
    each cell's KD in the header; a pair of other seeds says how many), as
    the docs show it."""
    cells = compared_cells(data)
    lines = ['| PWKD plan - the method alone (points, 95 % interval) | ' +
             ' | '.join(f'{c["name"]} ({c["cases"]["KD"]["n"]})'
                        for c in cells) + ' |', '|---' * (len(cells) + 1) +
             '|']
    for case, reference in method_pairs():
        row = [with_seeds(find_pair(c, case, reference),
                          c['cases']['KD']['n']) for c in cells]
        if all(value == '-' for value in row):
            continue
        label = PLAN_LABELS[schedule_of(case, reference)]
        if reference != 'KD':
            label = f'{reference}, {label}'
        lines.append(f'| {label} | ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def cells_table(data: dict) -> str:
    """Each cell's regime, teacher, KD, machine, wall time and the command
    that measures it again, as the docs show it."""
    lines = ['| cell | regime | teacher | teacher top-1 at its widths | '
             'KD top-1 (seeds) | machine | wall min: students (+ teacher) '
             '| command |', '|---' * 8 + '|']
    for c in data['cells']:
        teacher = c.get('teacher') or {}
        kd = c.get('cases', {}).get('KD')
        kd_text = '-' if kd is None else (
            f'{kd["mean"]:.2f} +- {kd["std"]:.2f} ({kd["n"]})'
            if kd['std'] is not None else f'{kd["mean"]:.2f} (1)')
        lines.append(
            f'| {c["name"]} | {c["title"]} | {teacher.get("arch", "-")}, '
            f'{teacher.get("epochs", "-")} epochs | ' + ' / '.join(
                f'{v:.2f}' for v in teacher.get('top1', {}).values()) +
            f' | {kd_text} | {c["machine"]} | {c["minutes"]:.0f} '
            f'(+{teacher.get("minutes", 0):.0f}{resumed(teacher)}) | '
            f'{measuring_commands(c)} |')
    return '\n'.join(lines)


def measuring_commands(cell: dict) -> str:
    """The commands that measure ``cell`` again: every case with the seeds
    of its KD, then the cases that hold more seeds with theirs."""
    seeds = {case: summary['n'] for case, summary in
             cell.get('cases', {}).items()}
    first = seeds.get('KD', max(seeds.values(), default=0))
    more = {}
    for case, n in seeds.items():
        if n > first:
            more.setdefault(n, []).append(case)
    commands = [['--seeds', str(first)]] + [
        ['--seeds', str(n), '--cases', *cases]
        for n, cases in sorted(more.items())]
    return ', then '.join(
        '`' + shlex.join(['python', 'benchmarks/regimes.py', '--cells',
                          cell['name'], *args]) + '`' for args in commands)


#: The kind of the docs' markers of the report's tables.
DOCS_KIND = 'regimes'
DOCS_COMMAND = 'python benchmarks/regimes.py --docs README.md docs/results.md'


def resumed(teacher: dict) -> str:
    """Where a teacher's minutes count only its last attempt: the epoch
    that attempt resumed from."""
    epoch = teacher.get('resumed_at')
    return f', resumed at epoch {epoch}' if epoch else ''


def doc_tables(data: dict) -> dict:
    """The report's tables that the docs hold between marker comments
    (``<!-- regimes: plans -->``, ``<!-- end regimes: plans -->``)."""
    return {'plans': plans_table(data), 'cells': cells_table(data)}


def update_docs(paths: list, data: dict) -> list:
    """Rewrite the report's tables in the Markdown files; those changed."""
    changed = []
    for path in paths:
        with open(path) as file:
            text = file.read()
        try:
            new = marked_tables.regenerate(text, DOCS_KIND, doc_tables(data))
        except ValueError as error:
            raise SystemExit(f'{path}: {error}')
        if new != text:
            with open(path, 'w') as file:
                file.write(new)
            changed.append(path)
    return changed


def teacher_length_lines(cells: list) -> list:
    """Each teacher config trained for several lengths: its top-1 per
    width at each length and the gain over the next shorter one (whether
    training it longer still helps)."""
    by_config = {}
    for c in cells:
        teacher = c.get('teacher')
        if teacher:
            by_config.setdefault(teacher['config'], {})[
                teacher['epochs']] = teacher
    lines = []
    for lengths in by_config.values():
        if len(lengths) < 2:
            continue
        epochs = sorted(lengths)
        widths = list(lengths[epochs[0]]['top1'])
        arch = lengths[epochs[0]]['arch']
        lines += ['', f'### {arch}: top-1 per width by training length', '',
                  '| epochs | ' + ' | '.join(widths) +
                  ' | gain over the shorter, per width |',
                  '|---' * (len(widths) + 2) + '|']
        for index, length in enumerate(epochs):
            top1 = lengths[length]['top1']
            gain = '-' if index == 0 else ' / '.join(
                f'{top1[w] - lengths[epochs[index - 1]]["top1"][w]:+.2f}'
                for w in widths)
            lines.append(f'| {length} | ' +
                         ' | '.join(f'{top1[w]:.2f}' for w in widths) +
                         f' | {gain} |')
    return lines


def student_length_lines(cells: list) -> list:
    """KD's top-1 by the student's training length, for cells of one
    teacher and one share of the typefaces: whether KD still rises with
    more epochs (unpaired: each length's own runs, Welch interval)."""
    groups = {}
    for c in cells:
        teacher = c.get('teacher')
        if teacher and c.get('cases', {}).get('KD'):
            groups.setdefault((teacher['config'], teacher['epochs'],
                               c['font_step']), []).append(c)
    lines = []
    for group in groups.values():
        if len({c['student_epochs'] for c in group}) < 2:
            continue
        group.sort(key=lambda c: c['student_epochs'])
        shortest = group[0]
        step = shortest['font_step']
        typefaces = 'every training typeface' if step == 1 else \
            f'one typeface in {step}'
        lines += ['', f'### KD by student length ({typefaces}, teacher '
                  f'{shortest["teacher"]["epochs"]} epochs)', '',
                  '| cell | student epochs | KD top-1 (seeds) | '
                  f'- {shortest["name"]} (95 % Welch interval) | machine |',
                  '|---' * 5 + '|']
        for c in group:
            kd = c['cases']['KD']
            rise = '-' if c is shortest else interval(unpaired(
                kd['values'], shortest['cases']['KD']['values']))
            std = '' if kd['std'] is None else f' +- {kd["std"]:.2f}'
            lines.append(f'| {c["name"]} | {c["student_epochs"]} | '
                         f'{kd["mean"]:.2f}{std} ({kd["n"]}) | {rise} | '
                         f'{c["machine"]} |')
    return lines


def teacher_curve_lines(teacher: dict) -> list:
    """The teacher's top-1 per width at each of its validations, and its
    rise over the last quarter of its epochs (whether it still rises)."""
    curves = teacher.get('curves')
    if not curves:
        return []
    step = teacher['curve_interval']
    epochs = [step * (i + 1) for i in range(len(next(iter(curves.values()))))]
    quarter = next(i for i, epoch in enumerate(epochs)
                   if epoch >= teacher['epochs'] * 3 / 4)
    lines = ['Teacher top-1 per width by epoch (last column: the rise over '
             f'its last quarter, epoch {epochs[quarter]} to '
             f'{epochs[-1]}):', '',
             '| width | ' + ' | '.join(map(str, epochs)) + ' | rise |',
             '|---' * (len(epochs) + 2) + '|']
    lines += [f'| {width} | ' + ' | '.join(f'{v:.1f}' for v in curve) +
              f' | {curve[-1] - curve[quarter]:+.2f} |'
              for width, curve in curves.items()]
    return lines + ['']


def plot(data: dict, path: str) -> None:
    """PWKD+KD - KD with its interval, for every schedule and cell."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cells = compared_cells(data)
    fig, axis = plt.subplots(figsize=(8, 2 + 0.9 * max(len(cells), 1)))
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    rows = len(SCHEDULES) + 1
    for index, case in enumerate(SCHEDULES):
        ys, means, lows, highs = [], [], [], []
        for row, cell in enumerate(cells):
            pair = find_pair(cell, case, 'KD')
            if pair is None or pair['ci95'] is None:
                continue
            ys.append(row * rows + index)
            means.append(pair['mean_diff'])
            lows.append(pair['mean_diff'] - pair['ci95'][0])
            highs.append(pair['ci95'][1] - pair['mean_diff'])
        axis.errorbar(means, ys, xerr=[lows, highs], fmt='o', capsize=3,
                      color=colours[index % len(colours)],
                      label=f'{case} - KD')
    axis.axvline(0, color='grey', lw=1)
    axis.set_yticks([row * rows + (rows - 2) / 2 for row in range(len(cells))],
                    [cell['name'] for cell in cells])
    axis.invert_yaxis()
    axis.set_xlabel('top-1 difference to KD (points), paired on seeds, '
                    '95 % interval')
    axis.set_title('Balanced font glyphs: PWKD schedules against KD by regime')
    axis.grid(axis='x', alpha=0.3)
    axis.legend(fontsize=7, loc='upper center', ncol=2,
                bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def train_cell_student(cell, **kwargs):
    """:func:`pwkd_bench.training.train_student`, its result naming the cell."""
    return dict(train_student(**kwargs), cell=cell)


def merge_cells(report: Report, other: Report) -> None:
    """``other``'s cells in place of ``report``'s cells of the same names
    (or added), each printed with what it replaced."""
    for cell in other.data['cells']:
        old = report.cell(cell['name'])
        seeds = max(map(len, cell['runs'].values()), default=0)
        was = 'new' if old is None else (
            f'replaced: {old["machine"]}, '
            f'{max(map(len, old["runs"].values()), default=0)} seeds')
        print(f'{cell["name"]}: {cell["machine"]}, {seeds} seeds ({was})')
        report.data['cells'] = [c for c in report.data['cells']
                                if c['name'] != cell['name']] + [cell]
    report.data['cells'].sort(key=lambda c: list(CELLS).index(c['name']))


def main():
    args = parse_args()
    if args.merge or args.docs:
        report = Report(args.out_dir)
        if args.merge:
            merge_cells(report, Report(args.merge))
            report.write()
        if args.docs:
            changed = update_docs(args.docs, report.data)
            print('rewrote ' + (', '.join(changed) or 'nothing (up to date)'))
        return
    where = machine(args)
    report = Report(args.out_dir)
    report.data['command'] = shlex.join(['python', 'benchmarks/regimes.py'] +
                                        sys.argv[1:])
    records = {name: report.open_cell(name, CELLS[name], where)
               for name in args.cells}
    waiting = {}  # cell -> its new runs, until a recorded one reproduced

    def cell_ready(name, trained):
        """The cell's check run, or its new runs when it needs none."""
        cell, record = CELLS[name], records[name]
        check_teacher(name, record, cell.teacher, trained)
        record['teacher']['minutes'] = trained['seconds'] / 60
        # Minutes of its last attempt only, when it resumed a stopped one.
        record['teacher']['resumed_at'] = trained.get('resumed_at')
        new = cell_jobs(name, cell, record, args.seed, trained,
                        args.work_dir, args.cases)
        check = check_job(name, cell, record, trained, args.work_dir)
        report.write()
        if new and check:
            waiting[name] = new
            return [('reproduced', *check)]
        return [('students', *job) for job in new]

    def teacher_ready(teacher, trained):
        # The longest cells first (a stable sort keeps each cell's runs
        # seed by seed), so that the last runs do not run alone.
        names = sorted((n for n in args.cells if CELLS[n].teacher == teacher),
                       key=lambda n: -CELLS[n].student_epochs /
                       CELLS[n].font_step)
        return [job for name in names for job in cell_ready(name, trained)]

    def record_run(result):
        record = records[result['cell']]
        seed = str(result['seed'])
        record['runs'].setdefault(result['case'], {})[seed] = result['top1']
        record['seconds'].setdefault(result['case'], {})[seed] = \
            result['seconds']
        if result['curve'] is not None:
            record['curves'].setdefault(result['case'], {})[seed] = \
                result['curve']
        # Wall time as the pool shares it: run time over parallel runs.
        record['minutes'] += result['seconds'] / 60 / args.workers
        record['parallel_runs'] = args.workers
        report.write()

    def on_result(label, result):
        """Each cell's runs start as soon as its teacher is there (and one
        recorded run of it came out as recorded), not when every teacher
        is."""
        if label == 'teachers':
            return teacher_ready(keep_teacher(args, result), result)
        if label == 'reproduced':
            check_reproduced(result, records[result['cell']])
            return [('students', *job)
                    for job in waiting.pop(result['cell'])]
        record_run(result)
        return []

    jobs = []
    # The longest teachers first: every run of their cells waits for them.
    for teacher in sorted({CELLS[n].teacher for n in args.cells},
                          key=lambda t: (-t.epochs, t.config)):
        known = find_teacher(teacher_dir(args, teacher))
        jobs += [teacher_job(args, teacher)] if known is None else \
            teacher_ready(teacher, known)
    jobs.sort(key=lambda job: job[0] != 'teachers')
    planned = sum(len(missing_runs(CELLS[n], records[n], args.seed,
                                   args.cases)) for n in args.cells)
    print(f'teachers to train: {sum(job[0] == "teachers" for job in jobs)}, '
          f'student runs: {planned}, {args.workers} at a time', flush=True)
    context = multiprocessing.get_context('spawn')
    with futures.ProcessPoolExecutor(args.workers, mp_context=context,
                                     initializer=start_worker,
                                     initargs=(args.device, )) as pool:
        run_stream(pool, jobs, on_result, totals=dict(students=planned))
    report.write()
    print(markdown(report.data))
    print('wrote ' + ', '.join(
        osp.join(args.out_dir, f'regimes.{ext}')
        for ext in ('json', 'md', 'png')))


if __name__ == '__main__':
    main()
