"""Plot the learning rate and the teacher width of a config against the epoch.

Usage:
    python tools/plot_schedule.py CONFIG [--out PNG] [--iters-per-epoch N]
        [--cfg-options KEY=VALUE ...] [--force]

The schedule comes from the config's own schedulers (built and stepped as
mmengine's Runner does) and PWKD stage plan; no model is built, and the data
set only to count the iterations of an epoch. A ``pwkd`` block whose teacher
checkpoint does not exist yet is plotted with its ``widths``.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config, DictAction  # noqa: E402

from pwkd_plugin.apis.schedule_trace import (  # noqa: E402
    trace_schedule, train_epoch_length)

FALLBACK_ITERS_PER_EPOCH = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training config')
    parser.add_argument(
        '--out', help='the PNG (default: work_dirs/schedules/<config>.png)')
    parser.add_argument(
        '--iters-per-epoch', type=int,
        help='iterations per epoch for epoch-based configs (default: the '
        'length of the config\'s training data loader when its data set is '
        f'on this machine, else {FALLBACK_ITERS_PER_EPOCH})')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, as in tools/train.py')
    parser.add_argument('--force', action='store_true',
                        help='replace an existing --out file')
    args = parser.parse_args()
    if not osp.isfile(args.config):
        parser.error(f'config {args.config} does not exist')
    if args.out is None:
        stem = osp.splitext(osp.basename(args.config))[0]
        args.out = osp.join('work_dirs', 'schedules', f'{stem}.png')
    if osp.exists(args.out) and not args.force:
        parser.error(f'{args.out} exists; give another --out or --force')
    return args


def plot(trace: dict, title: str, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, lr_axis = plt.subplots(figsize=(8, 3.6))
    lr_axis.plot(trace['progress'], trace['lr'], color='tab:blue')
    lr_axis.set_xlabel(trace['unit'])
    lr_axis.set_ylabel('learning rate', color='tab:blue')
    lr_axis.set_ylim(bottom=0)
    if trace['stage_lengths'] is not None:
        width_axis = lr_axis.twinx()
        width_axis.step(trace['progress'], trace['width'], where='post',
                        color='tab:orange')
        width_axis.set_ylabel('teacher width', color='tab:orange')
        width_axis.set_ylim(0, 1.05)
        title += f', stages {trace["stage_lengths"]} {trace["unit"]}s'
    lr_axis.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    per_epoch = args.iters_per_epoch
    guessed = False
    if per_epoch is None:
        per_epoch = train_epoch_length(cfg)
        if per_epoch is None:
            per_epoch, guessed = FALLBACK_ITERS_PER_EPOCH, True
    try:
        trace = trace_schedule(cfg, per_epoch)
    except ValueError as error:
        sys.exit(f'error: {error}')
    if guessed and trace['unit'] == 'epoch':
        print(f'the training data is not on this machine: drawn with '
              f'{per_epoch} iterations per epoch (schedulers counting '
              'iterations depend on it; give --iters-per-epoch)')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    plot(trace, osp.basename(args.config), args.out)
    epochs = (f' ({per_epoch} iterations per epoch)'
              if trace['unit'] == 'epoch' else '')
    print(f'wrote {args.out}: {trace["unit"]} 0..{trace["progress"][-1]:g}'
          f'{epochs}, lr {max(trace["lr"]):g} .. {min(trace["lr"]):g}')


if __name__ == '__main__':
    main()
