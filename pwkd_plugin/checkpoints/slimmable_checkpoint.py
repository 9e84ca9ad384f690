"""Slimmable teacher checkpoints: whether a checkpoint holds one, and
reading it.

mmengine's Runner writes the training config into every checkpoint's meta
(``meta['cfg']``). A slimmable teacher's run has a ``SlimmableTeacher``
model whose mutator config names its widths; that, not the names of its
weights, says what the checkpoint is (a LayerNorm network has no batch norm
keys at all).
"""
from typing import Dict, Optional

from mmengine.config import Config, ConfigDict
from mmengine.runner import CheckpointLoader

SLIMMABLE_TEACHER_TYPES = ('SlimmableTeacher', 'mmrazor.SlimmableTeacher')


def trained_model_config(checkpoint: dict) -> Optional[ConfigDict]:
    """The ``model`` of the config a checkpoint was trained with, if any.

    Args:
        checkpoint (dict): A loaded checkpoint.

    Returns:
        ConfigDict | None: None when the meta holds no config.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    text = (meta or {}).get('cfg') if isinstance(meta, dict) else None
    if not text:
        return None
    return Config.fromstring(text, '.py').get('model')


def slimmable_teacher_config(checkpoint: dict) -> Optional[ConfigDict]:
    """The slimmable teacher model config a checkpoint was trained as.

    Args:
        checkpoint (dict): A loaded checkpoint.

    Returns:
        ConfigDict | None: The ``SlimmableTeacher`` model config (its
        ``mutator`` names the widths), or None when the checkpoint was not
        written by a slimmable teacher's run.
    """
    model = trained_model_config(checkpoint)
    if not model or model.get('type') not in SLIMMABLE_TEACHER_TYPES:
        return None
    mutator = model.get('mutator')
    if not isinstance(mutator, dict) or not mutator.get('widths'):
        return None
    return model


class NotASlimmableCheckpointError(ValueError):
    """A teacher checkpoint that holds no slimmable teacher."""


def read_slimmable_teacher(path: str) -> Dict:
    """Read a slimmable teacher checkpoint written by a ``slimmable`` run.

    Args:
        path (str): The checkpoint.

    Returns:
        dict: ``state_dict`` (the classifier's weights, slimmable form),
        ``mutator`` (the mutator config the teacher was trained with) and
        ``architecture`` (the classifier's config as trained; None when the
        checkpoint does not hold it).

    Raises:
        NotASlimmableCheckpointError: Unless the training config in its meta
            is a ``SlimmableTeacher``'s (:func:`slimmable_teacher_config`).
    """
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    model_cfg = slimmable_teacher_config(checkpoint)
    if model_cfg is None:
        trained = trained_model_config(checkpoint)
        trained_as = (f' (it was trained as a {trained.get("type")})'
                      if trained else '')
        raise NotASlimmableCheckpointError(
            f'teacher checkpoint {path} is an ordinary (not slimmable) '
            f'checkpoint{trained_as}. Make a slimmable teacher from it first: '
            'train its config with a '
            '`slimmable = dict(init_from="<this checkpoint>")` '
            'block (python tools/train.py TEACHER_CONFIG), then give that '
            "run's checkpoint as pwkd.teacher_ckpt")
    prefix = 'architecture.'
    weights = {
        key[len(prefix):]: value
        for key, value in state.items() if key.startswith(prefix)
    }
    return dict(
        state_dict=weights,
        mutator=model_cfg.mutator.to_dict(),
        architecture=model_cfg.get('architecture'))
