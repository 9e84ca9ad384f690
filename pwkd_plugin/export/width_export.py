"""Taking a width out of a slimmable teacher.

:func:`export_width` turns a checkpoint of a slimmable teacher (a classifier
config with a ``slimmable`` block, see :mod:`.slimmable_block`) at one of its
widths into an ordinary mmpretrain classifier: a Python config whose
backbone / neck / head arguments give exactly the channel counts of that
width, and a checkpoint of its weights (the first channels of every layer and
that width's private batch norms). Plain mmpretrain loads the pair with
``load_checkpoint(..., strict=True)``; the plugin is needed only to build the
plugin's own backbones (``CIFARResNet``, ``CIFARVGG``, ``CIFARWideResNet``).

How a backbone config expresses a width is a *width recipe*
(:data:`WIDTH_RECIPES`). Every export is verified: the exported config's
model is built and every parameter and buffer name and shape is compared with
the deployed network, and the two networks' outputs on a fixed input are
compared; any difference is an error (:class:`WidthExportError`) naming the
backbone, the first mismatching parameter and its two shapes.
"""
import copy
import inspect
import logging
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from ..models.mutators.transformer_units import slim_heads
from ..models.utils import (DEFAULT_WIDTHS, check_widths, quiet_logger,
                            slim_channels)
from .ordinary_config import (WidthExportError, build_classifier,
                              ordinary_config_text, refuse_existing,
                              strip_model_scope, type_name,
                              write_config_and_checkpoint)
from .slimmable_block import (SLIMMABLE_MODEL_TYPES, check_slimmable_block,
                              expand_slimmable_test)


# ---------------------------------------------------------------------------
# Width recipes: backbone config at the whole width -> config at ``width``.
# ---------------------------------------------------------------------------
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


