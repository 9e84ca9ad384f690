"""Whether a checkpoint holds a slimmable teacher, from what training wrote.

mmengine's Runner writes the training config into every checkpoint's meta
(``meta['cfg']``). A slimmable teacher's run has a ``SlimmableTeacher``
model whose mutator config names its widths; that, not the names of its
weights, says what the checkpoint is (a LayerNorm network has no batch norm
keys at all).
"""
from typing import Optional

from mmengine.config import Config, ConfigDict

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
