"""Starting a slimmable classifier from an ordinary (full-width) checkpoint."""
import re

import torch.nn as nn
from mmengine.runner import CheckpointLoader

from .slimmable_checkpoint import slimmable_teacher_config

_CANDIDATE_BN = re.compile(r'^(.*)\.candidate_bn\.(\d+)\.(\w+)$')


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model it is loaded into."""


def _plain_state_dict(path: str) -> dict:
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    # Its training config says so; a bare state dict, its private norms.
    if slimmable_teacher_config(checkpoint) is not None or any(
            'candidate_bn' in key for key in state):
        raise CheckpointMismatchError(
            f'{path} is already a slimmable checkpoint; give it as '
            '`load_from` / teacher_ckpt instead of init_from')
    # The classifier's own keys, whether saved alone or inside an algorithm.
    for prefix in ('architecture.', 'module.'):
        if state and all(key.startswith(prefix) for key in state):
            state = {key[len(prefix):]: value for key, value in state.items()}
    return state


def load_full_width_checkpoint(architecture: nn.Module, path: str) -> None:
    """Load an ordinary checkpoint of ``architecture`` into its slimmable form.

    Every weight maps one to one (the slimmable layers keep the whole layer's
    parameters); each narrower width's batch norm starts from the first
    channels of the whole one.

    Args:
        architecture (nn.Module): The classifier, already made slimmable.
        path (str): The ordinary checkpoint.

    Raises:
        CheckpointMismatchError: If a key is missing, left over or has
            another shape; the message names them.
    """
    source = _plain_state_dict(path)
    target = architecture.state_dict()
    loaded, missing, mismatched = {}, [], []
    for key, value in target.items():
        match = _CANDIDATE_BN.match(key)
        source_key = f'{match.group(1)}.{match.group(3)}' if match else key
        if source_key not in source:
            missing.append(source_key)
            continue
        tensor = source[source_key]
        if match and tensor.dim() == 1:
            tensor = tensor[:int(match.group(2))]
        if tensor.shape != value.shape:
            mismatched.append(f'{source_key}: checkpoint '
                              f'{tuple(source[source_key].shape)}, model '
                              f'{tuple(value.shape)}')
            continue
        loaded[key] = tensor
    used = {_CANDIDATE_BN.sub(r'\1.\3', key) for key in target}
    unexpected = sorted(set(source) - used)
    if missing or mismatched or unexpected:
        details = [f'missing in the checkpoint: {sorted(set(missing))[:10]}'
                   ] if missing else []
        if mismatched:
            details.append(f'shapes that do not fit: {mismatched[:10]}')
        if unexpected:
            details.append(f'not in the model: {unexpected[:10]}')
        raise CheckpointMismatchError(
            f'checkpoint {path} does not fit {type(architecture).__name__}: '
            + '; '.join(details))
    architecture.load_state_dict(loaded, strict=True)
