"""``Optimizer.zero_grad()`` sets gradients to ``None`` (torch >= 2.0);
mmrazor 1.0.0's DSNAS and DMCP expect zeroed tensors.

Their ``train_step`` calls ``optim_wrapper[...].zero_grad()`` between two
backward passes and then reads or scales ``param.grad`` of parameters the
second pass does not reach: ``AttributeError: 'NoneType' object has no
attribute 'data'``, and under DDP ``Encountered gradient which is
undefined``. The fix runs exactly those train steps with ``zero_grad`` keeping
the gradient tensors (``set_to_none=False``, torch's behaviour before 2.0);
every other training is unchanged.
"""
import functools
from contextlib import contextmanager
from typing import Iterator

from mmengine.optim import OptimWrapper, OptimWrapperDict

_FIXED = '_pwkd_zeroed_gradients'

#: mmrazor classes whose ``train_step`` expects zeroed gradient tensors.
CLASSES = (
    ('mmrazor.models.algorithms.nas.dsnas', 'DSNAS'),
    ('mmrazor.models.algorithms.nas.dsnas', 'DSNASDDP'),
    ('mmrazor.models.algorithms.pruning.dmcp', 'DMCP'),
    ('mmrazor.models.algorithms.pruning.dmcp', 'DMCPDDP'),
)


def _wrappers(optim_wrapper) -> Iterator[OptimWrapper]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        yield from optim_wrapper.values()
    elif isinstance(optim_wrapper, OptimWrapper):
        yield optim_wrapper


@contextmanager
def zero_grad_keeps_tensors(optim_wrapper):
    """Within the block, ``zero_grad()`` of these wrappers zeroes gradients
    in place instead of setting them to ``None``.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): The wrappers.
    """
    wrappers = list(_wrappers(optim_wrapper))
    for wrapper in wrappers:
        wrapper.zero_grad = functools.partial(
            type(wrapper).zero_grad, wrapper, set_to_none=False)
    try:
        yield
    finally:
        for wrapper in wrappers:
            del wrapper.zero_grad


def _keeping_gradient_tensors(train_step):

    @functools.wraps(train_step)
    def wrapper(self, data, optim_wrapper):
        with zero_grad_keeps_tensors(optim_wrapper):
            return train_step(self, data, optim_wrapper)

    setattr(wrapper, _FIXED, True)
    return wrapper


def keep_gradient_tensors_in_mmrazor() -> bool:
    """Wrap the ``train_step`` of the classes in :data:`CLASSES`
    (idempotent).

    Returns:
        bool: True once every one is wrapped.
    """
    import importlib
    for module_name, class_name in CLASSES:
        cls = getattr(importlib.import_module(module_name), class_name)
        if not getattr(cls.train_step, _FIXED, False):
            cls.train_step = _keeping_gradient_tensors(cls.train_step)
    return True
