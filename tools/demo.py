"""The main job on the embedded digits data: the whole PWKD pipeline.

1. trains the slimmable ResNet20 teacher (widths 0.25/0.5/0.75/1.0 jointly),
2. distils it into ResNet8 with PWKD on top of mmrazor's KD,
3. evaluates both and prints the teacher's top-1 per width, the student's
   top-1 and the wall time of each step.

Every run writes into a new folder under ``--work-dir`` (default
``work_dirs/demo/<time>``), so nothing of an earlier run is overwritten.

Usage:
    python tools/demo.py [--work-dir DIR] [--teacher-epochs N]
        [--student-epochs N]
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config  # noqa: E402

from pwkd_plugin.apis import (WorkDirInUseError,  # noqa: E402
                              guard_work_dir, train_and_validate)
from pwkd_plugin.config_blocks import (check_pwkd_block,  # noqa: E402
                                       prepare_train_config)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs')
TEACHER = 'pwkd/teachers/slimmable_resnet20_digits.py'
STUDENT = 'pwkd/pwkd_kd_resnet20_resnet8_digits.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'demo', time.strftime('%Y%m%d_%H%M%S')),
        help='folder for the runs (default: work_dirs/demo/<time>)')
    parser.add_argument(
        '--teacher-epochs',
        type=int,
        help='epochs of the teacher (default: its config\'s, 20)')
    parser.add_argument(
        '--student-epochs',
        type=int,
        help='epochs of the student (default: its config\'s, 20; at least '
        'one per teacher width)')
    args = parser.parse_args()
    check_plans(parser, args)
    return args


def load(config: str, work_dir: str, epochs, **options) -> Config:
    """One step's config, its epochs and options applied."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = work_dir
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
    cfg.merge_from_dict(options)
    return cfg


def check_plans(parser, args) -> None:
    """Refuse, naming demo.py's options, what would fail in either step,
    before the teacher trains."""
    for option, epochs in (('--teacher-epochs', args.teacher_epochs),
                           ('--student-epochs', args.student_epochs)):
        if epochs is not None and epochs < 1:
            parser.error(f'{option} must be at least 1, got {epochs}')
    for step in ('slimmable_teacher', 'pwkd_student'):
        try:
            guard_work_dir(Config(dict(
                work_dir=osp.join(args.work_dir, step))))
        except WorkDirInUseError as error:
            parser.error(f'{error.args[0].split(";")[0]}: demo.py does not '
                         'resume; give another --work-dir (or none: a new '
                         'folder under work_dirs/demo)')
    widths = load(TEACHER, '', None).slimmable.widths
    student = load(STUDENT, '', args.student_epochs)
    epochs = student.train_cfg.max_epochs
    if epochs < len(widths):
        parser.error(
            f'--student-epochs {epochs} is too short for the student\'s '
            f'{len(widths)} stages, one per teacher width '
            f'{"/".join(f"{w:g}" for w in widths)}: give at least '
            f'{len(widths)}')
    try:
        check_pwkd_block(student, student.pwkd, teacher_widths=widths)
    except ValueError as error:
        parser.error(f'the student\'s plan: {error}')


def train(step: str, config: str, work_dir: str, epochs, **options) -> dict:
    """Train one config; return its final validation metrics, wall time and
    last checkpoint."""
    cfg = prepare_train_config(load(config, work_dir, epochs, **options))
    guard_work_dir(cfg)
    print(f'==> {step}: {config}, {cfg.train_cfg.max_epochs} epochs, in '
          f'{work_dir}', flush=True)
    return train_and_validate(cfg)


def main():
    args = parse_args()
    start = time.perf_counter()
    teacher_dir = osp.join(args.work_dir, 'slimmable_teacher')
    teacher = train('1/2 slimmable teacher', TEACHER, teacher_dir,
                    args.teacher_epochs)
    student = train(
        '2/2 PWKD student',
        STUDENT,
        osp.join(args.work_dir, 'pwkd_student'),
        args.student_epochs,
        **{'pwkd.teacher_ckpt': teacher['checkpoint']})
    print('\n| model | top-1 (%) | wall time (s) |\n|---|---|---|')
    widths = sorted(
        float(key.split('/')[0][len('width_'):]) for key in teacher
        if key.startswith('width_') and key.endswith('accuracy/top1'))
    for width in widths:
        top1 = teacher[f'width_{width:g}/accuracy/top1']
        seconds = f'{teacher["seconds"]:.0f} (all widths)' \
            if width == widths[-1] else ''
        print(f'| teacher ResNet20, width {width:g} | {top1:.2f} | '
              f'{seconds} |')
    print(f'| student ResNet8, PWKD+KD | {student["accuracy/top1"]:.2f} | '
          f'{student["seconds"]:.0f} |')
    print(f'\ntotal wall time: {time.perf_counter() - start:.0f} s; '
          f'checkpoints and logs in {args.work_dir}')


if __name__ == '__main__':
    main()
