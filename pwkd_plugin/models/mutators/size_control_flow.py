"""Python control flow on sizes, followed by the channel tracer.

torch.fx cannot branch on a proxy: ``if x.dim() == 3:`` raises in the
tracer. mmrazor's tracer then records the whole method that branched as one
opaque node (EfficientFormer's ``forward_tokens`` checks ``x.dim()`` after
its last stage), which binds every channel that enters it to every channel
that leaves it, so the stages it holds stay whole. Here a condition whose
value is a number (a size, a flag; not a tensor) is taken at its value on
the tracer's demo input and the trace goes on down the branch it takes, as
the sizes themselves are numbers to the tracer (:mod:`.shape_constants`).
The length of a shape (``len(x.shape)``, TinyViT's patch merging), a
shape unpacked (``B, N, C = x.shape``) and a size made an ``int`` (Swin's
and DaViT's ``window_reverse``: ``int(windows.shape[0] / ...)``) are taken
the same way. torch.fx tells an unpacking from the caller's bytecode, which
it misread in XCiT's local patch interaction after its first call, in its
class attention and at some of DaViT's call sites, and it has no ``int`` of
a proxy: mmrazor then recorded each call as one opaque node. A condition on
tensor values is left to torch.fx (it raises).
"""
import torch
import torch.fx as fx
import torch.nn as nn

from .shape_constants import node_value

_UNKNOWN = object()


class SizeControlFlowMixin:
    """A torch.fx tracer mixin that branches on sizes by their value on
    the demo input (:meth:`set_demo_inputs` before tracing)."""

    _demo_inputs = None
    #: while a value is computed, modules run as themselves (the tracer's
    #: patches of ``Module.__call__`` and ``__getattr__`` stay in place).
    _evaluating = False

    def set_demo_inputs(self, model: nn.Module, inputs: dict) -> None:
        """The model traced next and its inputs by argument name."""
        self._demo_model, self._demo_inputs, self._env = model, inputs, {}

    def trace(self, root, concrete_args=None):
        original_len, original_iter = fx.Proxy.__len__, fx.Proxy.__iter__
        original_int = fx.Proxy.__dict__.get('__int__')
        tracer = self

        def sized(proxy):
            value = tracer._value(proxy.node) if tracer._demo_inputs \
                is not None and proxy.tracer is tracer else None
            return None if isinstance(value, torch.Tensor) else value

        def length(proxy):
            value = sized(proxy)
            return original_len(proxy) if value is None else len(value)

        def iterate(proxy):
            value = sized(proxy)
            if not isinstance(value, (tuple, list)):
                return original_iter(proxy)
            return iter([proxy[i] for i in range(len(value))])

        def to_int(proxy):
            value = sized(proxy)
            if not isinstance(value, (int, float, bool)):
                raise TypeError('int() of a traced value that is no size')
            return int(value)

        fx.Proxy.__len__, fx.Proxy.__iter__ = length, iterate
        fx.Proxy.__int__ = to_int
        try:
            return super().trace(root, concrete_args)
        finally:
            fx.Proxy.__len__, fx.Proxy.__iter__ = original_len, original_iter
            if original_int is None:
                del fx.Proxy.__int__
            else:
                fx.Proxy.__int__ = original_int

    def to_bool(self, obj: fx.Proxy) -> bool:
        value = self._value(obj.node) if self._demo_inputs is not None \
            else None
        if value is None or isinstance(value, torch.Tensor):
            return super().to_bool(obj)
        return bool(value)

    def call_module(self, m, forward, args, kwargs):
        if self._evaluating:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        if self._evaluating:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def _value(self, target: fx.Node):
        """``target``'s value on the demo input, or None if unknown."""
        self._evaluating = True
        try:
            return self._evaluate(target)
        finally:
            self._evaluating = False

    def _evaluate(self, target: fx.Node):
        env = self._env
        # The graph grows as it is traced: nodes are in the order made.
        with torch.no_grad():
            for node in self.graph.nodes:
                if node not in env:
                    try:
                        env[node] = node_value(self._demo_model, node, env,
                                               self._demo_inputs)
                    except Exception:  # noqa: BLE001 not computable here
                        env[node] = _UNKNOWN
                if node is target:
                    return None if env[node] is _UNKNOWN else env[node]
        return None
