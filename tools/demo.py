"""The main job on the embedded digits data, end to end.

Trains the demo teacher, distils it into the student with mmrazor's KD, and
prints the teacher's and the student's top-1 with the wall time of each step.
Every run writes into a new folder under ``--work-dir`` (default
``work_dirs/demo/<time>``), so nothing of an earlier run is overwritten.

Usage:
    python tools/demo.py [--work-dir DIR] [--epochs N]
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from pwkd_plugin.apis import guard_work_dir  # noqa: E402

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'demo', time.strftime('%Y%m%d_%H%M%S')),
        help='folder for the runs (default: work_dirs/demo/<time>)')
    parser.add_argument(
        '--epochs', type=int, default=20, help='epochs of each training run')
    return parser.parse_args()


def train(config: str, work_dir: str, epochs: int, **options) -> dict:
    """Train one config; return its last validation metrics and wall time."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = epochs
    cfg.merge_from_dict(options)
    guard_work_dir(cfg)
    print(f'==> training {config} ({epochs} epochs) in {work_dir}',
          flush=True)
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    runner.val_loop.run()
    # mmrazor's distillation val loop returns nothing; RuntimeInfoHook keeps
    # the metrics of every val loop in the message hub.
    metrics = {
        key[len('val/'):]: buffer.current()
        for key, buffer in runner.message_hub.log_scalars.items()
        if key.startswith('val/')
    }
    return dict(metrics, seconds=time.perf_counter() - start)


def main():
    args = parse_args()
    start = time.perf_counter()
    teacher_dir = osp.join(args.work_dir, 'teacher')
    teacher = train('demo/resnet20_digits.py', teacher_dir, args.epochs)
    student = train(
        'demo/kd_resnet20_resnet8_digits.py',
        osp.join(args.work_dir, 'student_kd'),
        args.epochs,
        **{
            'model.teacher_ckpt':
            osp.join(teacher_dir, f'epoch_{args.epochs}.pth')
        })
    rows = [
        ('teacher ResNet20', teacher['accuracy/top1'], teacher['seconds']),
        ('student ResNet8, KD', student['accuracy/top1'], student['seconds']),
    ]
    print('\n| model | top-1 (%) | wall time (s) |\n|---|---|---|')
    for name, top1, seconds in rows:
        print(f'| {name} | {top1:.2f} | {seconds:.0f} |')
    print(f'\ntotal wall time: {time.perf_counter() - start:.0f} s; '
          f'checkpoints and logs in {args.work_dir}')


if __name__ == '__main__':
    main()
