"""numpy 2 has no ``np.int``; mmrazor 1.0.0's metric predictor uses it.

``np.int`` was an alias of the builtin ``int`` (deprecated in numpy 1.20,
removed in 1.24). ``MetricPredictor.model2vector`` builds its one-hot vectors
with ``dtype=np.int`` and fails with ``module 'numpy' has no attribute
'int'``. The fix gives that mmrazor module (and only it) a view of numpy that
answers the removed aliases with the builtins they stood for; numpy itself is
not changed.
"""
import builtins
import types

import numpy

#: The aliases numpy 1.24 removed, and what they stood for.
REMOVED_ALIASES = {
    name: getattr(builtins, name)
    for name in ('int', 'float', 'bool', 'object', 'str')
}

#: mmrazor modules that use a removed alias.
MODULES = ('mmrazor.models.task_modules.predictor.metric_predictor', )


class _NumpyWithAliases(types.ModuleType):
    """numpy, with the removed aliases answered."""

    def __init__(self):
        super().__init__('numpy', numpy.__doc__)

    def __getattr__(self, name):
        if name in REMOVED_ALIASES and not hasattr(numpy, name):
            return REMOVED_ALIASES[name]
        return getattr(numpy, name)


def restore_numpy_aliases() -> bool:
    """Give the mmrazor modules of :data:`MODULES` numpy with the aliases
    (idempotent).

    Returns:
        bool: True once every such module sees them.
    """
    import importlib
    for name in MODULES:
        module = importlib.import_module(name)
        if not isinstance(module.np, _NumpyWithAliases):
            module.np = _NumpyWithAliases()
    return True
