"""The teacher families table: how partial each width of a teacher is.

For every family (mmpretrain's ImageNet configs, input 224 by default) a
``slimmable`` block is added and the slimmable teacher is built (not
trained: the figures depend on the architecture only). For each width the
static copy a PWKD student distils from is measured: parameters and conv +
linear multiply-adds (FLOPs) per image, as a share of the whole network
(a transformer's row also records its attentions' two matrix products,
``attention_flops``, which the table leaves out);
then the layers the channel tracer leaves whole, and whether
``tools/export_width.py`` can write width 0.25 as an ordinary mmpretrain
config (same parameter names and shapes, outputs within 1e-5).

    python benchmarks/teacher_families.py [--input-size 224] [--json OUT]
    python benchmarks/teacher_families.py --small --input-size 32   # fast
    python benchmarks/teacher_families.py --families 'ShuffleNetV2 1x' \
        --json benchmarks/results/teacher_families_224.json  # one row

With ``--families`` and an existing ``--json`` file of the same input size,
only those rows are replaced; the table printed is the whole file's.

A family whose teacher is refused (a width that cannot run, or a narrowest
width that keeps more than half of the FLOPs) is measured anyway with
``allow_mostly_whole=True`` and marked as refused.
"""
import argparse
import json
import os.path as osp
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pwkd_plugin  # noqa: E402,F401
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.hub import get_config  # noqa: E402
import mmrazor  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from pwkd_plugin.config_blocks import \
    without_pretrained_weights  # noqa: E402
from pwkd_plugin.config_blocks.slimmable_block import (  # noqa: E402
    check_slimmable_block, slimmable_model)
from pwkd_plugin.export import (  # noqa: E402
    NO_RECIPE_REASONS, WidthExportError, static_classifier_config)
from pwkd_plugin.export.width_export import (  # noqa: E402
    TOLERANCE, compare_state_shapes)
from pwkd_plugin.models.mutators import (  # noqa: E402
    MostlyWholeTeacherError, UntraceableModelError, WidthForwardError)
from pwkd_plugin.models.utils import (  # noqa: E402
    build_classifier, quiet_logger, strip_model_scope)
from pwkd_plugin.models.utils.conv_linear_macs import \
    conv_linear_macs  # noqa: E402
from pwkd_plugin.testing.teacher_families import (  # noqa: E402
    SMALL_FAMILIES, small_family)
from pwkd_plugin.testing.transformer_families import \
    attention_macs  # noqa: E402

