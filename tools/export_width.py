"""Take one width out of a slimmable teacher checkpoint.

Writes an ordinary mmpretrain classifier config and checkpoint of that width
(loadable with plain mmpretrain, ``load_checkpoint(..., strict=True)``), after
checking that the exported network reproduces the slimmable teacher's output
at that width, and prints the parameters and FLOPs of the exported width next
to those of the whole width.

Usage:
    python tools/export_width.py CONFIG CHECKPOINT --width 0.5 --out-dir DIR
        [--cfg-options KEY=VALUE ...] [--input-shape C H W]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config, DictAction  # noqa: E402

from pwkd_plugin.checkpoints import describe_mismatch  # noqa: E402
from pwkd_plugin.export import (WidthExportError, export_width,  # noqa: E402
                                whole_width_complexity)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export one width of a slimmable teacher as an ordinary '
        'mmpretrain classifier')
    parser.add_argument(
        'config', help='the slimmable teacher config (with a `slimmable` '
        'block)')
    parser.add_argument('checkpoint', help='the slimmable teacher checkpoint')
    parser.add_argument(
        '--width',
        type=float,
        required=True,
        help='the width to export, one of the teacher\'s widths')
    parser.add_argument(
        '--out-dir',
        required=True,
        help='where to write the config and checkpoint (existing files are '
        'never overwritten)')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=3,
        metavar=('C', 'H', 'W'),
        help='input shape for the check and the FLOPs; defaults to the '
        'slimmable block\'s input_shape')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. slimmable.divisor=8; no white '
        'space inside a value')
    return parser.parse_args()


def _millions(value: int) -> str:
    return f'{value / 1e6:.4f}M'


def complexity_table(width: float, exported: dict, whole: dict) -> str:
    """A small table of parameters and FLOPs, exported width vs whole."""
    rows = [('width', f'{width:g}', '1.0')]
    for key, label in (('params', 'parameters'), ('flops', 'FLOPs')):
        ratio = exported[key] / whole[key] if whole[key] else float('nan')
        rows.append((label, f'{_millions(exported[key])} ({ratio:.1%})',
                     _millions(whole[key])))
    first = max(len(row[0]) for row in rows)
    second = max(len(row[1]) for row in rows)
    lines = [
        f'{"":{first}}  {"exported":>{second}}  {"whole":>9}',
    ]
    lines += [f'{a:{first}}  {b:>{second}}  {c:>9}' for a, b, c in rows]
    return '\n'.join(lines)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:
        result = export_width(cfg, args.checkpoint, args.width, args.out_dir,
                              args.input_shape)
    except WidthExportError as error:
        sys.exit(f'export_width: error: {error}')
    except RuntimeError as error:
        if 'state_dict' not in str(error):
            raise
        sys.exit('export_width: error: ' + describe_mismatch(
            str(error), args.checkpoint,
            'a slimmable teacher checkpoint of this config (a run of it '
            'with tools/train.py)'))
    whole = whole_width_complexity(cfg, result['input_shape'])
    shape = 'x'.join(str(s) for s in result['input_shape'])
    print(f'config:     {result["config"]}')
    print(f'checkpoint: {result["checkpoint"]}')
    print(f'complexity on one {shape} input (FLOPs: multiply-adds of convs '
          'and linears):')
    print(complexity_table(result['width'], result, whole))


if __name__ == '__main__':
    main()
