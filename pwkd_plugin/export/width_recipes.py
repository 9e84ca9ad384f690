"""Width recipes: a backbone config at the whole width -> its config at a
width of the slimmable teacher.

How a backbone config expresses a width is a *width recipe*
(:data:`WIDTH_RECIPES`, one per backbone family);
:func:`static_classifier_config` applies the backbone's recipe and narrows
the neck's and head's channel arguments to match. Families whose arguments
cannot express a width are in :data:`NO_RECIPE_REASONS`, with the reason.
"""
import copy
import inspect
import math
from typing import Callable, Dict, Optional, Tuple

from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from ..models.mutators.transformer_units import slim_heads
from ..models.utils import slim_channels, type_name
from .hivit_recipe import hivit_outputs, hivit_recipe
from .ordinary_config import WidthExportError


def _resnet_recipe(backbone: dict, scale: Callable[[int], int],
                   width: float, divisor: int, min_channels: int) -> dict:
    """mmpretrain ``ResNet`` family: stage ``i`` has ``base_channels * 2**i
    * expansion`` output channels and ``base_channels * 2**i`` inside a
    bottleneck; the stem ``stem_channels`` (``stem_channels // 2`` in the
    first two convs of a deep stem)."""
    backbone['stem_channels'] = scale(backbone.get('stem_channels', 64))
    backbone['base_channels'] = scale(backbone.get('base_channels', 64))
    return backbone


def _resnext_recipe(backbone: dict, scale: Callable[[int], int],
                    width: float, divisor: int, min_channels: int) -> dict:
    """mmpretrain ``ResNeXt``: as ``ResNet``, and every group keeps its
    count (the slimmable teacher slices the channels of each group), so
    ``width_per_group`` narrows instead."""
    backbone = _resnet_recipe(backbone, scale, width, divisor, min_channels)
    backbone['width_per_group'] = scale(backbone.get('width_per_group', 4))
    return backbone


def _res2net_runs(backbone: dict) -> list:
    """The channels of each run of a ``Res2Net``'s blocks, per stage, as
    mmpretrain's ``Bottle2neck`` computes them."""
    base = backbone.get('base_channels', 64)
    base_width = backbone.get('base_width', 26)
    return [
        int(math.floor(base * 2**stage * (base_width / base)))
        for stage in range(backbone.get('num_stages', 4))
    ]


def _res2net_recipe(backbone: dict, scale: Callable[[int], int],
                    width: float, divisor: int, min_channels: int) -> dict:
    """mmpretrain ``Res2Net``: as ``ResNet``, and ``base_width`` narrows
    (stage ``i`` splits into runs of ``base_width * 2**i`` channels, each
    of which the teacher narrows on its own), where that gives every
    stage's narrowed runs."""
    whole = copy.deepcopy(backbone)
    backbone = _resnet_recipe(backbone, scale, width, divisor, min_channels)
    backbone['base_width'] = scale(whole.get('base_width', 26))
    wanted = [scale(run) for run in _res2net_runs(whole)]
    built = _res2net_runs(backbone)
    if built != wanted:
        raise WidthExportError(
            f'Res2Net at width {width:g}: the slimmable teacher keeps runs of '
            f'{wanted} channels per stage (each stage\'s runs of '
            f'{_res2net_runs(whole)} narrowed on their own), while '
            f'base_width {backbone["base_width"]} builds runs of {built} '
            '(base_width * 2**stage): no base_width gives them')
    return backbone


def _mobilenet_v2_recipe(backbone: dict, scale: Callable[[int], int],
                         width: float, divisor: int,
                         min_channels: int) -> dict:
    """mmpretrain ``MobileNetV2``: ``widen_factor`` times ``width``."""
    backbone['widen_factor'] = backbone.get('widen_factor', 1.0) * width
    return backbone


def _arch_dict(backbone: dict, settings_attr: str) -> dict:
    """The backbone's ``arch`` as a dict (an arch name is looked up in the
    backbone class's table ``settings_attr``)."""
    arch = backbone.get('arch')
    if isinstance(arch, str) or arch is None:
        cls = MMPRETRAIN_MODELS.get(type_name(backbone['type']))
        table = getattr(cls, settings_attr)
        if arch is None:  # the class's default arch
            arch = inspect.signature(cls).parameters['arch'].default
        arch = table[arch]
    return copy.deepcopy(dict(arch))


