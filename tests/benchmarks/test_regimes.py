"""benchmarks/regimes.py: its cells and schedules as the package plans them,
and a toy cell run end to end in two parts, continued without rerunning a
run, and a report of another machine refused.

The toy run measures nothing (a teacher of one epoch on one typeface in 64);
only the report's form and the plumbing are checked.
"""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from pwkd_plugin.config_blocks import check_pwkd_block
from pwkd_plugin.datasets.font_glyphs import APT_COMMAND

from ..conftest import config_path
from .test_benchmarks_run import BENCHMARKS, import_benchmark

WIDTHS = (0.25, 0.5, 0.75, 1.0)
TEACHER = 'pwkd/teachers/slimmable_resnet20_font_glyphs_balanced.py'
RESNET8_HALF_KD = 'fonts/kd_resnet20_resnet8_half_font_glyphs_balanced.py'
FONT_DIRS = [
    '/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/cmu'
]


def plan(block, epochs):
    cfg = Config.fromfile(
        config_path('fonts/kd_resnet20_resnet8_half_font_glyphs_balanced.py'))
    cfg.train_cfg.max_epochs = epochs
    settings = check_pwkd_block(cfg, dict(block, teacher_ckpt='unread.pth'),
                                teacher_widths=WIDTHS)
    return settings['stage_lengths'], settings['lr_cycle']


