"""Two ways to narrow a grouped convolution network, side by side.

A narrow width of a network with grouped 3x3 convolutions (ResNeXt) can
keep the group count and narrow every group (what the slimmable teacher
does: ``width_per_group`` times the width), or keep the group width and
drop groups (``groups`` times the width). Both are ordinary mmpretrain
ResNeXt configs; this prints their parameters and conv + linear FLOPs per
image as a share of the whole network, at each width.

    python benchmarks/grouped_widths.py [--input-size 224]
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401
from mmpretrain.registry import MODELS  # noqa: E402

from pwkd_plugin.models.utils import slim_channels  # noqa: E402
from pwkd_plugin.models.utils.conv_linear_macs import \
    conv_linear_macs  # noqa: E402

WIDTHS = (0.25, 0.5, 0.75, 1.0)
GROUPS, WIDTH_PER_GROUP, BASE = 32, 4, 64


def resnext50(width: float, narrow: str) -> dict:
    """ResNeXt-50 32x4d at ``width``, narrowed per group or by groups."""
    def scale(num_channels: int) -> int:
        return slim_channels(num_channels, width, 1, 1)

    groups, per_group = GROUPS, WIDTH_PER_GROUP
    if narrow == 'group width':
        per_group = scale(WIDTH_PER_GROUP)
    else:
        groups = max(1, round(GROUPS * width))
    return dict(
        type='ImageClassifier',
        backbone=dict(type='ResNeXt', depth=50, groups=groups,
                      width_per_group=per_group, stem_channels=scale(BASE),
                      base_channels=scale(BASE)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000,
                  in_channels=scale(2048)))


def cost(cfg: dict, size: int):
    model = MODELS.build(cfg).eval()
    inputs = torch.rand(1, 3, size, size)
    macs = conv_linear_macs(model, lambda: model(inputs, mode='tensor'))
    return macs, sum(p.numel() for p in model.parameters())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--input-size', type=int, default=224)
    args = parser.parse_args(argv)
    print(f'ResNeXt-50 32x4d, input {args.input_size}: FLOPs / params of '
          'the whole network')
    print('| width | keep 32 groups, narrow each | keep 4 channels per '
          'group, drop groups |')
    print('|---|---|---|')
    whole = cost(resnext50(1.0, 'group width'), args.input_size)
    for width in WIDTHS[:-1]:
        shares = []
        for narrow in ('group width', 'groups'):
            macs, params = cost(resnext50(width, narrow), args.input_size)
            shares.append(f'{macs / whole[0]:.3f} / {params / whole[1]:.3f}')
        print(f'| {width:g} | {shares[0]} | {shares[1]} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
