"""Modules a forward builds as it runs, traced into by the channel tracer.

RevViT's reversible layer builds its drop path in its forward
(``build_dropout(self.drop_path_cfg)(f_x2)``): torch.fx records a module
call by the module's name in the model, which such a module has not, so the
call raises, mmrazor's tracer records the layer's whole forward as one
opaque node, and every channel entering it is bound to every channel
leaving it (the stream, every norm and FFN of the layer left whole). A
module that is no submodule of the traced model and holds no parameter or
buffer is traced into instead, its operations recorded in place: it has no
weights for the graph to name, and its modules run as the model's do. One
holding parameters or buffers is left as before (they would be traced as
constants).
"""
import itertools

import torch.nn as nn


def _holds_state(module: nn.Module) -> bool:
    state = itertools.chain(module.parameters(), module.buffers())
    return next(state, None) is not None


class ForwardBuiltModulesMixin:
    """A torch.fx tracer mixin tracing into parameter-free modules that are
    not submodules of the traced model."""

    def call_module(self, m: nn.Module, forward, args, kwargs):
        try:
            self.path_of_module(m)
        except NameError:
            if not _holds_state(m):
                return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)
