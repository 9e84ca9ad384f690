"""The name of what an fx node calls."""
import torch.fx as fx


def target_name(node: fx.Node) -> str:
    """A method's name, a function's ``__name__`` (``''`` for others)."""
    target = node.target
    return target if isinstance(target, str) else getattr(
        target, '__name__', '')