#: architecture -> mmpretrain config.
IMAGENET_FAMILIES = {
    'ResNet-50': 'mmpretrain::resnet/resnet50_8xb32_in1k.py',
    'ResNeXt-50 32x4d': 'mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py',
    'RegNetX-400MF': 'mmpretrain::regnet/regnetx-400mf_8xb128_in1k.py',
    'DenseNet-121': 'mmpretrain::densenet/densenet121_4xb256_in1k.py',
    'EfficientNet-B0': 'mmpretrain::efficientnet/efficientnet-b0_8xb32_in1k.py',
    'MobileNetV2': 'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
    'ShuffleNetV2 1x':
    'mmpretrain::shufflenet_v2/shufflenet-v2-1x_16xb64_in1k.py',
    'ConvNeXt-T': 'mmpretrain::convnext/convnext-tiny_32xb128_in1k.py',
    'EfficientNetV2-B0':
    'mmpretrain::efficientnet_v2/efficientnetv2-b0_8xb32_in1k.py',
    'MobileOne-S0': 'mmpretrain::mobileone/mobileone-s0_8xb32_in1k.py',
    'Res2Net-50 14w-8s': 'mmpretrain::res2net/res2net50-w14-s8_8xb32_in1k.py',
    'CSPDarkNet-53': 'mmpretrain::cspnet/cspdarknet50_8xb32_in1k.py',
    'CSPResNet-50': 'mmpretrain::cspnet/cspresnet50_8xb32_in1k.py',
    # The teacher of mmrazor's DeiT config (a timm model in TIMMBackbone).
    'RegNetY-160 (timm)':
    'mmrazor-teacher::distill/mmcls/deit/'
    'deit-base_regnety160_pt-16xb64_in1k.py',
    'ViT-B/16': 'mmpretrain::vision_transformer/vit-base-p16_64xb64_in1k.py',
    'DeiT-tiny (distilled)':
    'mmpretrain::deit/deit-tiny-distilled_4xb256_in1k.py',
    'DeiT-small (distilled)':
    'mmpretrain::deit/deit-small-distilled_4xb256_in1k.py',
    'Swin-T': 'mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py',
    # Further mmpretrain families, measured as a slimmable block takes them
    # (no unit reader of their own).
    'SE-ResNet-50': 'mmpretrain::seresnet/seresnet50_8xb32_in1k.py',
    'Wide-ResNet-50': 'mmpretrain::wrn/wide-resnet50_8xb32_in1k.py',
    'Inception-v3': 'mmpretrain::inception_v3/inception-v3_8xb32_in1k.py',
    'ConvMixer-768/32':
    'mmpretrain::convmixer/convmixer-768-32_10xb64_in1k.py',
    'MobileNetV3-small':
    'mmpretrain::mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py',
    'ShuffleNetV1 1x':
    'mmpretrain::shufflenet_v1/shufflenet-v1-1x_16xb64_in1k.py',
    'EfficientFormer-L1':
    'mmpretrain::efficientformer/efficientformer-l1_8xb128_in1k.py',
    'PoolFormer-S12': 'mmpretrain::poolformer/poolformer-s12_32xb128_in1k.py',
    'RIFormer-S12': 'mmpretrain::riformer/riformer-s12_8xb128_in1k.py',
    'EdgeNeXt-XXS': 'mmpretrain::edgenext/edgenext-xxsmall_8xb256_in1k.py',
    'MobileViT-XXS': 'mmpretrain::mobilevit/mobilevit-xxsmall_8xb128_in1k.py',
    'LeViT-128S': 'mmpretrain::levit/levit-128s_8xb256_in1k.py',
    'TinyViT-5M': 'mmpretrain::tinyvit/tinyvit-5m_8xb256_in1k.py',
    'HorNet-T': 'mmpretrain::hornet/hornet-tiny_8xb128_in1k.py',
    'XCiT-nano-12': 'mmpretrain::xcit/xcit-nano-12-p16_8xb128_in1k.py',
    'VAN-tiny': 'mmpretrain::van/van-tiny_8xb128_in1k.py',
    'ConvNeXt-V2-atto':
    'mmpretrain::convnext_v2/convnext-v2-atto_32xb32_in1k.py',
    'Twins-SVT-S': 'mmpretrain::twins/twins-svt-small_8xb128_in1k.py',
    'T2T-ViT-14': 'mmpretrain::t2t_vit/t2t-vit-t-14_8xb64_in1k.py',
    'DaViT-tiny': 'mmpretrain::davit/davit-tiny_4xb256_in1k.py',
    'DeiT3-small': 'mmpretrain::deit3/deit3-small-p16_64xb64_in1k.py',
    'MViTv2-T': 'mmpretrain::mvit/mvitv2-tiny_8xb256_in1k.py',
    # mmpretrain's other supervised families (SwinV2's configs are at 256
    # or 192 px, which this table's one input size does not fit).
    'Twins-PCPVT-S': 'mmpretrain::twins/twins-pcpvt-small_8xb128_in1k.py',
    'HRNet-W18': 'mmpretrain::hrnet/hrnet-w18_4xb32_in1k.py',
    'RepVGG-A0': 'mmpretrain::repvgg/repvgg-A0_8xb32_in1k.py',
    'VGG-11-BN': 'mmpretrain::vgg/vgg11bn_8xb32_in1k.py',
    'Conformer-tiny':
    'mmpretrain::conformer/conformer-tiny-p16_8xb128_in1k.py',
    'ResNeSt-50': 'mmpretrain::resnest/resnest50_32xb64_in1k.py',
    'MLP-Mixer-B16':
    'mmpretrain::mlp_mixer/mlp-mixer-base-p16_64xb64_in1k.py',
    'TNT-S': 'mmpretrain::tnt/tnt-s-p16_16xb64_in1k.py',
    'RepMLP-B': 'mmpretrain::repmlp/repmlp-base_8xb64_in1k.py',
    'ViG-tiny': 'mmpretrain::vig/vig-tiny_8xb128_in1k.py',
    'PViG-tiny': 'mmpretrain::vig/pvig-tiny_8xb128_in1k.py',
    'RevViT-S': 'mmpretrain::revvit/revvit-small_8xb256_in1k.py',
    'BEiT-B': 'mmpretrain::beit/benchmarks/beit-base-p16_8xb64_in1k.py',
    'EVA02-tiny': 'mmpretrain::eva02/eva02-tiny-p14_in1k.py',
    'HiViT-tiny': 'mmpretrain::hivit/hivit-tiny-p16_16xb64_in1k.py',
}
WIDTHS = (0.25, 0.5, 0.75, 1.0)


