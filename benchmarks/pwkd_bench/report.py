"""The report: its files, the task figures, merging an update, markdown."""
import os.path as osp

from .cases import case_method, comparisons
from .stats import paired, teacher_gain


def report_paths(out_dir, task):
    """The report's files: markdown, JSON, results plot, learning curves."""
    stem = osp.join(out_dir, f'accuracy_{task}')
    return [f'{stem}.md', f'{stem}.json', f'{stem}.png', f'{stem}_curves.png']


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


def fmt(value, spec='.2f'):
    """``value`` formatted, or '-' for None."""
    return '-' if value is None else format(value, spec)


def markdown(report):
    """The report as markdown: the teachers, the task figures, the cases,
    the paired differences and the learning curves."""
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
