"""Take the student out of a distillation checkpoint (PWKD or any mmrazor
single-teacher method) as an ordinary mmpretrain config and checkpoint.

Usage:
    python tools/extract_student.py CONFIG CHECKPOINT --out-dir DIR

The result loads with plain mmpretrain:
    mmpretrain.apis.init_model('DIR/student.py', 'DIR/student.pth')
(configs whose student uses one of the plugin's CIFAR backbones import
``pwkd_plugin.models.backbones`` for it.)
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config, DictAction  # noqa: E402

from pwkd_plugin.export import WidthExportError, export_student  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the distillation config')
    parser.add_argument('checkpoint', help='a checkpoint of that run')
    parser.add_argument(
        '--out-dir', required=True, help='where to write student.py/.pth')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        result = export_student(cfg, args.checkpoint, args.out_dir)
    except WidthExportError as error:
        sys.exit(f'error: {error}')
    print(f'student config:     {result["config"]}\n'
          f'student checkpoint: {result["checkpoint"]}\n'
          f'parameters:         {result["params"]:,}')


if __name__ == '__main__':
    main()
