"""Taking a width out of a slimmable teacher.

:func:`export_width` turns a checkpoint of a slimmable teacher (a classifier
config with a ``slimmable`` block, see
:mod:`~pwkd_plugin.config_blocks.slimmable_block`) at one of its
widths into an ordinary mmpretrain classifier: a Python config whose
backbone / neck / head arguments give exactly the channel counts of that
width, and a checkpoint of its weights (the first channels of every layer and
that width's private batch norms). Plain mmpretrain loads the pair with
``load_checkpoint(..., strict=True)``; the plugin is needed only to build the
plugin's own backbones (``CIFARResNet``, ``CIFARVGG``, ``CIFARWideResNet``).

How a backbone config expresses a width is a *width recipe*
(:mod:`.width_recipes`). Every export is verified: the exported config's
model is built and every parameter and buffer name and shape is compared with
the deployed network, and the two networks' outputs on a fixed input are
compared; any difference is an error (:class:`WidthExportError`) naming the
backbone, the first mismatching parameter and its two shapes.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config

from ..models.utils import (DEFAULT_WIDTHS, build_classifier, check_widths,
                            quiet_logger, strip_model_scope, type_name)
from .complexity import model_complexity
from .ordinary_config import (WidthExportError, ordinary_config_text,
                              refuse_existing, write_config_and_checkpoint)
from .teacher_config import load_config, slimmable_settings
from .width_recipes import (WIDTH_RECIPES, static_classifier_config,
                            supported_backbones)

#: largest output difference an export may have.
TOLERANCE = 1e-5


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


def _out_paths(out_dir: str, stem: str, width: float) -> Tuple[str, str]:
    name = f'{stem}_width{width:g}'.replace('.', '_')
    return (osp.join(out_dir, name + '.py'), osp.join(out_dir, name + '.pth'))


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

    source, source_config = load_config(cfg)
    teacher_cfg, default_shape = slimmable_settings(source)
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
        exported_by='pwkd_plugin.export.width_export.export_width')
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