def test_each_schedule_is_the_plan_it_is_named_after():
    regimes = import_benchmark('regimes')
    schedules = regimes.SCHEDULES
    for epochs in (16, 64):
        quarter = epochs // 4
        lengths, cycle = plan(schedules['PWKD+KD'], epochs)
        assert lengths == [quarter] * 4 and cycle['peak_decay'] == 1.0
        assert cycle['mode'] == 'cosine'
        lengths, cycle = plan(schedules['PWKD+KD, no restarts'], epochs)
        assert lengths == [quarter] * 4 and cycle is None
        lengths, cycle = plan(
            schedules['PWKD+KD, short partial stages 1:1:1:5'], epochs)
        assert lengths == [epochs // 8] * 3 + [epochs * 5 // 8]
        assert cycle is None
        lengths, cycle = plan(schedules['PWKD+KD, restarts decaying x0.5'],
                              epochs)
        assert lengths == [quarter] * 4 and cycle['peak_decay'] == 0.5


def test_cells_and_comparisons():
    regimes = import_benchmark('regimes')
    cells = regimes.CELLS
    assert cells['long'].student_epochs == 4 * cells['base'].student_epochs
    assert cells['all_fonts'].font_step == 1 and cells['base'].font_step == 8
    assert cells['teacher_4x'].teacher.epochs == \
        4 * cells['base'].teacher.epochs
    assert cells['teacher_8x'].teacher.epochs == \
        8 * cells['base'].teacher.epochs
    assert cells['teacher_16x'].teacher.epochs == \
        16 * cells['base'].teacher.epochs
    assert cells['large_gap'].teacher.arch == 'ResNet56'
    assert cells['paper_pair'].teacher.arch == 'ResNet32x4'
    more = [name for name, cell in cells.items() if cell.more_methods]
    assert more == ['all_fonts', 'teacher_8x']
    # all_fonts: DKD and FitNet under the paper's plan (pinned: its runs
    # were made when that plan was the package's default).
    cases = regimes.cell_cases(cells['all_fonts'])
    assert {'DKD', 'PWKD+DKD', 'FitNet', 'PWKD+FitNet'} <= set(cases)
    assert cases['PWKD+DKD'] == ('DKD', regimes.SCHEDULES[regimes.PAPER])
    assert 'DKD' not in regimes.cell_cases(cells['base'])
    pairs = regimes.comparisons(cases)
    assert ('PWKD+DKD', 'DKD') in pairs and ('PWKD+FitNet', 'FitNet') in pairs
    for name in regimes.SCHEDULES:
        assert (name, 'KD') in pairs
        assert name == regimes.PAPER or (name, regimes.PAPER) in pairs
    for cell in cells.values():
        for config in (cell.teacher.config, *cell.methods.values()):
            assert osp.isfile(config_path(config)), config
    # teacher_8x: under the default plan, the one a minimal block trains.
    default = 'PWKD+KD, short partial stages 1:1:1:5'
    cases = regimes.cell_cases(cells['teacher_8x'])
    for method in ('DKD', 'FitNet'):
        case = regimes.method_case(method, default)
        assert case == f'PWKD+{method}, short partial stages 1:1:1:5'
        assert cases[case] == (method, regimes.SCHEDULES[default])
        assert (case, method) in regimes.comparisons(cases)
        assert f'PWKD+{method}' not in cases
    for epochs in (16, 64):
        assert plan(regimes.SCHEDULES[default], epochs) == plan({}, epochs)
    # all_fonts_2x: KD alone, twice all_fonts' epochs on the same data.
    longer, cell = cells['all_fonts_2x'], cells['all_fonts']
    assert longer.student_epochs == 2 * cell.student_epochs
    assert (longer.font_step, longer.teacher) == (cell.font_step, cell.teacher)
    assert list(regimes.cell_cases(longer)) == ['KD']


def kd_cell(name, epochs, font_step, teacher_epochs, values):
    return dict(name=name, student_epochs=epochs, font_step=font_step,
                machine='here', teacher=dict(config='t.py',
                                             epochs=teacher_epochs),
                cases=dict(KD=dict(mean=sum(values) / len(values), std=0.1,
                                   n=len(values), values=values)))


def test_kd_by_student_length_compares_cells_of_one_teacher_and_data():
    from scipy import stats
    regimes = import_benchmark('regimes')
    short = [88.1, 88.4, 88.3, 88.6, 88.2]
    longer = [88.9, 88.6, 89.0, 88.7]
    lines = regimes.student_length_lines([
        kd_cell('all_fonts', 16, 1, 4, short),
        kd_cell('all_fonts_2x', 32, 1, 4, longer),
        kd_cell('teacher_4x', 32, 1, 16, longer),  # another teacher
        kd_cell('base', 16, 8, 4, short),  # alone with its data
    ])
    rows = [line for line in lines if line.startswith('| all_fonts')]
    assert len(rows) == 2 and not any('teacher_4x' in line or '| base'
                                      in line for line in lines)
    low, high = stats.ttest_ind(longer, short,
                                equal_var=False).confidence_interval(0.95)
    rise = sum(longer) / 4 - sum(short) / 5
    assert f'{rise:+.2f} [{low:+.2f}, {high:+.2f}]' in rows[1]
    assert 'every training typeface' in lines[1]


def test_merge_replaces_whole_cells_and_docs_tables_follow(tmp_path):
    regimes = import_benchmark('regimes')

    def report(path, cells):
        path.mkdir()
        (path / 'regimes.json').write_text(json.dumps(dict(cells=cells)))
        return regimes.Report(str(path))

    def cell(name, machine, values):
        record = dict(name=name, title=name, machine=machine,
                      student_epochs=16, font_step=8, minutes=1.0,
                      teacher=None, curves={}, seconds={},
                      runs=dict(KD=dict(enumerate(values[0])),
                                **{'PWKD+KD': dict(enumerate(values[1]))}))
        record['runs'] = {case: {str(s): v for s, v in runs.items()}
                          for case, runs in record['runs'].items()}
        regimes.summarise(record)
        return record

    main = report(tmp_path / 'main', [
        cell('base', 'amd', ([80, 81], [79, 80])),
        cell('large_gap', 'amd', ([82, 83], [81, 81]))])
    other = report(tmp_path / 'other', [
        cell('large_gap', 'intel', ([82, 83, 84], [83, 84, 85]))])
    regimes.merge_cells(main, other)
    assert [(c['name'], c['machine']) for c in main.data['cells']] == [
        ('base', 'amd'), ('large_gap', 'intel')]
    assert main.cell('large_gap')['runs']['KD'] == {'0': 82, '1': 83,
                                                    '2': 84}
    plans = regimes.plans_table(main.data).split('\n')
    assert plans[0].endswith('| base (2) | large_gap (3) |')
    # base: below KD on both seeds by 1 point exactly (no spread): bold;
    # large_gap: above by 1.
    assert plans[2].startswith("| the paper's: equal stages, restarts | **")
    assert plans[2].endswith('| *+1.00 [+1.00, +1.00]* |')
    # A case with fewer seeds than the cell's KD (still being measured) says
    # how many its pair holds.
    partial = dict(cells=[cell('base', 'amd', ([80, 81, 82], [79, 81]))])
    assert regimes.plans_table(partial).split('\n')[2].endswith(
        '| -0.50 [-6.85, +5.85] (wide) (2 seeds) |')
    page = tmp_path / 'page.md'
    page.write_text('# R\n\n<!-- regimes: plans -->\nold\n'
                    '<!-- end regimes: plans -->\n\n<!-- regimes: cells -->'
                    '\n<!-- end regimes: cells -->\ntext\n')
    assert regimes.update_docs([str(page)], main.data) == [str(page)]
    text = page.read_text()
    assert regimes.plans_table(main.data) in text and 'old' not in text
    assert '--cells large_gap --seeds 3' in text and text.endswith('text\n')
    assert regimes.update_docs([str(page)], main.data) == []
    # A teacher that resumed a stopped attempt counts that attempt only.
    main.cell('base')['teacher'] = dict(arch='ResNet20', epochs=32,
                                        top1={'1': 90.0}, minutes=50.0,
                                        resumed_at=8)
    row = regimes.cells_table(main.data).split('\n')[2]
    assert row.startswith('| base |') and '(+50, resumed at epoch 8)' in row
    # A pair measured with more seeds than the cell's KD says so, and the
    # cell's commands measure its cases again with their own seeds.
    more = cell('base', 'amd', ([80, 81], [79, 81]))
    more['runs'].update(DKD={'0': 78, '1': 79, '2': 80},
                        **{'PWKD+DKD': {'0': 77, '1': 79, '2': 79}})
    regimes.summarise(more)
    dkd_row = regimes.plans_table(dict(cells=[more])).split('\n')[3]
    assert dkd_row.startswith('| DKD, ') and dkd_row.endswith(' (3 seeds) |')
    assert regimes.cells_table(dict(cells=[more])).split('\n')[2].endswith(
        '| `python benchmarks/regimes.py --cells base --seeds 2`, then '
        '`python benchmarks/regimes.py --cells base --seeds 3 --cases DKD '
        "PWKD+DKD` |")
    bare = tmp_path / 'bare.md'
    bare.write_text('# nothing marked\n')
    with pytest.raises(SystemExit, match='no markers for the plans table'):
        regimes.update_docs([str(bare)], main.data)


TOY = '''
import sys
sys.path.insert(0, {benchmarks!r})
import regimes
regimes.CELLS = dict(toy=regimes.Cell(
    'toy', regimes.Teacher({teacher!r}, 'ResNet20', 1), 4, 64,
    dict(KD={student!r})))
regimes.SCHEDULES = {{name: regimes.SCHEDULES[name] for name in (
    'PWKD+KD', 'PWKD+KD, restarts decaying x0.5')}}
if __name__ == '__main__':
    regimes.main()
'''


def test_a_toy_cell_runs_continues_and_refuses_another_machine(tmp_path):
    if not all(osp.isdir(d) for d in FONT_DIRS):
        pytest.skip(f'{FONT_DIRS} missing: install the typefaces of the '
                    f'benchmark with: {APT_COMMAND}')
    import subprocess
    # One typeface in 64 for training and validation (141 test glyphs).
    small_validation = ('val_dataloader = dict(dataset=dict(font_step=64))\n'
                        'test_dataloader = val_dataloader\n')
    teacher = tmp_path / 'teacher.py'
    teacher.write_text(
        f'_base_ = [{config_path(TEACHER)!r}]\n'
        'train_dataloader = dict(dataset=dict(font_step=64))\n'
        'train_cfg = dict(max_epochs=1, val_interval=1)\n' + small_validation)
    student = tmp_path / 'kd.py'
    student.write_text(
        f'_base_ = [{config_path(RESNET8_HALF_KD)!r}]\n' + small_validation)
    script = tmp_path / 'toy.py'
    script.write_text(
        TOY.format(benchmarks=BENCHMARKS, teacher=str(teacher),
                   student=str(student)))
    out_dir = tmp_path / 'results'
    args = [sys.executable, str(script), '--seeds', '2', '--workers', '1',
            '--work-dir', str(tmp_path / 'work'), '--out-dir', str(out_dir)]

    # In two parts: two cases, then the rest.
    part = subprocess.run(args + ['--cases', 'KD', 'PWKD+KD'],
                          capture_output=True, text=True, timeout=900)
    assert part.returncode == 0, part.stderr[-3000:]
    assert 'teachers to train: 1, student runs: 4' in part.stdout
    assert '[students 4/4]' in part.stdout and 'min left' in part.stdout
    runs = json.loads((out_dir / 'regimes.json').read_text())['cells'][0][
        'runs']
    assert set(runs) == {'KD', 'PWKD+KD'}
    first = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    # One recorded run is run again up to its first validation at half its
    # final top-1 or more, and comes out as recorded there.
    assert '[reproduced 1/1] toy KD, seed 0' in first.stdout
    assert 'teachers to train: 0, student runs: 2' in first.stdout
    report = json.loads((out_dir / 'regimes.json').read_text())
    [cell] = report['cells']
    training = import_benchmark('pwkd_bench.training')
    check_dir = tmp_path / 'work' / 'toy' / 'case0_seed0_check'
    curve = cell['curves']['KD']['0']
    epochs = 1 + next(i for i, top1 in enumerate(curve)
                      if top1 >= cell['runs']['KD']['0'] / 2)
    assert training.validation_curve(str(check_dir)) == curve[:epochs]
    assert cell['reproduced'] == [dict(case='KD', seed=0, epochs=epochs)]
    assert cell['name'] == 'toy' and cell['student_epochs'] == 4
    assert cell['student_iterations'] == 4 * -(-cell['student_images'] // 64)
    assert set(cell['teacher']['top1']) == {'0.25', '0.5', '0.75', '1'}
    assert cell['teacher']['arch'] == 'ResNet20'
    assert cell['teacher']['epochs'] == 1
    # Its curve per width: one validation, the final figure.
    assert cell['teacher']['curves'] == {
        width: [top1] for width, top1 in cell['teacher']['top1'].items()}
    assert 'Teacher top-1 per width by epoch' in \
        (out_dir / 'regimes.md').read_text()
    cases = cell['cases']
    assert list(cases) == ['KD', 'PWKD+KD', 'PWKD+KD, restarts decaying x0.5']
    for values in cases.values():
        assert values['seeds'] == [0, 1] and len(values['values']) == 2
    pairs = {(p['case'], p['reference']): p for p in cell['paired']}
    assert set(pairs) == {
        ('PWKD+KD', 'KD'), ('PWKD+KD, restarts decaying x0.5', 'KD'),
        ('PWKD+KD, restarts decaying x0.5', 'PWKD+KD')}
    pair = pairs[('PWKD+KD', 'KD')]
    diffs = [a - b for a, b in zip(cases['PWKD+KD']['values'],
                                   cases['KD']['values'])]
    assert pair['mean_diff'] == pytest.approx(sum(diffs) / 2)
    assert pair['ci95'][0] <= pair['mean_diff'] <= pair['ci95'][1]
    # Curves of 4 points (one per epoch); the last is the final figure.
    for case, per_seed in cell['curves'].items():
        for seed, curve in per_seed.items():
            assert len(curve) == 4
            assert curve[-1] == cell['runs'][case][seed]
    assert cell['minutes'] > 0
    assert {case: cell['runs'][case] for case in runs} == runs
    text = (out_dir / 'regimes.md').read_text()
    assert '| PWKD+KD - KD |' in text and '## toy' in text
    assert (out_dir / 'regimes.png').read_bytes()[:4] == b'\x89PNG'

    # Continued: the runs in the report are not run again.
    again = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'teachers to train: 0, student runs: 0' in again.stdout
    assert '[students' not in again.stdout
    assert json.loads((out_dir / 'regimes.json').read_text())['cells'][0][
        'runs'] == cell['runs']

    # A report of another machine is not added to.
    here = cell['machine']
    report['cells'][0]['machine'] = 'another CPU (cpu)'
    (out_dir / 'regimes.json').write_text(json.dumps(report))
    other = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert other.returncode != 0
    assert "holds cell 'toy' measured on another CPU (cpu)" in other.stderr

    # Nor is a cell whose recorded run does not come out as recorded here:
    # at the validation it is checked at, or at its end where no curve was
    # recorded.
    report['cells'][0]['machine'] = here
    report['cells'][0]['curves']['KD']['0'][epochs - 1] += 0.01
    (out_dir / 'regimes.json').write_text(json.dumps(report))
    more = args[:2] + ['--seeds', '3'] + args[4:]
    changed = subprocess.run(more, capture_output=True, text=True,
                             timeout=900)
    assert changed.returncode != 0
    assert f'KD, seed 0 after {epochs} epochs came out at' in changed.stderr
    del report['cells'][0]['curves']['KD']
    report['cells'][0]['runs']['KD']['0'] += 1
    (out_dir / 'regimes.json').write_text(json.dumps(report))
    changed = subprocess.run(more, capture_output=True, text=True,
                             timeout=900)
    assert changed.returncode != 0
    assert 'KD, seed 0 came out at' in changed.stderr
    assert 'does not reproduce the cell' in changed.stderr
    after = json.loads((out_dir / 'regimes.json').read_text())
    assert '2' not in after['cells'][0]['runs']['KD']


def test_the_default_is_the_best_schedule_nowhere_below_kd():
    regimes = import_benchmark('regimes')
    paper, flat, short, decay = regimes.SCHEDULES

    def pair(case, mean, low, high):
        return dict(case=case, reference='KD', mean_diff=mean,
                    ci95=[low, high], wins=4, n=8)

    data = dict(cells=[
        dict(name='a', paired=[pair(paper, 0.9, 0.3, 1.5),
                               pair(flat, 0.2, -0.3, 0.7),
                               pair(short, 0.5, 0.1, 0.9)]),
        dict(name='b', paired=[pair(paper, -0.8, -1.2, -0.4),
                               pair(flat, 0.1, -0.4, 0.6),
                               pair(short, 0.3, -0.1, 0.7)]),
    ])
    table = regimes.verdicts(data)
    assert decay not in table  # not measured
    assert table[paper]['wins'] == ['a'] and table[paper]['losses'] == ['b']
    assert not table[paper]['eligible']  # best mean in a, below KD in b
    assert table[short]['wins'] == ['a'] and table[short]['ties'] == ['b']
    assert table[short]['mean_diff'] == pytest.approx(0.4)
    assert regimes.default_choice(table) == short
    text = regimes.markdown(data | dict(cells=[
        dict(c, name=c['name'], title='', machine='', minutes=0,
             student_epochs=16) for c in data['cells']]))
    assert f'the best mean is `{short}`' in text
    everywhere_below = regimes.verdicts(dict(cells=[
        dict(name='a', paired=[pair(paper, -0.8, -1.2, -0.4)])]))
    assert regimes.default_choice(everywhere_below) is None


def test_a_teacher_trained_for_several_lengths_shows_its_gain():
    regimes = import_benchmark('regimes')

    def cell(name, config, epochs, top1):
        return dict(name=name, teacher=dict(arch='ResNet20', config=config,
                                            epochs=epochs, top1=top1))

    lines = regimes.teacher_length_lines([
        cell('base', 'r20.py', 4, {'0.25': 80.0, '1': 85.0}),
        cell('long', 'r20.py', 4, {'0.25': 80.0, '1': 85.0}),
        cell('teacher_4x', 'r20.py', 16, {'0.25': 84.5, '1': 87.0}),
        cell('teacher_8x', 'r20.py', 32, {'0.25': 84.75, '1': 86.9}),
        cell('gap', 'r56.py', 4, {'0.25': 70.0, '1': 90.0}),
    ])
    rows = [line for line in lines if line.startswith('| ')]
    assert rows[1:] == [
        '| 4 | 80.00 | 85.00 | - |',
        '| 16 | 84.50 | 87.00 | +4.50 / +2.00 |',
        '| 32 | 84.75 | 86.90 | +0.25 / -0.10 |',
    ]  # one table: the ResNet56 teacher has one length only


class StoppedHere(Exception):
    """The run stops as a killed job would, inside an epoch."""


def test_a_stopped_teacher_resumes_as_if_it_had_not_stopped(tmp_path):
    if not all(osp.isdir(d) for d in FONT_DIRS):
        pytest.skip(f'{FONT_DIRS} missing: install the typefaces of the '
                    f'benchmark with: {APT_COMMAND}')
    import torch
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS
    training = import_benchmark('pwkd_bench.training')

    @HOOKS.register_module(force=True)
    class StopInEpochHook(Hook):
        priority = 'LOWEST'

        def __init__(self, epoch):
            self.epoch = epoch

        def before_train_epoch(self, runner):
            if runner.epoch == self.epoch:
                raise StoppedHere

    @HOOKS.register_module(force=True)
    class StopBeforeValidationHook(Hook):
        priority = 'LOWEST'  # after the checkpoint hook (VERY_LOW) saved

        def after_train_epoch(self, runner):
            if runner.epoch + 1 == 2:
                raise StoppedHere

    teacher = tmp_path / 'teacher.py'
    teacher.write_text(
        f'_base_ = [{config_path(TEACHER)!r}]\n'
        'train_dataloader = dict(dataset=dict(font_step=64))\n'
        'val_dataloader = dict(dataset=dict(font_step=64))\n'
        'test_dataloader = val_dataloader\n')
    stopped = tmp_path / 'stopped.py'
    stopped.write_text(f'_base_ = [{str(teacher)!r}]\n'
                       "custom_hooks = [dict(type='StopInEpochHook', "
                       'epoch=2)]\n')

    def train(config, work_dir):
        return training.train_teacher(
            'font_glyphs_balanced', 'toy', {}, str(tmp_path / work_dir),
            epochs=3, config=str(config), curve_interval=1)

    whole = train(teacher, 'whole')
    assert whole['resumed_at'] is None
    with pytest.raises(StoppedHere):
        train(stopped, 'stopped')  # in its third epoch
    assert training.last_checkpoint_epoch(str(tmp_path / 'stopped')) == 2
    resumed = train(teacher, 'stopped')
    assert resumed['resumed_at'] == 2
    # It trained the third epoch alone: its run validated once.
    runs = sorted(tmp_path.glob('stopped/*/vis_data/scalars.json'))
    assert len(runs) == 2
    steps = [json.loads(line)['step'] for line in runs[-1].open()
             if 'accuracy/top1' in line]
    assert steps == [3]
    # Figure for figure: the final top-1, the curves of its validations
    # (two before the stop, one after), and the weights.
    assert resumed['top1'] == whole['top1']
    assert resumed['curves'] == whole['curves']
    assert all(len(curve) == 3 for curve in whole['curves'].values())
    weights, again = (torch.load(run['whole_ckpt'])['state_dict']
                      for run in (whole, resumed))
    assert weights.keys() == again.keys()
    assert all(torch.equal(weights[key], again[key]) for key in weights)

    # Stopped between an epoch's checkpoint and its validation: the resumed
    # run validates that epoch first, and its curves hold every validation.
    late = tmp_path / 'late.py'
    late.write_text(f'_base_ = [{str(teacher)!r}]\n'
                    "custom_hooks = [dict(type='StopBeforeValidationHook')]"
                    '\n')
    with pytest.raises(StoppedHere):
        train(late, 'late')
    assert training.last_checkpoint_epoch(str(tmp_path / 'late')) == 2
    assert training.validated_epochs(str(tmp_path / 'late')) == {1}
    resumed = train(teacher, 'late')
    assert resumed['resumed_at'] == 2
    assert resumed['curves'] == whole['curves']
    assert resumed['top1'] == whole['top1']
