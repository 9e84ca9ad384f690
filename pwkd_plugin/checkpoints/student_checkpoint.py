"""A PWKD student checkpoint read once serves both the teacher and the
weights of ``tools/test.py``.

A PWKD checkpoint holds the slimmable teacher (``teacher.*``) and, written
by ``PWKDStageHook``, the teacher's mutator config (``meta`` key
``pwkd_teacher_mutator``), so it rebuilds the teacher without the teacher
checkpoint the run was trained from. The file is read once; the teacher and
the Runner's ``load_from`` get it from memory, through a checkpoint scheme
of mmengine's ``CheckpointLoader``.
"""
from typing import Dict, Optional

import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

#: Where checkpoints hold the teacher's mutator config (written by
#: ``PWKDStageHook``).
TEACHER_MUTATOR_META = 'pwkd_teacher_mutator'

#: Paths of checkpoints served from memory.
LOADED_SCHEME = 'pwkd-loaded://'

_LOADED: Dict[str, dict] = {}


@CheckpointLoader.register_scheme(prefixes=LOADED_SCHEME)
def _load_from_memory(filename: str, map_location=None) -> dict:
    if filename not in _LOADED:
        raise FileNotFoundError(f'{filename} is not a loaded checkpoint')
    return _LOADED[filename]


def is_loaded(path) -> bool:
    """Whether ``path`` names a checkpoint served from memory."""
    return isinstance(path, str) and path.startswith(LOADED_SCHEME)


def _teacher_view(checkpoint: dict, mutator: dict) -> dict:
    """The student checkpoint's teacher, as a slimmable teacher checkpoint
    (``architecture.*`` weights, a ``SlimmableTeacher`` training config)."""
    teacher, mutator_prefix = 'teacher.', 'teacher.width_mutator.'
    state = {}
    for key, value in checkpoint['state_dict'].items():
        if key.startswith(mutator_prefix):
            state['mutator.' + key[len(mutator_prefix):]] = value
        elif key.startswith(teacher):
            state['architecture.' + key[len(teacher):]] = value
    model = dict(type='SlimmableTeacher', mutator=mutator)
    return dict(
        state_dict=state, meta=dict(cfg=Config(dict(model=model)).pretty_text))


def load_once(path: str) -> Dict[str, Optional[str]]:
    """Read a checkpoint once; name it (and its teacher) for loading again.

    Args:
        path (str): A checkpoint file.

    Returns:
        dict: ``checkpoint`` (a path for ``load_from``), ``teacher`` (a
        path for ``pwkd.teacher_ckpt``, or None when the checkpoint holds no
        recorded PWKD teacher).
    """
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    served = dict(checkpoint=f'{LOADED_SCHEME}{path}', teacher=None)
    _LOADED[served['checkpoint']] = checkpoint
    mutator = (checkpoint.get('meta') or {}).get(TEACHER_MUTATOR_META)
    if isinstance(mutator, dict) and 'state_dict' in checkpoint:
        served['teacher'] = f'{LOADED_SCHEME}teacher-of:{path}'
        _LOADED[served['teacher']] = _teacher_view(checkpoint, mutator)
    return served


def is_pwkd_student(path: str) -> bool:
    """Whether ``path`` is a PWKD run's checkpoint (it records the teacher's
    mutator), read without loading its tensors.

    Args:
        path (str): A checkpoint file.

    Returns:
        bool: False also for a file torch cannot map.
    """
    try:
        checkpoint = torch.load(path, map_location='cpu', mmap=True,
                                weights_only=True)
    except Exception:  # noqa: BLE001  not a mappable checkpoint: not one
        return False
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return isinstance(meta, dict) and TEACHER_MUTATOR_META in meta


def not_a_pwkd_config_message(config: str, checkpoint: str) -> str:
    """What ``tools/test.py`` says when a PWKD student's checkpoint comes
    with a config without a ``pwkd`` block."""
    return (
        f'{checkpoint} is a PWKD student\'s checkpoint (it holds the '
        f'slimmable teacher), and {config} has no pwkd block, so its model '
        'is not the one the checkpoint was trained as. Test it with the '
        'config it was trained with (the one with the pwkd block): python '
        f'tools/test.py PWKD_CONFIG {checkpoint}; or take the student out '
        f'first: python tools/extract_student.py PWKD_CONFIG {checkpoint} '
        '--out-dir DIR, and test DIR\'s config and checkpoint')
