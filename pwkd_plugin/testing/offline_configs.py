"""Model configs without downloads, for tests of configs others ship."""
from ..config_blocks import without_pretrained_weights


def _without_checkpoint_keys(node) -> None:
    if isinstance(node, dict):
        for key in ('teacher_ckpt', 'ckpt_path'):
            node.pop(key, None)
        for value in node.values():
            _without_checkpoint_keys(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _without_checkpoint_keys(item)


def offline(node):
    """Drop what a model config would fetch, in place: teacher checkpoints
    (``teacher_ckpt``, data-free teachers' ``ckpt_path``) and pre-trained
    weights (the pwkd block's ``without_pretrained_weights``).

    Args:
        node (dict | list): A config (or part of one).

    Returns:
        dict | list: ``node``.
    """
    _without_checkpoint_keys(node)
    without_pretrained_weights(node)
    return node
