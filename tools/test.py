"""Test (evaluate) a checkpoint, as the OpenMMLab tool of this name.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--amp] [--cfg-options KEY=VALUE ...] [--launcher ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
import mmengine  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.evaluator import DumpResults  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from pwkd_plugin.apis import set_dataloader_defaults  # noqa: E402
from pwkd_plugin.apis.launch_defaults import (  # noqa: E402
    set_job_master_port, set_local_rank, setup_launch, teardown_launch)
from pwkd_plugin.checkpoints.student_checkpoint import (  # noqa: E402
    is_pwkd_student, load_once, not_a_pwkd_config_message)
from pwkd_plugin.config_blocks import prepare_test_config  # noqa: E402
from pwkd_plugin.engine.runner import DumpWidthsResults  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics in')
    parser.add_argument(
        '--out', help='dump the predictions (or, with --out-item '
        'metrics, the metrics) to this pickle/json file; a slimmable '
        'model\'s predictions as a dict width_<w> -> predictions')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds (default: predictions)')
    parser.add_argument(
        '--amp', action='store_true', help='test in mixed precision')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the data loader')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=8')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    set_local_rank(args.launcher, args.local_rank)
    set_job_master_port(args.launcher)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out')
    if not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint {args.checkpoint!r} does not exist')
    return args


def merge_args(cfg, args):
    """Merge the command line into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    set_dataloader_defaults(
        cfg, ('test_dataloader', ), pin_memory=not args.no_pin_memory)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def dump_metric(cfg, out: str):
    """What writes ``--out``: every width's predictions, by width, for a
    model tested at every width (``WidthsTestLoop``)."""
    loop = str((cfg.get('test_cfg') or {}).get('type', ''))
    if loop.split('.')[-1] == 'WidthsTestLoop':
        return DumpWidthsResults(out, cfg.model.mutator.widths)
    return DumpResults(out_file_path=out)


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    if isinstance(cfg.get('pwkd'), dict):
        # The student checkpoint holds its teacher: read it once, for both.
        served = load_once(args.checkpoint)
        cfg.load_from = served['checkpoint']
        if served['teacher'] is not None:
            cfg.pwkd.teacher_ckpt = served['teacher']
    elif is_pwkd_student(args.checkpoint):
        sys.exit('error: ' +
                 not_a_pwkd_config_message(args.config, args.checkpoint))
    cfg = prepare_test_config(cfg)
    setup_launch(cfg)  # CPU-only multi-process runs: gloo, no device_ids
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(dump_metric(cfg, args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    teardown_launch()


if __name__ == '__main__':
    main()