def imagenet_classifier(path: str) -> dict:
    """The classifier config of a family: an mmpretrain config's model, or
    (``mmrazor-teacher::``) the teacher of a distillation config mmrazor
    ships."""
    scope, _, relative = path.partition('::')
    if scope != 'mmrazor-teacher':
        return get_config(path).model.to_dict()
    shipped = osp.join(osp.dirname(mmrazor.__file__), '.mim', 'configs')
    teacher = Config.fromfile(osp.join(shipped, relative)).model.teacher
    teacher = teacher.to_dict()
    teacher.pop('_scope_', None)
    without_pretrained_weights(teacher)  # the figures need no weights
    return teacher


def build_teacher(classifier: dict, size: int, allow_mostly_whole: bool):
    cfg = Config(dict(model=classifier, default_scope='mmpretrain'))
    settings = check_slimmable_block(
        dict(widths=WIDTHS, input_shape=(3, size, size),
             allow_mostly_whole=allow_mostly_whole), for_training=False)
    model_cfg = slimmable_model(cfg, settings)
    with quiet_logger():
        return MODELS.build(model_cfg), model_cfg


def export_check(model, model_cfg: ConfigDict, inputs) -> str:
    """Whether width 0.25 can be written as an ordinary config."""
    classifier = strip_model_scope(model_cfg['architecture'])
    classifier.pop('data_preprocessor', None)
    backbone = str(classifier['backbone']['type']).split('.')[-1]
    try:
        plain_cfg = static_classifier_config(classifier, WIDTHS[0])
        with quiet_logger():
            plain = build_classifier(plain_cfg)
        static = model.static_architecture(WIDTHS[0])
        # Weights unlike their initialisation: an untrained attention is
        # near uniform, so a wrong split of its heads would change the
        # outputs by less than the tolerance.
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for param in static.parameters():
                param.mul_(1 + 0.5 * torch.randn(param.shape,
                                                 generator=generator))
        state = static.state_dict()
        compare_state_shapes(plain.state_dict(), state, backbone)
        plain.load_state_dict(state, strict=True)
        plain.eval()
        with torch.no_grad():
            expected = static(inputs, mode='tensor')
            gap = (plain(inputs, mode='tensor') - expected).abs().max().item()
        gap /= max(1., expected.abs().max().item())
        if not gap <= TOLERANCE:
            return f'no: outputs differ by {gap:.2g} (relative)'
        return 'yes'
    except WidthExportError as error:
        text = str(error)
        if 'no width recipe' in text:
            why = NO_RECIPE_REASONS.get(backbone)
            return (f"no: no width recipe for backbone type '{backbone}'"
                    f'{": " + why if why else ""}')
        if 'does not reproduce' in text:
            return 'no: its width recipe does not reproduce the network'
        return f'no: {text}'



