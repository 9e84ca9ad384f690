"""torch keeps ``nn.Module._modules`` as a plain ``dict``; mmrazor 1.0.0
expects an ``OrderedDict`` there.

Two parts of mmrazor break on it:

* ``BaseAlgorithm.set_module_inplace_false`` recurses only into an
  ``OrderedDict``, so it silently does nothing: the in-place ReLUs that
  ``SingleTeacherDistill`` turns off (``student`` and ``teacher``, by default)
  stay in place, and a recorder on a layer whose output an in-place op then
  changes (a batch norm before ``ReLU(inplace=True)``) records the changed
  tensor. Nothing fails; the loss is computed on the wrong features.
* ``DynamicSequential.convert_from`` passes ``module._modules`` to
  ``nn.Sequential``, which takes a plain ``dict`` for a module:
  ``TypeError: dict is not a Module subclass``.

The fix replaces both with versions that accept any mapping, with mmrazor's
rules otherwise unchanged.
"""
from collections import OrderedDict
from collections.abc import Mapping
from typing import Union

from torch import nn

_FIXED = '_pwkd_plain_dict_fix'

#: mmrazor's own functions, as they were before the fix.
ORIGINALS = {}


def _turn_off_inplace(module: nn.Module) -> None:
    # mmrazor's rule: a module with an ``inplace`` attribute gets it set to
    # False, and its children are not visited.
    if hasattr(module, 'inplace'):
        module.inplace = False
        return
    for child in module._modules.values():
        if child is not None:
            _turn_off_inplace(child)


def set_module_inplace_false(self, architecture: Union[Mapping, nn.Module],
                             varstr: str = '') -> None:
    """Turn off ``inplace`` in every module of ``architecture``.

    Args:
        architecture (Mapping | nn.Module): A built model, or a mapping of
            modules (as ``nn.Module._modules``).
        varstr (str): Unused; kept for mmrazor's signature.
    """
    if isinstance(architecture, nn.Module):
        _turn_off_inplace(architecture)
    elif isinstance(architecture, Mapping):
        for value in architecture.values():
            set_module_inplace_false(self, value, varstr)


def convert_from(cls, module: nn.Sequential):
    """Convert a static ``nn.Sequential`` to ``cls`` (a dynamic sequential).

    Args:
        module (nn.Sequential): The static container.

    Returns:
        nn.Module: The dynamic container holding the same modules.
    """
    return cls(OrderedDict(module._modules))


def fix_plain_dict_modules() -> bool:
    """Install both replacements on mmrazor's classes (idempotent).

    Returns:
        bool: True once the fix is in place.
    """
    from mmrazor.models.algorithms.base import BaseAlgorithm
    from mmrazor.models.architectures.dynamic_ops import DynamicSequential
    if getattr(BaseAlgorithm.set_module_inplace_false, _FIXED, False):
        return True
    ORIGINALS['set_module_inplace_false'] = (
        BaseAlgorithm.set_module_inplace_false)
    ORIGINALS['convert_from'] = DynamicSequential.__dict__['convert_from']
    setattr(set_module_inplace_false, _FIXED, True)
    BaseAlgorithm.set_module_inplace_false = set_module_inplace_false
    DynamicSequential.convert_from = classmethod(convert_from)
    return True
