"""A short account of a checkpoint that does not fit a model.

torch and mmengine list every missing and unexpected key when a state dict
does not fit (10-20 KB for a small network); a user needs the counts, a few
names and what kind of checkpoint it looks like.
"""
import re
from typing import List, Tuple

# mmengine: 'unexpected key in source state_dict: a, b\n'
# torch: 'Unexpected key(s) in state_dict: "a", "b". '
_MISSING = (r'missing keys in source state_dict: ([^\n]*)',
            r'Missing key\(s\) in state_dict: ([^\n]*?)\.\s*(?:\n|$)')
_UNEXPECTED = (r'unexpected key in source state_dict: ([^\n]*)',
               r'Unexpected key\(s\) in state_dict: ([^\n]*?)\.\s*(?:\n|$)')


def _keys(message: str, patterns) -> List[str]:
    for pattern in patterns:
        match = re.search(pattern, message)
        if match:
            return [k.strip().strip('"') for k in match.group(1).split(',')
                    if k.strip()]
    return []


def mismatched_keys(message: str) -> Tuple[List[str], List[str]]:
    """(missing, unexpected) keys named in a state-dict error message."""
    return _keys(message, _MISSING), _keys(message, _UNEXPECTED)


def _looks_like(missing: List[str], unexpected: List[str]) -> str:
    if any(k.startswith('teacher.') for k in unexpected):
        return ("it holds teacher.* weights: a distillation run's checkpoint")
    if any('candidate_bn' in k for k in unexpected) and not any(
            'candidate_bn' in k for k in missing):
        return 'it holds per-width batch norms: a slimmable teacher checkpoint'
    if any('candidate_bn' in k for k in missing):
        return 'it has no per-width batch norms: an ordinary checkpoint'
    return 'it was written for another model'


def describe_mismatch(message: str, checkpoint: str, wanted: str) -> str:
    """One short paragraph instead of the full key lists.

    Args:
        message (str): The error of ``load_state_dict``.
        checkpoint (str): The checkpoint file.
        wanted (str): What the tool needs, e.g. ``'a slimmable teacher
            checkpoint of this config'``.

    Returns:
        str: The counts, up to three names of each, and the likely kind.
    """
    missing, unexpected = mismatched_keys(message)
    parts = []
    if unexpected:
        parts.append(f'has {len(unexpected)} weights the model does not '
                     f'have (e.g. {", ".join(unexpected[:3])})')
    if missing:
        parts.append(f'lacks {len(missing)} it needs '
                     f'(e.g. {", ".join(missing[:3])})')
    found = ' and '.join(parts) or 'has weights that do not fit the model'
    return (f'checkpoint {checkpoint} is not {wanted}: it {found}; '
            f'{_looks_like(missing, unexpected)}')
