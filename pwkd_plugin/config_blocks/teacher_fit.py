"""Whether a config's teacher fits the slimmable teacher checkpoint, checked
when the config is read (on the meta device: no memory, no compute)."""
import copy
from typing import Dict, List, Optional

import torch
from mmrazor.registry import MODELS

#: Backbone / neck / head keys that decide the weights' shapes.
_SHAPE_KEYS = ('type', 'arch', 'depth', 'widen_factor', 'num_classes',
               'in_channels', 'embed_dims', 'num_layers', 'patch_size',
               'base_channels', 'stem_channels', 'width_per_group', 'groups',
               'growth_rate', 'num_stages', 'out_channels')


class TeacherMismatchError(ValueError):
    """The config's teacher is not the network of the teacher checkpoint."""


def _name(value):
    """A registered type without its scope (``mmrazor.X`` is ``X``)."""
    return value.split('.')[-1] if isinstance(value, str) else value


def _config_differences(teacher: Dict, trained: Optional[Dict],
                        key: str) -> List[str]:
    if not trained:
        return []
    differences = []
    for part in ('backbone', 'neck', 'head'):
        ours, theirs = teacher.get(part), trained.get(part)
        if not isinstance(ours, dict) or not isinstance(theirs, dict):
            continue
        for name in _SHAPE_KEYS:
            if _name(ours.get(name)) != _name(theirs.get(name)):
                differences.append(
                    f'{key}.{part}.{name} is {ours.get(name)!r}, the '
                    f'checkpoint\'s teacher has {theirs.get(name)!r}')
    return differences


def _plain_shapes(teacher: Dict) -> Optional[Dict[str, torch.Size]]:
    """The weight shapes of the teacher as configured (None if it cannot be
    built without its data or weights; the real build reports that)."""
    try:
        with torch.device('meta'):
            model = MODELS.build(copy.deepcopy(teacher))
    except Exception:  # noqa: BLE001  the real build names the problem
        return None
    return {name: value.shape for name, value in model.state_dict().items()}


def check_teacher_fits(teacher: Dict, saved: Dict, checkpoint: str,
                       key: str = 'model.teacher') -> None:
    """Refuse a teacher config whose weights the checkpoint does not hold.

    Args:
        teacher (dict): The config's teacher (pre-trained weights dropped).
        saved (dict): :func:`read_slimmable_teacher`'s answer.
        checkpoint (str): The checkpoint's path, for the message.
        key (str): The teacher's config key. Defaults to 'model.teacher'.

    Raises:
        TeacherMismatchError: Naming the config keys that differ from the
            checkpoint's training config (when it holds one), the number of
            classes, and a few weights that do not fit.
    """
    if not isinstance(teacher, dict):
        return
    shapes = _plain_shapes(teacher)
    if shapes is None:
        return
    weights = saved['state_dict']
    missing = [name for name in shapes if name not in weights]
    wrong = [name for name in shapes
             if name in weights and tuple(weights[name].shape) != tuple(
                 shapes[name])]
    if not missing and not wrong:
        return
    reasons = _config_differences(teacher, saved.get('architecture'), key)
    head = [name for name in wrong if name.startswith('head.')
            and len(shapes[name]) >= 1
            and shapes[name][0] != weights[name].shape[0]]
    if head and not any('num_classes' in r for r in reasons):
        reasons.append(
            f'{key}.head.num_classes is {shapes[head[0]][0]}, the '
            f'checkpoint\'s teacher has {weights[head[0]].shape[0]} '
            f'({head[0]} {tuple(weights[head[0]].shape)})')
    if wrong:
        reasons.append('weights of other shapes: ' + ', '.join(
            f'{name} {tuple(shapes[name])} here, '
            f'{tuple(weights[name].shape)} there' for name in wrong[:3]))
    if missing:
        reasons.append(f'{len(missing)} weights the checkpoint lacks (e.g. '
                       f'{", ".join(missing[:3])})')
    raise TeacherMismatchError(
        f'{key} does not fit the teacher checkpoint {checkpoint}: '
        + '; '.join(reasons) + f'. Set {key} to the network the checkpoint '
        'was trained as, or give the checkpoint of this teacher')
