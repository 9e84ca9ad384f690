"""Sliced or private LayerNorm affine parameters in a slimmable ConvNeXt
or vision transformer.

The slimmable ConvNeXt teacher slices its ``LayerNorm2d``s' affine
parameters (each width uses the first channels' weight and bias, shared with
every wider width). The alternative gives each width private affine
parameters, as slimmable networks give each width private batch norms. This
trains the small ConvNeXt of the test suite (``depths=[1, 1]``,
``channels=[16, 32]``) as a slimmable teacher on the digits (1,437 training
and 360 test images, 32x32; AdamW, lr 2e-3, cosine) both ways, on the same
seeds, one thread, and
prints each width's test top-1, mean over the seeds, and the paired
difference private - sliced with its 95 % interval. With ``--family ViT``
the model is the small ViT of the test suite (depth 2, embed 32 in 4 heads
of 8, MLP 64, patch 4) and the two variants are the mutator's
``layer_norms='sliced'`` and ``'private'`` (:class:`SwitchableLayerNorm`).

    python benchmarks/layer_norm_widths.py [--epochs 10] [--seeds 3]
    python benchmarks/layer_norm_widths.py --family ViT --epochs 10
"""
import argparse
import os.path as osp
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from scipy import stats

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmpretrain.models.utils import LayerNorm2d  # noqa: E402

from pwkd_plugin.config_blocks import prepare_train_config  # noqa: E402
from pwkd_plugin.models import dynamic_ops  # noqa: E402
from pwkd_plugin.models.dynamic_ops import SlimmableLayerNorm2d  # noqa: E402
from pwkd_plugin.models.utils import quiet_logger  # noqa: E402
from pwkd_plugin.testing.teacher_families import small_family  # noqa: E402
from pwkd_plugin.testing.transformer_families import \
    small_transformer  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
WIDTHS = (0.25, 0.5, 0.75, 1.0)


class PrivateLayerNorm2d(SlimmableLayerNorm2d):
    """``LayerNorm2d`` with private affine parameters for every narrower
    width (the whole width keeps the layer's own)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.private_weight = nn.ParameterDict()
        self.private_bias = nn.ParameterDict()

    def add_private(self, count: int) -> None:
        """Private parameters for ``count`` channels, from the first ones."""
        if count < self.num_channels and str(count) not in \
                self.private_weight:
            self.private_weight[str(count)] = nn.Parameter(
                self.weight[:count].detach().clone())
            self.private_bias[str(count)] = nn.Parameter(
                self.bias[:count].detach().clone())

    def get_dynamic_params(self):
        weight, bias = super().get_dynamic_params()
        key = str(weight.numel())
        if key in self.private_weight:
            return self.private_weight[key], self.private_bias[key]
        return weight, bias


def give_private_norms(model) -> None:
    """Private parameters for every width's channel count of each norm."""
    norms = [m for m in model.modules() if isinstance(m, PrivateLayerNorm2d)]
    for width in WIDTHS:
        model.mutator.set_width(width)
        for norm in norms:
            norm.add_private(norm.get_dynamic_params()[0].numel())
    model.mutator.set_width(1.0)


#: --family -> what the table calls it.
FAMILIES = {
    'ConvNeXt': 'slimmable ConvNeXt (depths [1, 1], channels [16, 32])',
    'ViT': 'slimmable ViT (depth 2, embed 32, 4 heads, MLP 64, patch 4)',
}


def train(variant: str, seed: int, epochs: int, work_dir: str,
          family: str = 'ConvNeXt'):
    """Each width's test top-1 (%) after training ``variant``."""
    dynamic_ops.DYNAMIC_OPS[LayerNorm2d] = (
        PrivateLayerNorm2d if variant == 'private' else SlimmableLayerNorm2d)
    cfg = Config.fromfile(osp.join(REPO, 'configs/demo/resnet20_digits.py'))
    cfg.model = (small_family('ConvNeXt') if family == 'ConvNeXt' else
                 small_transformer(family))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.image_size = 32
    cfg.train_dataloader.dataset.pipeline[0].crop_size = 32
    cfg.slimmable = dict(widths=WIDTHS, input_shape=(3, 32, 32))
    cfg = prepare_train_config(cfg)
    if family != 'ConvNeXt':
        cfg.model.mutator.layer_norms = variant
    cfg.work_dir = work_dir
    # ConvNeXt's (and ViT's) optimizer, AdamW, with the digits' cosine
    # schedule.
    cfg.optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=seed, deterministic=True)
    with quiet_logger():
        runner = Runner.from_cfg(cfg)
        if variant == 'private' and family == 'ConvNeXt':
            give_private_norms(runner.model)
        runner.train()
    scalars = runner.message_hub.log_scalars
    return [
        scalars[f'val/width_{w:g}/accuracy/top1'].current() for w in WIDTHS
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--family', choices=list(FAMILIES),
                        default='ConvNeXt')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    top1 = {}
    with tempfile.TemporaryDirectory() as folder:
        for variant in ('sliced', 'private'):
            top1[variant] = np.array([
                train(variant, seed, args.epochs,
                      osp.join(folder, f'{variant}_{seed}'), args.family)
                for seed in range(args.seeds)
            ])
            print(f'# {variant}: {top1[variant].tolist()}', flush=True)
    print(f'{FAMILIES[args.family]} on the '
          f'digits, {args.epochs} epochs, seeds 0..{args.seeds - 1}: test '
          'top-1 (%)')
    print('| width | sliced LayerNorm | private LayerNorm | private - sliced '
          '(95 % interval) |')
    print('|---|---|---|---|')
    for index, width in enumerate(WIDTHS):
        sliced, private = top1['sliced'][:, index], top1['private'][:, index]
        diff = private - sliced
        half = (stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) /
                np.sqrt(len(diff))) if len(diff) > 1 else float('nan')
        print(f'| {width:g} | {sliced.mean():.2f} | {private.mean():.2f} | '
              f'{diff.mean():+.2f} (+-{half:.2f}) |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