def _arch_key_recipe(settings_attr: str, *keys: str) -> Callable:
    """The recipe of a backbone narrowed by entries of its arch: each of
    ``keys`` (a channel count, or one per stage) scaled, the rest following
    them.

    ConvNeXt's stage ``channels`` (the blocks' expanded channels follow as
    ``mlp_ratio`` times them), VAN's stage ``embed_dims`` (the MLPs' hidden
    channels as ``ffn_ratios`` times them), HorNet's ``base_dim`` (the
    stages double it, each gnConv halves it order by order), MViT's
    ``embed_dims`` (the stages double it; each head's dims follow it),
    MLP-Mixer's ``embed_dims`` and both FFNs' hidden features (the token
    count stays).
    """

    def recipe(backbone: dict, scale: Callable[[int], int], width: float,
               divisor: int, min_channels: int) -> dict:
        arch = _arch_dict(backbone, settings_attr)
        for key in keys:
            value = arch[key]
            arch[key] = ([scale(c) for c in value] if isinstance(
                value, (list, tuple)) else scale(value))
        backbone['arch'] = arch
        return backbone

    return recipe


def _densenet_recipe(backbone: dict, scale: Callable[[int], int],
                     width: float, divisor: int, min_channels: int) -> dict:
    """mmpretrain ``DenseNet``: ``growth_rate`` and ``init_channels`` of its
    arch (every concatenated part keeps its share)."""
    arch = _arch_dict(backbone, 'arch_settings')
    arch['growth_rate'] = scale(arch['growth_rate'])
    arch['init_channels'] = scale(arch['init_channels'])
    backbone['arch'] = arch
    return backbone


def _mobileone_recipe(backbone: dict, scale: Callable[[int], int],
                      width: float, divisor: int, min_channels: int) -> dict:
    """mmpretrain ``MobileOne``: the ``width_factor`` of every stage."""
    arch = _arch_dict(backbone, 'arch_zoo')
    arch['width_factor'] = [f * width for f in arch['width_factor']]
    backbone['arch'] = arch
    return backbone


def _vit_recipe(backbone: dict, scale: Callable[[int], int], width: float,
                divisor: int, min_channels: int) -> dict:
    """mmpretrain ``VisionTransformer`` / ``DistilledVisionTransformer`` /
    ``DeiT3`` / ``BEiTViT`` / ``RevVisionTransformer`` / ``ViTEVA02``:
    the ``num_heads`` of its arch (each head keeps its ``head_dims``), the
    ``embed_dims`` they give and the ``feedforward_channels``."""
    if isinstance(backbone.get('arch'), str):
        backbone['arch'] = backbone['arch'].lower()
    arch = _arch_dict(backbone, 'arch_zoo')
    head_dims = arch['embed_dims'] // arch['num_heads']
    heads = slim_heads(arch['num_heads'], head_dims, width, divisor,
                       min_channels)
    arch.update(
        embed_dims=heads * head_dims,
        num_heads=heads,
        feedforward_channels=scale(arch['feedforward_channels']))
    backbone['arch'] = arch
    return backbone


