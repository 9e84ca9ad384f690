"""Checks shared by the plugin's config blocks; errors name the key."""
import importlib
from numbers import Real


def check_keys(block: dict, allowed: dict, name: str) -> None:
    """Refuse keys a block does not know."""
    unknown = sorted(set(block) - set(allowed))
    if unknown:
        raise ValueError(f'{name}: unknown key(s) {unknown}; the keys are '
                         f'{sorted(allowed)}')


def check_positive_int(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{key} must be a positive integer, got {value!r}')
    return value


def check_positive_number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
        raise ValueError(f'{key} must be a positive number, got {value!r}')
    return float(value)


def check_bool(value, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f'{key} must be True or False, got {value!r}')
    return value


#: Backbones that need a package outside the pinned stack: (module, extra).
OPTIONAL_BACKBONES = {'TIMMBackbone': ('timm', 'timm')}


def check_slimmable_backbone(classifier, key: str) -> None:
    """Refuse a classifier config whose backbone needs a missing package.

    A slimmable timm backbone (mmpretrain's ``TIMMBackbone``, e.g. the
    RegNetY teacher of mmrazor's DeiT config) needs timm for its layers
    (``BatchNormAct2d``) to be switchable.

    Args:
        classifier (dict): A classifier config (may be anything else, e.g.
            a ``cfg_path`` teacher, which is not checked here).
        key (str): The config key, for the message.
    """
    backbone = classifier.get('backbone') if isinstance(classifier,
                                                        dict) else None
    if not isinstance(backbone, dict):
        return
    name = str(backbone.get('type', '')).split('.')[-1]
    if name not in OPTIONAL_BACKBONES:
        return
    package, extra = OPTIONAL_BACKBONES[name]
    try:
        importlib.import_module(package)
    except ImportError:
        raise ValueError(
            f'{key}.backbone is a {name}, which needs {package}, and it is '
            f'not installed: pip install "pwkd_plugin[{extra}]"') from None


#: Backbones whose features are token sequences ``(N, L, C)``, not feature
#: maps ``(N, C, H, W)``.
TOKEN_BACKBONES = ('VisionTransformer', 'DistilledVisionTransformer',
                   'SwinTransformer', 'SwinTransformerV2', 'DeiT3',
                   'BEiTViT', 'EVA02')


def _is_token_classifier(classifier) -> bool:
    backbone = classifier.get('backbone') if isinstance(classifier,
                                                        dict) else None
    return isinstance(backbone, dict) and str(backbone.get(
        'type', '')).split('.')[-1] in TOKEN_BACKBONES


def _unconnected_pairs(distiller: dict) -> list:
    """(loss, student arg, its recorder, teacher arg, its recorder) of every
    loss that compares a student and a teacher record with no connector."""
    pairs = []
    for loss, mapping in (distiller.get('loss_forward_mappings') or
                          {}).items():
        args = [(arg, spec) for arg, spec in (mapping or {}).items()
                if isinstance(spec, dict) and 'recorder' in spec]
        if any(spec.get('connector') for _, spec in args):
            continue
        for s_arg, s_spec in args:
            for t_arg, t_spec in args:
                if s_spec.get('from_student') and not t_spec.get(
                        'from_student'):
                    pairs.append((loss, s_arg, s_spec, t_arg, t_spec))
    return pairs


def _recorded_shapes(classifier: dict, sources: set, image_size: int) -> dict:
    """The shapes of the outputs (``ModuleOutputs``) of the modules
    ``sources`` of a classifier config, for one image."""
    import torch

    from ..models.utils import build_classifier, strip_model_scope
    classifier = strip_model_scope(classifier)
    classifier.pop('data_preprocessor', None)
    model = build_classifier(classifier).eval()
    shapes, handles = {}, []
    for name in sources:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            continue

        def hook(_, __, output, name=name):
            if isinstance(output, (tuple, list)):
                output = output[0]
            if isinstance(output, torch.Tensor):
                shapes[name] = tuple(output.shape)

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size), mode='tensor')
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def check_feature_losses(model: dict, key: str = 'model') -> None:
    """Refuse a feature loss between a transformer's tokens and a CNN's
    feature maps that no connector maps.

    Runs when a teacher and a student of which exactly one is a transformer
    (:data:`TOKEN_BACKBONES`) are distilled with a loss that compares a
    student record with a teacher record and has no connector, outside
    their heads: both classifiers are built and one image goes through
    them to find the recorded shapes (no data is loaded). Logit losses
    (the heads' outputs, ``(N, classes)`` on both sides) pass unbuilt.
    Give the configs without pre-trained weights to load.

    Args:
        model (dict): The distillation model config (``architecture``,
            ``teacher``, ``distiller``).
        key (str): The config key, for the message.

    Raises:
        ValueError: Naming the loss, both recorded modules and their shapes.
    """
    teacher, student = model.get('teacher'), model.get('architecture')
    distiller = model.get('distiller')
    if not all(isinstance(part, dict) and 'backbone' in part
               for part in (teacher, student)) or not isinstance(
                   distiller, dict):
        return
    if _is_token_classifier(teacher) == _is_token_classifier(student):
        return
    pairs = _unconnected_pairs(distiller)
    recorders = dict(
        student=distiller.get('student_recorders') or {},
        teacher=distiller.get('teacher_recorders') or {})

    def source(side, spec):
        recorder = recorders[side].get(spec['recorder']) or {}
        kind = str(recorder.get('type', '')).split('.')[-1]
        return recorder.get('source') if kind == 'ModuleOutputs' else None

    pairs = [(loss, s_arg, source('student', s), t_arg,
              source('teacher', t)) for loss, s_arg, s, t_arg, t in pairs]
    # Logits (the heads' outputs) have one layout on both sides.
    pairs = [
        pair for pair in pairs if pair[2] and pair[4]
        and not (pair[2].startswith('head') and pair[4].startswith('head'))
    ]
    if not pairs:
        return
    transformer = teacher if _is_token_classifier(teacher) else student
    image_size = transformer['backbone'].get('img_size', 224)
    if not isinstance(image_size, int):
        image_size = image_size[0]
    try:
        shapes = dict(
            student=_recorded_shapes(student, {p[2] for p in pairs},
                                     image_size),
            teacher=_recorded_shapes(teacher, {p[4] for p in pairs},
                                     image_size))
    except Exception:  # a model this check cannot build is built later
        return
    for loss, s_arg, s_source, t_arg, t_source in pairs:
        s_shape = shapes['student'].get(s_source)
        t_shape = shapes['teacher'].get(t_source)
        if s_shape is None or t_shape is None or len(s_shape) == len(
                t_shape):
            continue
        layout = {3: 'tokens (N, L, C)', 4: 'a feature map (N, C, H, W)'}
        raise ValueError(
            f'{key}.distiller.loss_forward_mappings.{loss} compares the '
            f"student's '{s_source}' ({s_arg}: "
            f"{layout.get(len(s_shape), 'a tensor')} of shape {s_shape}) "
            f"with the teacher's '{t_source}' ({t_arg}: "
            f"{layout.get(len(t_shape), 'a tensor')} of shape {t_shape}) "
            'without a connector: a transformer\'s token features are not '
            'a CNN\'s feature map. Give one side a connector that maps '
            f'them (loss_forward_mappings.{loss}.<arg>.connector, with the '
            'connector in distiller.connectors), or distil the logits')


def refuse_sync_bn(cfg, block: str) -> None:
    """Refuse ``sync_bn`` in a run with a slimmable network.

    mmengine's ``convert_sync_batchnorm`` replaces every ``_BatchNorm``,
    mmrazor's ``SwitchableBatchNorm2d`` (one batch norm per width) too, by
    one ``SyncBatchNorm`` of the whole width: every narrower width then
    fails on a channel mismatch.

    Args:
        cfg (Config): The config.
        block (str): The plugin block of the run, for the message.

    Raises:
        ValueError: Naming ``sync_bn`` and why.
    """
    if cfg.get('sync_bn', None) is not None:
        raise ValueError(
            f'sync_bn={cfg.sync_bn!r} cannot run with a `{block}` block: '
            "mmengine's convert_sync_batchnorm replaces each switchable "
            'batch norm of the slimmable network (one batch norm per width) '
            'by one full-width SyncBatchNorm, which the narrower widths '
            'cannot run. Remove sync_bn (each process then normalises its '
            'own batch, as without it)')
