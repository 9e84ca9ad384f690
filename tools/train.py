"""Train a model from an mmengine config, as the OpenMMLab tool of this name.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--set-aside-later] [--amp [{fp16,bf16}]]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from pwkd_plugin.apis import (guard_work_dir,  # noqa: E402
                              set_dataloader_defaults)
from pwkd_plugin.apis.launch_defaults import (  # noqa: E402
    set_job_master_port, set_local_rank, setup_launch, teardown_launch)
from pwkd_plugin.config_blocks import prepare_train_config  # noqa: E402


#: ``--amp`` values: the student's mixed precision.
AMP_DTYPES = ('fp16', 'bf16')


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--set-aside-later',
        action='store_true',
        help='resuming a checkpoint older than the work dir\'s latest, move '
        'the later checkpoints into a new folder WORK_DIR/set_aside_<time> '
        'first (without it such a resume is refused)')
    parser.add_argument(
        '--amp',
        nargs='?',
        const='fp16',
        choices=AMP_DTYPES,
        help='automatic-mixed-precision training: fp16 (the default; '
        "mmengine's AmpOptimWrapper with dynamic loss scaling, GPU only) or "
        'bf16 (no loss scaling; GPUs of compute capability 8.0 or later, '
        'and CPUs)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the data loaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the data loaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=10 or '
        'key="[a,b]"; no white space inside a value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torchrun and torch.distributed.launch on torch 2.x pass --local-rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.amp == 'fp16' and not torch.cuda.is_available():
        parser.error("--amp fp16 needs a CUDA GPU (mmengine's AmpOptimWrapper "
                     'and its loss scaler); use --amp bf16 on the CPU')
    set_local_rank(args.launcher, args.local_rank)
    set_job_master_port(args.launcher)
    return args


def merge_args(cfg, args):
    """Merge the command line into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp == 'fp16':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        cfg.optim_wrapper.dtype = 'float16'
    elif args.amp == 'bf16':
        cfg.optim_wrapper.type = 'mmrazor.BF16OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            cfg.optim_wrapper.pop(key, None)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    set_dataloader_defaults(
        cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader'),
        pin_memory=not args.no_pin_memory,
        persistent_workers=not args.no_persistent_workers)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    cfg = prepare_train_config(cfg)
    guard_work_dir(cfg, set_aside_later=args.set_aside_later)
    setup_launch(cfg)  # CPU-only multi-process runs: gloo, no device_ids
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    teardown_launch()


if __name__ == '__main__':
    main()
