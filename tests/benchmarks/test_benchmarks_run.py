"""The benchmarks run end to end at toy sizes and write what they promise.

They measure nothing here: the figures of a toy run mean nothing; only the
report's form and the plumbing are checked.
"""
import importlib
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from ..conftest import REPO_ROOT
from ..script_runs import run_script

BENCHMARKS = osp.join(REPO_ROOT, 'benchmarks')


def run(script, *args, timeout=600):
    return subprocess.run([sys.executable, osp.join(BENCHMARKS, script),
                           *args], capture_output=True, text=True,
                          timeout=timeout)


def run_here(script, *args):
    """A benchmark's command line in this process (for its refusals)."""
    return run_script(osp.join(BENCHMARKS, script), *args)


def import_benchmark(name):
    sys.path.insert(0, BENCHMARKS)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(BENCHMARKS)


def test_speed_prints_ratios_and_writes_json(tmp_path):
    path = str(tmp_path / 'speed.json')
    result = run('speed.py', '--batch-size', '2', '--warmup', '0',
                 '--repeats', '1', '--json', path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'pwkd_over_kd = ' in result.stdout
    with open(path) as file:
        figures = json.load(file)
    assert figures['widths'] == [0.25, 0.5, 0.75, 1.0]
    for key in ('teacher_over_static', 'fast_over_static'):
        assert set(figures[key]) == {'0.25', '0.5', '0.75', '1'}
    names = set(figures['iteration_seconds'])
    assert {'student', 'kd', 'kd-fast', 'pwkd@0.25', 'pwkd@1',
            'pwkd-fp32@0.5', 'kd-static@0.5', 'pwkd-sliced@0.75'} <= names
    steps, forwards = (figures[key] for key in ('iteration_seconds',
                                                'teacher_forward_seconds'))
    weighted = sum(steps[f'pwkd@{w:g}'] for w in figures['widths']) / 4
    assert figures['pwkd_over_kd'] == pytest.approx(weighted / steps['kd'])
    assert figures['kd_fast_over_kd'] == pytest.approx(
        steps['kd-fast'] / steps['kd'])
    assert figures['fast_over_static']['0.5'] == pytest.approx(
        forwards['fast@0.5'] / forwards['static@0.5'])
    assert figures['teacher_dtype'] in ('bfloat16', 'float16', 'float32')


def test_teacher_cost_compares_the_joint_step_and_the_pipeline(tmp_path):
    path = str(tmp_path / 'teacher_cost.json')
    result = run('teacher_cost.py', '--batch-size', '2', '--warmup', '0',
                 '--repeats', '1', '--profile-repeats', '1',
                 '--finetune-epochs', '3',
                 '--student-epochs', '10', '--json', path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '| joint-masked |' in result.stdout
    with open(path) as file:
        figures = json.load(file)
    steps = figures['step_seconds']
    widths = ('0.25', '0.5', '0.75', '1')
    assert figures['joint_over_ordinary_sum'] == pytest.approx(
        steps['joint'] / sum(steps[f'ordinary@{w}'] for w in widths))
    for case in ('slimmable', 'slimmable-masked'):
        assert set(figures['slimmable_over_ordinary'][case]) == set(widths)
        assert figures['profile_at_width_1'][case]
    epoch = figures['epoch_seconds']
    assert figures['iterations_per_epoch'] == 25000
    assert figures['pipeline_seconds'] == pytest.approx(
        3 * epoch['finetune'] + 10 * epoch['pwkd_student'])
    assert figures['pipeline_over_kd'] == pytest.approx(
        figures['pipeline_seconds'] / (10 * epoch['kd_student']))


#: A toy accuracy run: two seeds, teacher of one epoch (seed 0).
# One worker: in the suite the other core runs another test file, and each
# worker process imports the whole stack again.
TOY_ACCURACY = ['--seeds', '2', '--epochs', '4', '--teacher-epochs', '1',
                '--train-samples', '32', '--cases', 'scratch', 'KD',
                'PWKD+KD', '--workers', '1']


@pytest.fixture(scope='module')
def toy_accuracy(tmp_path_factory):
    """The toy accuracy run, once: (its stdout, its report folder)."""
    root = tmp_path_factory.mktemp('accuracy')
    out_dir = str(root / 'results')
    result = run('accuracy.py', *TOY_ACCURACY, '--out-dir', out_dir,
                 '--work-dir', str(root / 'w1'))
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, out_dir


def test_accuracy_writes_markdown_json_and_png(tmp_path, toy_accuracy):
    stdout, out_dir = toy_accuracy
    args = [*TOY_ACCURACY, '--out-dir', out_dir]
    assert '[students 6/6]' in stdout and 'min left' in stdout
    with open(osp.join(out_dir, 'accuracy_digits.json')) as file:
        report = json.load(file)
    assert report['task'] == 'digits' and report['seed_list'] == [0, 1]
    assert report['main_cases'] == ['scratch', 'KD', 'PWKD+KD']
    assert report['ablation_cases'] == []
    for case in report['cases'].values():
        assert case['n'] == 2 and all(0 <= v <= 100 for v in case['values'])
    pair = report['paired'][0]
    assert (pair['case'], pair['reference']) == ('PWKD+KD', 'KD')
    assert pair['ci95'][0] <= pair['mean_diff'] <= pair['ci95'][1]
    # KD and PWKD+KD are validated after every epoch; the last point of a
    # curve is the run's final figure.
    assert set(report['curves']) == {'KD', 'PWKD+KD'}
    for name, per_seed in report['curves_per_seed'].items():
        for seed, curve in per_seed.items():
            assert len(curve) == 4
            assert curve[-1] == report['cases'][name]['values'][int(seed)]
        assert report['curves'][name] == pytest.approx(
            [sum(points) / 2 for points in zip(*per_seed.values())])
    assert report['stage_ends'] == [1, 2, 3, 4]
    figures = report['figures']
    teacher = report['teachers']['plain']['top1']
    assert figures['teacher_gain'] == pytest.approx(teacher['1'] -
                                                    teacher['0.25'])
    assert figures['student_gap'] == pytest.approx(
        teacher['1'] - report['cases']['scratch']['mean'])
    assert figures['pwkd_kd_interval_half_width'] == pytest.approx(
        (pair['ci95'][1] - pair['ci95'][0]) / 2)
    with open(osp.join(out_dir, 'accuracy_digits.md')) as file:
        text = file.read()
    assert '| PWKD+KD - KD |' in text and '## Learning curves' in text
    for name in ('accuracy_digits.png', 'accuracy_digits_curves.png'):
        with open(osp.join(out_dir, name), 'rb') as file:
            assert file.read(4) == b'\x89PNG'

    # One case and seed rerun alone gives the report's figure exactly.
    rerun_dir = str(tmp_path / 'rerun')
    rerun = run('accuracy.py', '--seed', '1', '--epochs', '4',
                '--teacher-epochs', '1', '--train-samples', '32', '--cases',
                'PWKD+KD', '--out-dir', rerun_dir, '--work-dir',
                str(tmp_path / 'w3'))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    with open(osp.join(rerun_dir, 'accuracy_digits.json')) as file:
        again = json.load(file)
    assert again['cases']['PWKD+KD']['values'] == [
        report['cases']['PWKD+KD']['values'][1]]
    assert again['curves_per_seed']['PWKD+KD']['1'] == report[
        'curves_per_seed']['PWKD+KD']['1']
    assert again['teachers'] == {
        'plain': dict(report['teachers']['plain'],
                      seconds=again['teachers']['plain']['seconds'])}

    # An unknown case or task and an existing report (unless --force) are
    # refused before anything trains.
    unknown = run_here('accuracy.py', '--cases', 'KD', 'PWKD+MAGIC',
                  '--out-dir', str(tmp_path / 'other'))
    assert unknown.returncode != 0 and "'PWKD+MAGIC'" in unknown.stderr
    task = run_here('accuracy.py', '--task', 'cifar', '--out-dir',
               str(tmp_path / 'other'))
    assert task.returncode != 0 and "'cifar'" in task.stderr
    clash = run_here('accuracy.py', '--feature-cases', '--no-ablations',
                '--out-dir', str(tmp_path / 'other'))
    assert clash.returncode != 0 and '--feature-cases' in clash.stderr
    again = run_here('accuracy.py', *args, '--work-dir', str(tmp_path / 'w2'))
    assert again.returncode != 0 and 'exists' in again.stderr


def test_teacher_widths_reports_each_seed_as_accuracy_trains_it(
        tmp_path, toy_accuracy):
    out_dir = str(tmp_path / 'results')
    args = ['--task', 'digits', '--seeds', '2', '--teacher-epochs', '1',
            '--out-dir', out_dir]
    result = run('teacher_widths.py', *args, '--work-dir',
                 str(tmp_path / 'w1'))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(osp.join(out_dir, 'teacher_widths_digits_1e.json')) as file:
        report = json.load(file)
    teachers = report['teachers']
    assert [t['seed'] for t in teachers] == [0, 1]
    for teacher in teachers:
        top1 = teacher['top1']
        assert list(top1) == ['0.25', '0.5', '0.75', '1']
        assert teacher['gain'] == pytest.approx(top1['1'] - top1['0.25'])
    gains = [t['gain'] for t in teachers]
    assert report['gain']['mean'] == pytest.approx(sum(gains) / 2)
    assert report['mean_top1']['1'] == pytest.approx(
        sum(t['top1']['1'] for t in teachers) / 2)
    with open(osp.join(out_dir, 'teacher_widths_digits_1e.md')) as file:
        text = file.read()
    assert text.count('\n| ') == 4  # the header, two seeds, the mean

    # Seed 0 is the teacher of an accuracy report with the same teacher
    # settings (its teacher is seed 0 whatever its students' seeds).
    with open(osp.join(toy_accuracy[1], 'accuracy_digits.json')) as file:
        accuracy_report = json.load(file)
    assert accuracy_report['teachers']['plain']['top1'] == teachers[0]['top1']

    # One seed, or an existing report without --force, is refused.
    one = run_here('teacher_widths.py', '--seeds', '1', '--out-dir',
              str(tmp_path / 'other'))
    assert one.returncode != 0 and '--seeds' in one.stderr
    again = run_here('teacher_widths.py', *args, '--work-dir',
                str(tmp_path / 'w3'))
    assert again.returncode != 0 and 'exists' in again.stderr


def test_accuracy_tasks_share_the_cases():
    case_matrix = import_benchmark('pwkd_bench.cases')
    tasks = import_benchmark('pwkd_bench.tasks')
    main, ablations = case_matrix.cases(12, precision=False)
    assert list(main) == ['scratch', 'KD', 'PWKD+KD', 'DKD', 'PWKD+DKD',
                          'FitNet', 'PWKD+FitNet']
    assert ablations['PWKD+KD, optimizer state reset per stage'] == (
        'KD', dict(reset_optimizer_state=True), 'plain')
    assert ablations['PWKD+KD, no cyclic LR'][1] == dict(lr_cycle=None)
    assert not set(case_matrix.PRECISION_CASES) & set(ablations)
    for name, task in tasks.TASKS.items():
        for config in [task.teacher_config, *task.student_configs.values()]:
            assert osp.isfile(osp.join(REPO_ROOT, 'configs', config)), config
        assert set(task.student_configs) == {'scratch', 'KD', 'DKD',
                                             'FitNet'}


def test_teacher_families_table_at_a_tiny_input(tmp_path):
    path = str(tmp_path / 'families.json')
    result = run('teacher_families.py', '--small', '--input-size', '32',
                 '--families', 'RegNetX', 'DenseNet', '--json', path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '| RegNetX | ' in result.stdout and '| DenseNet | ' in result.stdout
    with open(path) as file:
        rows = {row['architecture']: row for row in json.load(file)['rows']}
    for row in rows.values():
        widths = row['widths']
        assert set(widths) == {'0.25', '0.5', '0.75', '1'}
        assert widths['0.25']['flops'] <= 0.25 * widths['1']['flops']
        assert widths['0.25']['params'] <= 0.35 * widths['1']['params']
        assert row['whole_layers'] == 0 and row['refused'] is None
    # DenseNet's arch expresses width 0.25; RegNet's formula cannot.
    assert rows['DenseNet']['export'] == 'yes'
    assert rows['RegNetX']['export'].startswith(
        "no: no width recipe for backbone type 'RegNet'")
    assert 'quantised formula' in rows['RegNetX']['export']


def test_accuracy_pairs_the_teacher_precisions():
    case_matrix = import_benchmark('pwkd_bench.cases')
    main, ablations = case_matrix.precision_cases(20)
    assert list(main) == ['KD', 'PWKD+KD']
    assert {name: case[1] for name, case in ablations.items()} == {
        'PWKD+KD, fp32 teacher': dict(teacher_precision='fp32'),
        'PWKD+KD, bf16 teacher': dict(teacher_precision='bf16'),
    }
    pairs = case_matrix.comparisons(ablations)
    assert ('PWKD+KD, bf16 teacher', 'PWKD+KD, fp32 teacher') in pairs
    assert ('PWKD+KD', 'PWKD+KD, fp32 teacher') in pairs
    # The precision cases are compared with each other, not as ablations.
    assert ('PWKD+KD, bf16 teacher', 'KD') not in pairs


def test_fidelity_states_every_width(tmp_path, digits_slimmable_teacher_ckpt):
    path = str(tmp_path / 'fidelity.json')
    result = run('fidelity.py', '--batches', '1', '--batch-size', '4',
                 '--digits-ckpt', digits_slimmable_teacher_ckpt, '--json',
                 path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '| digits | 0.25 |' in result.stdout
    with open(path) as file:
        figures = json.load(file)
    assert figures['dtype'] == 'bfloat16'
    assert figures['device'] == 'cpu'
    assert figures['fp32_reference'] == 'fp32 (TF32 off)'
    assert figures['tf32_by_default'] == {
        'convolutions': False, 'matrix products': False}
    for setting in ('digits', 'cifar'):
        rows = figures['settings'][setting]
        assert [row['width'] for row in rows] == [0.25, 0.5, 0.75, 1.0]
        for row in rows:
            assert 0 < row['max_abs_logit_diff'] < row['max_abs_logit']
            for loss in ('kd', 'dkd', 'fitnet'):
                assert row[f'{loss}_loss'] > 0
                assert 0 <= row[f'{loss}_rel_diff'] < 1


def test_accuracy_feature_strategies_pair_with_fitnet():
    case_matrix = import_benchmark('pwkd_bench.cases')
    main, default_ablations = case_matrix.cases(16, precision=False)
    assert not set(case_matrix.FEATURE_CASES) & set(default_ablations)
    _, ablations = case_matrix.cases(16, precision=False, features=True)
    strategies = {name: ablations[name]
                  for name in case_matrix.FEATURE_CASES}
    assert strategies == {
        'PWKD+FitNet, teacher features zero-padded':
        ('FitNet', dict(feature_strategy='pad'), 'plain'),
        'PWKD+FitNet, one connector per stage':
        ('FitNet', dict(feature_strategy='per_stage'), 'plain'),
    }
    pairs = case_matrix.comparisons(ablations)
    for name in strategies:
        assert (name, 'PWKD+FitNet') in pairs and (name, 'FitNet') in pairs
        assert (name, 'PWKD+KD') not in pairs


def test_accuracy_update_merges_cases_of_the_same_teacher():
    stats = import_benchmark('pwkd_bench.stats')
    reports = import_benchmark('pwkd_bench.report')

    def report(teacher_top1, cases, machine='cpu A'):
        return dict(
            seed_list=[0, 1, 2], machine=machine, command='cmd', minutes=1.0,
            teachers=dict(plain=dict(top1={'0.25': teacher_top1, '1': 90.0})),
            main_cases=[name for name in cases if ',' not in name],
            ablation_cases=[name for name in cases if ',' in name],
            cases={name: stats.summary(values)
                   for name, values in cases.items()})

    previous = report(70.0, {'FitNet': [80.0, 81.0, 82.0],
                             'PWKD+FitNet': [79.0, 80.0, 81.0]})
    previous['paired'] = []
    rerun = {'PWKD+FitNet': [81.0, 82.5, 83.0],
             'PWKD+FitNet, one connector per stage': [80.0, 80.0, 84.0]}
    update = report(70.0, rerun)
    by_case = {name: dict(zip([0, 1, 2], values))
               for name, values in rerun.items()}
    merged = reports.merged(previous, update, by_case)
    assert merged['cases']['FitNet'] == previous['cases']['FitNet']
    assert merged['cases']['PWKD+FitNet']['values'] == [81.0, 82.5, 83.0]
    assert merged['ablation_cases'] == ['PWKD+FitNet, one connector per stage']
    assert [u['cases'] for u in merged['updates']] == [list(rerun)]
    diffs = {(p['case'], p['reference']): p['diffs']
             for p in merged['paired']}
    assert diffs[('PWKD+FitNet', 'FitNet')] == [1.0, 1.5, 1.0]
    assert diffs[('PWKD+FitNet, one connector per stage',
                  'PWKD+FitNet')] == [-1.0, -2.5, 1.0]

    other_teacher = report(70.5, rerun, machine='cpu B')
    with pytest.raises(RuntimeError, match='cpu B here, cpu A there'):
        reports.merged(previous, other_teacher, by_case)


def test_teacher_cost_profiles_the_cpu_for_device_cpu(monkeypatch):
    """With a GPU visible, ``--device cpu`` profiled CUDA activity and
    reported zero operator times."""
    teacher_cost = import_benchmark('teacher_cost')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    a = torch.randn(64, 64)
    times = teacher_cost.op_self_times(lambda: a @ a, 2, 'cpu')
    assert times['aten::mm'] > 0
