"""Print a config as the Runner gets it: the plugin's blocks expanded.

A ``pwkd`` block becomes the ``PWKDDistill`` model, its stage hook and its
learning-rate cycle; a ``slimmable`` block the slimmable teacher model and
its hooks (as ``tools/train.py`` expands them; ``--test`` as
``tools/test.py`` does). A ``pwkd`` block whose teacher checkpoint does not
exist yet is expanded with its ``widths``, as ``tools/plot_schedule.py``
does.

Usage:
    python tools/print_config.py CONFIG [--test] [--cfg-options KEY=VALUE ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401  (applies the compatibility fixes)
from mmengine.config import Config, DictAction  # noqa: E402

from pwkd_plugin.apis.schedule_trace import expand_for_schedule  # noqa: E402
from pwkd_plugin.config_blocks import prepare_test_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Print the whole config, its plugin blocks expanded')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--test', action='store_true',
                        help='expand as tools/test.py does (default: as '
                        'tools/train.py does)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. pwkd.widths="[0.5,1.0]"; no '
        'white space inside a value')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:
        cfg = prepare_test_config(cfg) if args.test else \
            expand_for_schedule(cfg)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f'print_config.py: {error}')
    print(cfg.pretty_text)


if __name__ == '__main__':
    main()