def _xcit_recipe(backbone: dict, scale: Callable[[int], int], width: float,
                 divisor: int, min_channels: int) -> dict:
    """mmpretrain ``XCiT``: its ``num_heads`` (each head keeps its
    dims) and the ``embed_dims`` they give; its patch embedding and FFNs
    follow ``embed_dims`` by their ratios."""
    embed_dims = backbone.get('embed_dims', 768)
    num_heads = backbone.get('num_heads', 12)
    heads = slim_heads(num_heads, embed_dims // num_heads, width, divisor,
                       min_channels)
    backbone.update(embed_dims=heads * (embed_dims // num_heads),
                    num_heads=heads)
    return backbone


def _t2t_recipe(backbone: dict, scale: Callable[[int], int], width: float,
                divisor: int, min_channels: int) -> dict:
    """mmpretrain ``T2T_ViT``: the encoder layers' ``num_heads`` (each head
    keeps its dims), the ``embed_dims`` they give and their
    ``feedforward_channels``; the tokens-to-token module's ``token_dims``
    (its single-head attentions and their FFNs narrow with it)."""
    embed_dims = backbone.get('embed_dims', 384)

    def layer_at_width(layer_cfg: dict) -> dict:
        num_heads = layer_cfg.get('num_heads', 6)
        return dict(
            layer_cfg,
            num_heads=slim_heads(num_heads, embed_dims // num_heads, width,
                                 divisor, min_channels),
            feedforward_channels=scale(
                layer_cfg.get('feedforward_channels', 3 * embed_dims)))

    whole = backbone.get('layer_cfgs', {})
    layers = layer_at_width(whole) if isinstance(whole, dict) else [
        layer_at_width(layer_cfg) for layer_cfg in whole
    ]
    first_whole, first = (whole, layers) if isinstance(whole, dict) else (
        whole[0], layers[0])
    head_dims = embed_dims // first_whole.get('num_heads', 6)
    t2t_cfg = dict(backbone.get('t2t_cfg', {}))
    t2t_cfg['token_dims'] = scale(t2t_cfg.get('token_dims', 64))
    backbone.update(embed_dims=first['num_heads'] * head_dims,
                    layer_cfgs=layers, t2t_cfg=t2t_cfg)
    return backbone


def _swin_recipe(backbone: dict, scale: Callable[[int], int], width: float,
                 divisor: int, min_channels: int) -> dict:
    """mmpretrain ``SwinTransformer``: the first stage's ``num_heads`` (each
    head keeps its ``head_dims``), the ``embed_dims`` they give, and every
    stage's heads in the same ratio (a patch merging doubles the
    channels)."""
    if isinstance(backbone.get('arch'), str):
        backbone['arch'] = backbone['arch'].lower()
    arch = _arch_dict(backbone, 'arch_zoo')
    heads = list(arch['num_heads'])
    head_dims = arch['embed_dims'] // heads[0]
    first = slim_heads(heads[0], head_dims, width, divisor, min_channels)
    arch.update(
        embed_dims=first * head_dims,
        num_heads=[first * count // heads[0] for count in heads])
    backbone['arch'] = arch
    return backbone


def _swin_outputs(whole: dict, narrow: dict) -> Dict[int, int]:
    """Swin's last stage channels, whole -> at the width (what its neck and
    head read)."""
    if isinstance(whole.get('arch'), str):
        whole = dict(whole, arch=whole['arch'].lower())
    last = 2**(len(narrow['arch']['num_heads']) - 1)
    return {
        _arch_dict(whole, 'arch_zoo')['embed_dims'] * last:
        narrow['arch']['embed_dims'] * last
    }


def _two_stream_outputs(whole: dict, narrow: dict) -> Dict[int, int]:
    """RevViT's output features, whole -> at the width: its two streams'
    embeddings, concatenated (``fusion_mode='concat'``, the default) or
    fused into one."""
    if isinstance(whole.get('arch'), str):
        whole = dict(whole, arch=whole['arch'].lower())
    streams = 2 if whole.get('fusion_mode', 'concat') == 'concat' else 1
    return {
        _arch_dict(whole, 'arch_zoo')['embed_dims'] * streams:
        narrow['arch']['embed_dims'] * streams
    }


#: backbone type -> its output channels, whole -> at the width, from the
#: whole and the narrow backbone configs (where ``scale`` does not give
#: them).
_OUTPUTS = {
    'SwinTransformer': _swin_outputs,
    'RevVisionTransformer': _two_stream_outputs,
    'HiViT': hivit_outputs,
}


def _token_head(head: dict, backbone: dict,
                scale: Callable[[int], int]) -> dict:
    """A ViT / DeiT head at the backbone's width: its input is the
    embedding, its ``pre_logits`` layer (``hidden_dim``) narrows by
    ``scale``."""
    head = copy.deepcopy(head)
    head['in_channels'] = backbone['arch']['embed_dims'] if isinstance(
        backbone.get('arch'), dict) else backbone['embed_dims']
    if head.get('hidden_dim') is not None:
        head['hidden_dim'] = scale(head['hidden_dim'])
    return head


def _plugin_recipe(backbone: dict, scale: Callable[[int], int], width: float,
                   divisor: int, min_channels: int) -> dict:
    """The plugin's CIFAR backbones narrow every layer with the mutator's
    own rule (``width_ratio``, ``width_divisor``, ``width_min_channels``)."""
    if backbone.get('width_ratio', 1.0) != 1.0:
        raise WidthExportError(
            f'backbone {backbone["type"]!r} is already narrowed '
            f'(width_ratio={backbone["width_ratio"]!r}); a slimmable teacher '
            'is expected to be built on the whole network')
    backbone.update(
        width_ratio=float(width),
        width_divisor=divisor,
        width_min_channels=min_channels)
    return backbone


#: backbone type (without registry scope) -> (recipe, what it scales). A
#: recipe takes the whole width's backbone config (a copy), the channel rule
#: ``scale(n)`` of the teacher, the width, the divisor and min_channels, and
#: returns the backbone config at that width.
WIDTH_RECIPES: Dict[str, Tuple[Callable, str]] = {
    'ResNet': (_resnet_recipe, 'stem_channels, base_channels'),
    'ResNet_CIFAR': (_resnet_recipe, 'stem_channels, base_channels'),
    'ResNetV1c': (_resnet_recipe, 'stem_channels, base_channels'),
    'ResNetV1d': (_resnet_recipe, 'stem_channels, base_channels'),
    'ResNeXt': (_resnext_recipe,
                'stem_channels, base_channels, width_per_group (the group '
                'count stays)'),
    'Res2Net': (_res2net_recipe,
                'stem_channels, base_channels, base_width (where every '
                "stage's runs narrow to base_width * 2**stage)"),
    'MobileNetV2': (_mobilenet_v2_recipe,
                    'widen_factor; in practice exact only at width 1.0: '
                    'mmpretrain rounds every layer to a multiple of 8 its own '
                    'way and keeps the last 1x1 conv at 1280 channels for '
                    'widen_factor <= 1, where the slimmable teacher narrows '
                    'it'),
    'ConvNeXt': (_arch_key_recipe('arch_settings', 'channels'),
                 'arch channels'),
    'DenseNet': (_densenet_recipe, 'arch growth_rate, init_channels'),
    'VAN': (_arch_key_recipe('arch_zoo', 'embed_dims'), 'arch embed_dims'),
    'HorNet': (_arch_key_recipe('arch_zoo', 'base_dim'), 'arch base_dim'),
    'MViT': (_arch_key_recipe('arch_zoo', 'embed_dims'),
             'arch embed_dims (every head keeps embed_dims // num_heads of '
             'its dims, the head count stays)'),
    'MlpMixer': (_arch_key_recipe('arch_zoo', 'embed_dims', 'tokens_mlp_dims',
                                  'channels_mlp_dims'),
                 'arch embed_dims, tokens_mlp_dims, channels_mlp_dims (the '
                 'token count stays)'),
    'MobileOne': (_mobileone_recipe,
                  'arch width_factor; not exact with squeeze-excitation '
                  'blocks (MobileOne-S4), whose squeeze channels mmpretrain '
                  'rounds up to 8'),
    **dict.fromkeys(
        ('VisionTransformer', 'DistilledVisionTransformer', 'DeiT3',
         'BEiTViT', 'ViTEVA02'),
        (_vit_recipe, 'arch embed_dims, num_heads (whole heads of '
         'head_dims), feedforward_channels; the head\'s in_channels and '
         'hidden_dim')),
    'RevVisionTransformer': (_vit_recipe,
                             'arch embed_dims, num_heads (whole heads of '
                             'head_dims), feedforward_channels; the head\'s '
                             'in_channels (both streams\' embeddings)'),
    'T2T_ViT': (_t2t_recipe,
                'embed_dims, layer_cfgs num_heads (whole heads of their '
                'dims) and feedforward_channels, t2t_cfg token_dims; the '
                "head's in_channels"),
    'XCiT': (_xcit_recipe, 'embed_dims and num_heads (whole heads of their '
             'dims)'),
    'SwinTransformer': (_swin_recipe,
                        'arch embed_dims and num_heads (whole heads of '
                        'head_dims, every stage in the first stage\'s '
                        'ratio)'),
    'HiViT': (hivit_recipe,
              'arch embed_dims and num_heads (whole heads of their dims), '
              'mlp_ratio, stem_mlp_ratio (where the early stages narrow to '
              'embed_dims // 2**k)'),
    'CIFARResNet': (_plugin_recipe, 'width_ratio'),
    'CIFARVGG': (_plugin_recipe, 'width_ratio'),
    'CIFARWideResNet': (_plugin_recipe, 'width_ratio'),
}

#: backbone type -> why its config cannot be given another width.
NO_RECIPE_REASONS = {
    **dict.fromkeys(('Vig', 'PyramidVig'),
                    "its arch is one of mmpretrain's named tables, read as "
                    'self.arch_settings[arch] (an arch dict fails: '
                    "unhashable), and its position embedding is built for "
                    '224x224 inputs; no argument narrows its channels'),
    'RegNet': ('its stage widths come from a quantised formula of w0, wa, '
               'wm and group_w, which no arguments make give the slimmed '
               'counts'),
    'EfficientNet': ('its arch names a fixed table of widen and deepen '
                     'factors; no argument narrows it alone'),
    'EfficientNetV2': ('its arch is a table of (expand ratio, channels) '
                       'rows whose mmpretrain rounding differs'),
    'ShuffleNetV2': ('its widen_factor is one of 0.5, 1.0, 1.5, 2.0, which '
                     'cannot express arbitrary widths'),
    'TIMMBackbone': ('timm builds the model by name; no argument narrows '
                     'it'),
    'LeViT': ("its arch is one of mmpretrain's named tables ('128s' to "
              "'384'): an arch dict fails in mmpretrain 1.x (it asserts "
              "the keys embed_dim, num_heads, depth, key_dim, then reads "
              "embed_dims, num_heads, depths, key_dims), though one would "
              'express every width'),
    **dict.fromkeys(('PCPVT', 'SVT'),
                    "its attentions' heads span each stage's embedding "
                    '(embed_dims // num_heads features each, read from the '
                    'tokens), so no arch gives a stage fewer token features '
                    "than its whole heads keep (Twins-SVT-S's first stage at "
                    'width 0.25: 16 features, one head of 32)'),
    'DaViT': ("its attentions' heads span each stage's embedding "
              '(embed_dims // num_heads features each, read from the '
              'tokens), so no arch gives a stage fewer token features than '
              "its whole heads keep (DaViT-tiny's first stage at width "
              '0.25: 24 features, one head of 32)'),
    **dict.fromkeys(('CSPDarkNet', 'CSPResNet', 'CSPResNeXt'),
                    'its channels are fixed by its depth; no argument '
                    'narrows them'),
    'EdgeNeXt': ("an SDTA block splits its channels into ceil(channels / "
                 "d2_scales) chunks and gives its channel attention "
                 "channels // num_heads dims per head and a square proj, "
                 "while the slimmable teacher narrows each chunk on its own "
                 "and the attention by whole heads (their dims kept): at "
                 "width 0.25 EdgeNeXt-XXS's stage 2 has 23 channels (chunks "
                 "8, 8, 7, not 22) with one head of 22 (qkv (66, 23), proj "
                 "(23, 22)), its stage 3 44 channels (not 42) with one head "
                 "of 42, so its head reads 44; width 0.75 likewise (67 and "
                 "128 channels, heads of 66 and 126 features); only width "
                 "0.5 is expressible (channels [12, 24, 44, 84], num_heads "
                 "[2, 2, 2, 2])"),
    'ResNeSt': ('its split attentions build max(channels * radix // '
                'reduction_factor, 32) attention channels (fc1), while the '
                'slimmable teacher narrows them with the width: at width '
                "0.25 ResNeSt-50's first two stages keep 8 and 16 of their "
                '32 and 64, where a ResNeSt of base_channels 16 builds 32 in '
                'both; at 0.5 and 0.75 its first stage keeps 16 and 24, '
                'where the arch builds 32'),
    'MobileViT': ('its MobileViT blocks build their attentions with 4 '
                  'heads (make_mobilevit_layer passes no num_heads; the '
                  'arch rows have none), while the slimmable teacher keeps '
                  "each head's dims and narrows the heads: at width 0.25 "
                  "MobileViT-XXS's first MobileViT block has one head of 16 "
                  'features where an arch of the same channels (every shape '
                  'equal) has 4 heads of 4, and that attention\'s output on '
                  'a unit normal input differs by 0.0081 (of 0.14); 0.022 '
                  'at width 0.5 (2 heads), 0.042 at 0.75 (3 heads). '
                  "Untrained, the network's logits differ by only 4e-9 at "
                  '0.25 (its attentions are near uniform), which an export '
                  'check of untrained weights would miss'),
    'EfficientFormer': ('its Meta3D blocks build AttentionWithBias(dim) '
                        'with 8 heads of key_dim 32 and 128 value dims (the '
                        'arch has no heads), while the slimmable teacher '
                        'narrows the heads: at width 0.25 EfficientFormer-L1 '
                        'keeps 2 heads (attention_biases (2, 49), qkv (384, '
                        '112), proj (112, 256)) where an arch of embed_dims '
                        '[12, 24, 56, 112] gives (8, 49), (1536, 112) and '
                        '(112, 1024); 4 and 6 heads at widths 0.5 and 0.75'),
    'TinyViT': ("its blocks' attentions have channels // num_heads dims per "
                'head (asserted divisible) and a square projection, while '
                "the slimmable teacher keeps each head's dims (32 in "
                'TinyViT-5M) and narrows the heads half up, so an attention '
                'spans other features than its stage\'s channels: at width '
                '0.25 TinyViT-5M\'s stage 2 has 40 channels with one head '
                'of 32 (qkv (96, 40), proj (40, 32)), its stage 3 80 '
                'channels with 3 heads (96 features); at 0.5 stage 2 has 80 '
                'channels with 3 heads (96), at 0.75 stages 2 and 3 have '
                '120 and 240 channels with 4 and 8 heads (128, 256)'),
}

#: backbones whose head reads their token embedding (see ``_token_head``).
_TOKEN_HEAD_BACKBONES = ('VisionTransformer', 'DistilledVisionTransformer',
                         'DeiT3', 'T2T_ViT', 'BEiTViT', 'ViTEVA02')

#: channel arguments of necks and heads that the teacher narrows.
_CHANNEL_KEYS = ('in_channels', 'mid_channels', 'hid_channels',
                 'out_channels')

def supported_backbones() -> str:
    """The backbones with a width recipe, as a sentence for messages."""
    names = ', '.join(sorted(WIDTH_RECIPES))
    return (f'width recipes exist for: {names}. Backbones whose arguments '
            'cannot give every layer the slimmable channel counts have none '
            "(e.g. ShuffleNetV2, whose fixed widen factors 0.5/1.0/1.5/2.0 "
            'cannot express arbitrary widths)')


def _scale_channel_args(cfg: Optional[dict],
                        scale: Callable[[int], int]) -> Optional[dict]:
    if cfg is None:
        return None
    cfg = copy.deepcopy(cfg)
    for key in _CHANNEL_KEYS:
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            cfg[key] = scale(value)
        elif isinstance(value, (list, tuple)) and all(
                isinstance(v, int) for v in value):
            cfg[key] = type(value)(scale(v) for v in value)
    return cfg


def static_classifier_config(classifier: dict, width: float, divisor: int = 1,
                             min_channels: int = 1) -> dict:
    """The classifier config at ``width``, from the whole width's one.

    Args:
        classifier (dict): The whole width's classifier config (the
            slimmable teacher's ``architecture``).
        width (float): The width ratio.
        divisor (int): The teacher's channel divisor. Defaults to 1.
        min_channels (int): The teacher's least channels. Defaults to 1.

    Returns:
        dict: The classifier config at ``width``.

    Raises:
        WidthExportError: The backbone has no width recipe (and ``width`` is
            not 1.0).
    """
    classifier = copy.deepcopy(dict(classifier))
    if width >= 1:
        return classifier

    def scale(num_channels: int) -> int:
        return slim_channels(num_channels, width, divisor, min_channels)

    backbone = copy.deepcopy(dict(classifier['backbone']))
    whole_backbone = copy.deepcopy(backbone)
    name = type_name(backbone.get('type'))
    if name not in WIDTH_RECIPES:
        why = NO_RECIPE_REASONS.get(name)
        raise WidthExportError(
            f'no width recipe for backbone type {name!r}: an ordinary config '
            f'of it cannot be given width {width:g}'
            f'{" (" + why + ")" if why else ""}; {supported_backbones()}')
    recipe, _ = WIDTH_RECIPES[name]
    classifier['backbone'] = recipe(backbone, scale, width, divisor,
                                    min_channels)
    if name in _TOKEN_HEAD_BACKBONES and classifier.get('neck') is None \
            and isinstance(classifier.get('head'), dict):
        classifier['head'] = _token_head(classifier['head'],
                                         classifier['backbone'], scale)
        return classifier
    outputs = _OUTPUTS[name](whole_backbone, classifier['backbone']) \
        if name in _OUTPUTS else {}

    def reader_scale(num_channels: int) -> int:
        return outputs.get(num_channels, scale(num_channels))

    for key in ('neck', 'head'):
        if classifier.get(key) is not None:
            if isinstance(classifier[key], (list, tuple)):
                classifier[key] = [
                    _scale_channel_args(part, reader_scale)
                    for part in classifier[key]
                ]
            else:
                classifier[key] = _scale_channel_args(classifier[key],
                                                      reader_scale)
    return classifier