def _convnext_recipe(backbone: dict, scale: Callable[[int], int],
                     width: float, divisor: int, min_channels: int) -> dict:
    """mmpretrain ``ConvNeXt``: the stage ``channels`` of its arch (the
    blocks' expanded channels follow as ``mlp_ratio`` times them)."""
    arch = _arch_dict(backbone, 'arch_settings')
    arch['channels'] = [scale(c) for c in arch['channels']]
    backbone['arch'] = arch
    return backbone


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
    """mmpretrain ``VisionTransformer`` / ``DistilledVisionTransformer``:
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


def _token_head(head: dict, backbone: dict,
                scale: Callable[[int], int]) -> dict:
    """A ViT / DeiT head at the backbone's width: its input is the
    embedding, its ``pre_logits`` layer (``hidden_dim``) narrows by
    ``scale``."""
    head = copy.deepcopy(head)
    head['in_channels'] = backbone['arch']['embed_dims']
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
    'MobileNetV2': (_mobilenet_v2_recipe,
                    'widen_factor; in practice exact only at width 1.0: '
                    'mmpretrain rounds every layer to a multiple of 8 its own '
                    'way and keeps the last 1x1 conv at 1280 channels for '
                    'widen_factor <= 1, where the slimmable teacher narrows '
                    'it'),
    'ConvNeXt': (_convnext_recipe, 'arch channels'),
    'DenseNet': (_densenet_recipe, 'arch growth_rate, init_channels'),
    'MobileOne': (_mobileone_recipe,
                  'arch width_factor; not exact with squeeze-excitation '
                  'blocks (MobileOne-S4), whose squeeze channels mmpretrain '
                  'rounds up to 8'),
    **dict.fromkeys(
        ('VisionTransformer', 'DistilledVisionTransformer'),
        (_vit_recipe, 'arch embed_dims, num_heads (whole heads of '
         'head_dims), feedforward_channels; the head\'s in_channels and '
         'hidden_dim')),
    'SwinTransformer': (_swin_recipe,
                        'arch embed_dims and num_heads (whole heads of '
                        'head_dims, every stage in the first stage\'s '
                        'ratio)'),
    'CIFARResNet': (_plugin_recipe, 'width_ratio'),
    'CIFARVGG': (_plugin_recipe, 'width_ratio'),
    'CIFARWideResNet': (_plugin_recipe, 'width_ratio'),
}

#: backbone type -> why its config cannot be given another width.
NO_RECIPE_REASONS = {
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
    **dict.fromkeys(('CSPDarkNet', 'CSPResNet', 'CSPResNeXt'),
                    'its channels are fixed by its depth; no argument '
                    'narrows them'),
}

#: backbones whose head reads their token embedding (see ``_token_head``).
_TOKEN_HEAD_BACKBONES = ('VisionTransformer', 'DistilledVisionTransformer')

#: channel arguments of necks and heads that the teacher narrows.
_CHANNEL_KEYS = ('in_channels', 'mid_channels', 'hid_channels',
                 'out_channels')

#: largest output difference an export may have.
TOLERANCE = 1e-5


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
    outputs = _swin_outputs(whole_backbone, classifier['backbone']) \
        if name == 'SwinTransformer' else {}

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


def compare_state_shapes(static: Dict[str, torch.Tensor],
                         deployed: Dict[str, torch.Tensor],
                         backbone_type: str) -> None:
    """Raise unless two state dicts have the same names and shapes.

    Args:
        static (dict): The exported config's model state dict.
        deployed (dict): The deployed slimmable network's state dict.
        backbone_type (str): Named in the error.

    Raises:
        WidthExportError: Naming the first mismatching parameter or buffer
            and its two shapes.
    """
    problem = None
    for name, tensor in deployed.items():
        if name not in static:
            problem = (f'{name!r} is missing from the exported config\'s '
                       f'model (deployed shape {tuple(tensor.shape)})')
        elif tuple(static[name].shape) != tuple(tensor.shape):
            problem = (f'{name!r} has shape {tuple(static[name].shape)} in '
                       f'the exported config\'s model but '
                       f'{tuple(tensor.shape)} in the deployed network')
        if problem:
            break
    if problem is None:
        extra = [name for name in static if name not in deployed]
        if extra:
            problem = (f'{extra[0]!r} (shape {tuple(static[extra[0]].shape)}'
                       ') of the exported config\'s model is not in the '
                       'deployed network')
    if problem is not None:
        recipe = WIDTH_RECIPES.get(backbone_type)
        sets = f' (it sets {recipe[1]})' if recipe else ''
        raise WidthExportError(
            f'the width recipe of backbone {backbone_type!r}{sets} does not '
            f'reproduce the deployed network: {problem}; '
            f'{supported_backbones()}')


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------
def _load_config(cfg: Union[str, Config]) -> Tuple[Config, Optional[str]]:
    if isinstance(cfg, Config):
        return copy.deepcopy(cfg), (osp.abspath(cfg.filename)
                                    if cfg.filename else None)
    if not isinstance(cfg, str) or not osp.isfile(cfg):
        raise WidthExportError(f'config must be a Config or an existing '
                               f'config file, got {cfg!r}')
    return Config.fromfile(cfg), osp.abspath(cfg)


def _slimmable_settings(cfg: Config) -> Tuple[ConfigDict, tuple]:
    """The expanded SlimmableTeacher model config and the input shape."""
    if cfg.get('slimmable') is not None:
        settings = check_slimmable_block(
            cfg.slimmable, for_training=False)
        expanded = expand_slimmable_test(copy.deepcopy(cfg))
        return expanded.model, tuple(settings['input_shape'])
    model = cfg.get('model') or {}
    model_type = type_name(model.get('type'))
    if model_type != 'SlimmableTeacher':
        known = ' (only SlimmableTeacher models can be exported)' \
            if model_type in SLIMMABLE_MODEL_TYPES else ''
        raise WidthExportError(
            'the config is not a slimmable teacher: it has no `slimmable` '
            f'block and its model is {model.get("type")!r}{known}')
    model = copy.deepcopy(model)
    model['init_from'] = None
    demo = model.get('mutator', {}).get('parse_cfg', {}).get('demo_input')
    shape = tuple(demo[1:]) if demo else (3, 32, 32)
    return model, shape


def model_complexity(model: nn.Module,
                     input_shape: Sequence[int]) -> Dict[str, int]:
    """Parameters and FLOPs of a classifier on one ``input_shape`` image.

    Args:
        model (nn.Module): A classifier whose ``forward(inputs)`` gives its
            output (``mode='tensor'``).
        input_shape (Sequence[int]): ``(C, H, W)``.

    Returns:
        dict: ``params`` and ``flops`` (mmengine's
        ``get_model_complexity_info``; multiply-adds).
    """
    from mmengine.analysis import get_model_complexity_info
    was_training = model.training
    model.eval()
    try:
        # The counter warns about every operator it does not count (batch
        # norms, additions, pooling): FLOPs are those of convs and linears.
        with quiet_logger(logging.ERROR):
            info = get_model_complexity_info(
                model,
                input_shape=tuple(input_shape),
                show_table=False,
                show_arch=False)
    finally:
        model.train(was_training)
    return dict(params=int(info['params']), flops=int(info['flops']))


def whole_width_complexity(
        cfg: Union[str, Config],
        input_shape: Optional[Sequence[int]] = None) -> Dict[str, int]:
    """:func:`model_complexity` of a slimmable teacher's whole width.

    Args:
        cfg (str | Config): The teacher's config, as for
            :func:`export_width`.
        input_shape (Sequence[int], optional): ``(C, H, W)``; defaults as
            for :func:`export_width`.

    Returns:
        dict: ``params`` and ``flops`` of the ordinary classifier at width
        1.0.
    """
    source, _ = _load_config(cfg)
    teacher_cfg, default_shape = _slimmable_settings(source)
    classifier = strip_model_scope(teacher_cfg['architecture'])
    classifier.pop('data_preprocessor', None)
    return model_complexity(
        build_classifier(classifier), tuple(input_shape or default_shape))


def _out_paths(out_dir: str, stem: str, width: float) -> Tuple[str, str]:
    name = f'{stem}_width{width:g}'.replace('.', '_')
    return (osp.join(out_dir, name + '.py'), osp.join(out_dir, name + '.pth'))


# ---------------------------------------------------------------------------
# The export.
# ---------------------------------------------------------------------------
def export_width(cfg: Union[str, Config],
                 checkpoint: str,
                 width: float,
                 out_dir: str,
                 input_shape: Optional[Sequence[int]] = None) -> dict:
    """Export one width of a slimmable teacher as an ordinary classifier.

    Args:
        cfg (str | Config): The teacher's config: a classifier config with a
            ``slimmable`` block, or its expansion (a ``SlimmableTeacher``
            model).
        checkpoint (str): A checkpoint of that teacher.
        width (float): One of the teacher's widths.
        out_dir (str): Where to write ``<config>_width<w>.py`` and
            ``<config>_width<w>.pth``; created if missing. Existing files are
            never overwritten.
        input_shape (Sequence[int], optional): ``(C, H, W)`` for the output
            check and the FLOPs. Defaults to the slimmable block's
            ``input_shape`` (the tracer's input of an expanded config).

    Returns:
        dict: ``config`` and ``checkpoint`` (the written paths), ``params``
        and ``flops`` of the exported network, ``width`` and
        ``input_shape``.

    Raises:
        WidthExportError: The config is not a slimmable teacher's, ``width``
            is not one of its widths, an output file exists, the backbone
            has no width recipe, or the exported network does not match the
            deployed one (names, shapes or outputs).
    """
    from mmengine.runner import load_checkpoint
    from mmrazor.models.architectures.dynamic_ops import DynamicMixin
    from mmrazor.registry import MODELS as RAZOR_MODELS

    source, source_config = _load_config(cfg)
    teacher_cfg, default_shape = _slimmable_settings(source)
    input_shape = tuple(input_shape or default_shape)
    if len(input_shape) != 3:
        raise WidthExportError(
            f'input_shape must be (C, H, W), got {input_shape!r}')

    mutator_cfg = teacher_cfg.get('mutator', {})
    widths = check_widths(mutator_cfg.get('widths', DEFAULT_WIDTHS))
    divisor = mutator_cfg.get('divisor', 1)
    min_channels = mutator_cfg.get('min_channels', 1)
    if not any(abs(w - float(width)) < 1e-9 for w in widths):
        raise WidthExportError(
            f'width {width!r} is not one of the teacher\'s widths '
            f'{list(widths)}')
    width = next(w for w in widths if abs(w - float(width)) < 1e-9)
    if not isinstance(checkpoint, str) or not osp.isfile(checkpoint):
        raise WidthExportError(
            f'checkpoint must be an existing file, got {checkpoint!r}')

    classifier = strip_model_scope(teacher_cfg['architecture'])
    classifier.pop('data_preprocessor', None)
    backbone_type = type_name(classifier['backbone'].get('type'))
    static_cfg = static_classifier_config(classifier, width, divisor,
                                          min_channels)

    stem = osp.splitext(osp.basename(source_config))[0] \
        if source_config else 'slimmable'
    config_path, ckpt_path = _out_paths(out_dir, stem, width)
    refuse_existing((config_path, ckpt_path))

    # The teacher, its weights, and the reference output at ``width``.
    with quiet_logger():
        teacher = RAZOR_MODELS.build(teacher_cfg)
        checkpoint_dict = load_checkpoint(
            teacher,
            checkpoint,
            map_location='cpu',
            strict=True,
            logger='current')
    teacher.eval()
    teacher.mutator.set_width(width)
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn((2, *input_shape), generator=generator)
    with torch.no_grad():
        expected = teacher(inputs, mode='tensor')

    # Deploy: fix the subnet, replace every dynamic op by a static one.
    teacher._deploy(teacher.mutator.width_index(width))
    deployed = teacher.architecture
    dynamic = [
        name for name, module in deployed.named_modules()
        if isinstance(module, DynamicMixin)
    ]
    if dynamic:
        raise WidthExportError(
            f'deploying width {width:g} left dynamic modules {dynamic[:3]}')
    state = OrderedDict(
        (name, tensor.detach().cpu().clone().contiguous())
        for name, tensor in deployed.state_dict().items())

    # The exported config's model must be the deployed network.
    plain = build_classifier(static_cfg)
    compare_state_shapes(plain.state_dict(), state, backbone_type)
    plain.load_state_dict(state, strict=True)
    plain.eval()
    with torch.no_grad():
        actual = plain(inputs, mode='tensor')
    difference = (actual - expected).abs().max().item()
    if not difference <= TOLERANCE:
        raise WidthExportError(
            f'the exported {backbone_type} at width {width:g} differs from '
            f'the slimmable teacher by {difference:.3g} (> {TOLERANCE:g})')
    complexity = model_complexity(plain, input_shape)

    source_meta = (checkpoint_dict or {}).get('meta') or {}
    meta = dict(
        width=width,
        widths=list(widths),
        divisor=divisor,
        min_channels=min_channels,
        backbone=backbone_type,
        source_checkpoint=osp.abspath(checkpoint),
        source_config=source_config,
        exported_by='pwkd_plugin.apis.width_export.export_width')
    if source_meta.get('dataset_meta') is not None:
        meta['dataset_meta'] = source_meta['dataset_meta']

    text = ordinary_config_text(
        source, static_cfg, teacher_cfg.get('data_preprocessor'), [
            f'Width {width:g} of a slimmable teacher, exported as an '
            'ordinary', 'mmpretrain classifier by pwkd_plugin '
            '(tools/export_width.py).',
            f'Source config: {source_config or "(in memory)"}',
            f'Source checkpoint: {osp.abspath(checkpoint)}'
        ], load_from=osp.abspath(ckpt_path))
    write_config_and_checkpoint(config_path, ckpt_path, text, state, meta)
    return dict(
        config=config_path,
        checkpoint=ckpt_path,
        params=complexity['params'],
        flops=complexity['flops'],
        width=width,
        input_shape=input_shape)