def measure(name: str, classifier: dict, size: int) -> dict:
    """One row of the table."""
    torch.manual_seed(0)
    refused = None
    start = time.time()
    try:
        model, model_cfg = build_teacher(classifier, size, False)
    except MostlyWholeTeacherError as error:
        refused = str(error)
        model, model_cfg = build_teacher(classifier, size, True)
    except (UntraceableModelError, WidthForwardError) as error:
        return dict(architecture=name, refused=str(error), widths={})
    model.eval()
    inputs = torch.rand(1, 3, size, size)
    widths = {}
    for width in WIDTHS:
        static = model.static_architecture(width)
        macs = conv_linear_macs(static,
                                lambda: static(inputs, mode='tensor'))
        widths[f'{width:g}'] = dict(
            flops=macs, params=sum(p.numel() for p in static.parameters()))
        attention = attention_macs(static,
                                   lambda: static(inputs, mode='tensor'))
        if attention:  # a transformer: its attentions' matrix products
            widths[f'{width:g}']['attention_flops'] = attention
    return dict(
        architecture=name,
        widths=widths,
        whole_layers=len(model.mutator.whole_layers),
        export=export_check(model, model_cfg, inputs),
        refused=refused,
        seconds=round(time.time() - start, 1))


def table(rows) -> str:
    lines = [
        '| architecture | params (M) at width 1 | GFLOPs at width 1 | '
        'FLOPs / params of the whole at 0.25, 0.5, 0.75 | layers left whole '
        '| export of width 0.25 |', '|---|---|---|---|---|---|'
    ]
    for row in rows:
        if not row['widths']:
            lines.append(f'| {row["architecture"]} | refused: '
                         f'{row["refused"][:160]} | | | | |')
            continue
        whole = row['widths']['1']
        shares = ', '.join(
            f'{row["widths"][w]["flops"] / whole["flops"]:.3f} / '
            f'{row["widths"][w]["params"] / whole["params"]:.3f}'
            for w in ('0.25', '0.5', '0.75'))
        note = ' (refused unless `allow_mostly_whole=True`)' \
            if row['refused'] else ''
        lines.append(
            f'| {row["architecture"]} | {whole["params"] / 1e6:.2f} | '
            f'{whole["flops"] / 1e9:.3f} | {shares}{note} | '
            f'{row["whole_layers"]} | {row["export"]} |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--small', action='store_true',
                        help='the small members of the test suite instead '
                        'of the ImageNet configs')
    parser.add_argument('--families', nargs='*', help='a subset, by name')
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.small:
        families = {name: small_family(name) for name in SMALL_FAMILIES}
    else:
        families = {
            name: imagenet_classifier(path)
            for name, path in IMAGENET_FAMILIES.items()
            if not args.families or name in args.families
        }
    if args.families:
        families = {k: v for k, v in families.items() if k in args.families}
    rows = []
    for name, classifier in families.items():
        rows.append(measure(name, classifier, args.input_size))
        print(f'# {name}: {rows[-1].get("seconds", "-")} s', flush=True)
    if args.json:
        rows = merged_rows(args.json, args.input_size, rows,
                           list(IMAGENET_FAMILIES) if not args.small else
                           list(SMALL_FAMILIES))
        with open(args.json, 'w') as file:
            json.dump(dict(input_size=args.input_size, rows=rows), file,
                      indent=2)
    print(f'input {args.input_size}x{args.input_size}, FLOPs = conv + linear '
          'multiply-adds per image of the static copy')
    print(table(rows))
    return 0


def merged_rows(path: str, input_size: int, rows, order):
    """``rows`` replacing the same architectures' rows of the file at
    ``path`` (if it holds figures at ``input_size``), in table order."""
    if not osp.isfile(path):
        return rows
    with open(path) as file:
        previous = json.load(file)
    if previous.get('input_size') != input_size:
        return rows
    by_name = {row['architecture']: row for row in previous['rows']}
    by_name.update({row['architecture']: row for row in rows})
    rank = {name: index for index, name in enumerate(order)}
    return sorted(by_name.values(),
                  key=lambda row: rank.get(row['architecture'], len(rank)))


if __name__ == '__main__':
    sys.exit(main())
