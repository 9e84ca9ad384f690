"""A fast copy of a frozen teacher: batch norms folded, channels-last,
reduced precision where the hardware has it natively.

The teacher of a distillation run is frozen: its batch norms (in eval mode)
can be folded into the convolutions before them, and since nothing of it is
trained, running it in reduced precision costs no gradient quality. The
copy keeps the teacher's class and module names, so a distiller's recorders
find the modules they record; a folded batch norm becomes ``nn.Identity``
under its own name, whose output is the batch norm's output. Outputs and
recorded tensors are returned in the teacher's own dtype (fp32) and in the
standard memory layout.

Precisions (``precision`` of :func:`resolve_precision`):

- ``'auto'``: bf16 on CPUs with native bf16 (AVX512-BF16 or AMX), bf16 on
  CUDA GPUs that have it natively (compute capability 8.0 or later), fp16 on
  other CUDA GPUs; elsewhere fp32 arithmetic (the copy is still folded and
  channels-last);
- ``'bf16'`` / ``'fp16'``: that precision (emulated where the hardware has
  it not natively, which is slow);
- ``'fp32'``: no fast copy at all: the teacher runs as it is.
"""
import contextlib
import copy
import functools
import warnings
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import torch
import torch.fx
import torch.nn as nn
from mmengine.logging import MMLogger
from mmrazor.models.task_modules import (ModuleInputsRecorder,
                                         ModuleOutputsRecorder,
                                         ParameterRecorder, RecorderManager)
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_weights

PRECISIONS = ('auto', 'bf16', 'fp16', 'fp32')
_DTYPES = dict(bf16=torch.bfloat16, fp16=torch.float16)


def check_precision(precision: Any, key: str) -> None:
    """Refuse a precision that is not one of :data:`PRECISIONS`.

    Args:
        precision: The value given.
        key (str): The config key, for the message.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'{key} must be one of {PRECISIONS}, got '
                         f'{precision!r}')


def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bf16 natively (AVX512-BF16 or AMX tiles)."""
    return bool(torch.cpu._is_avx512_bf16_supported()
                or torch.cpu._is_amx_tile_supported())


def native_reduced_precision(device: torch.device) -> torch.dtype:
    """The fastest precision ``device`` runs natively for inference.

    Args:
        device (torch.device): Where the teacher runs.

    Returns:
        torch.dtype: ``bfloat16``, ``float16`` or ``float32``.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return torch.bfloat16
        return torch.float16
    if device.type == 'cpu' and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


def resolve_precision(precision: str,
                      device: torch.device) -> Optional[torch.dtype]:
    """The teacher's compute precision on ``device``.

    Args:
        precision (str): One of :data:`PRECISIONS`.
        device (torch.device): Where the teacher runs.

    Returns:
        torch.dtype | None: The dtype the fast copy computes in, or None for
        ``'fp32'`` (no fast copy).
    """
    check_precision(precision, 'precision')
    if precision == 'fp32':
        return None
    if precision == 'auto':
        return native_reduced_precision(device)
    return _DTYPES[precision]


def copy_without_hooks(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` that carries none of its hooks.

    The hooks' owners (recorders, algorithms) must be neither copied nor
    called by the copy.
    """
    memo = {
        id(hooks): type(hooks)()
        for sub in module.modules() for key, hooks in vars(sub).items()
        if 'hook' in key and isinstance(hooks, dict)
    }
    return copy.deepcopy(module, memo)


class _NormLeafTracer(torch.fx.Tracer):
    """Traces every foldable batch norm as one call of its module."""

    def is_leaf_module(self, module: nn.Module, name: str) -> bool:
        return type(module) in foldable_norm_types() or \
            super().is_leaf_module(module, name)


def conv_bn_pairs(module: nn.Module, prefix: str = '') -> List[Tuple[str,
                                                                      str]]:
    """Every convolution whose output goes only into a batch norm.

    Each submodule is traced with torch.fx, from the top down: where a
    module cannot be traced, its children are traced instead.

    Args:
        module (nn.Module): The network.
        prefix (str): ``module``'s name in the whole network.

    Returns:
        list[tuple[str, str]]: ``(conv name, batch norm name)`` pairs.
    """
    try:
        with warnings.catch_warnings():
            # Arguments with defaults are traced at their defaults.
            warnings.simplefilter('ignore')
            graph = _NormLeafTracer().trace(module)
    except Exception:  # noqa: BLE001 -- any trace failure: trace the parts
        return [
            pair for name, child in module.named_children()
            for pair in conv_bn_pairs(child, f'{prefix}{name}.')
        ]
    pairs = []
    for node in graph.nodes:
        if node.op != 'call_module' or not node.args:
            continue
        source = node.args[0]
        if not (isinstance(source, torch.fx.Node)
                and source.op == 'call_module' and len(source.users) == 1):
            continue
        conv = module.get_submodule(source.target)
        bn = module.get_submodule(node.target)
        if type(conv) is nn.Conv2d and type(bn) in foldable_norm_types():
            pairs.append((prefix + source.target, prefix + node.target))
    return pairs


def foldable_norm_types() -> Tuple[type, ...]:
    """The batch norms that fold: torch's ``BatchNorm2d`` and, where timm
    is installed, its ``BatchNormAct2d`` (a batch norm, then dropout and an
    activation)."""
    try:
        from timm.layers import BatchNormAct2d
    except ImportError:
        return (nn.BatchNorm2d, )
    return (nn.BatchNorm2d, BatchNormAct2d)


def after_folding(bn: nn.Module) -> nn.Module:
    """What stays of a folded batch norm: nothing (``nn.Identity``), or
    the dropout and activation of timm's ``BatchNormAct2d``."""
    if type(bn) is nn.BatchNorm2d:
        return nn.Identity()
    return nn.Sequential(bn.drop, bn.act)


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition('.')
    setattr(model.get_submodule(parent), child, module)


def fold_batch_norms(model: nn.Module,
                     keep: Iterable[str] = (),
                     keep_inputs: Iterable[str] = ()) -> List[str]:
    """Fold eval-mode batch norms into the convolutions before them.

    The convolution takes the folded weights and bias; the batch norm
    becomes ``nn.Identity`` (timm's ``BatchNormAct2d``: its dropout and
    activation) under its own name, so its output (and what a recorder of
    its output records) is unchanged.

    Args:
        model (nn.Module): Folded in place.
        keep (Iterable[str]): Modules whose weights, inputs or outputs are
            used outside the network: a pair with such a convolution is not
            folded.
        keep_inputs (Iterable[str]): Batch norms whose inputs or weights are
            used: not folded.

    Returns:
        list[str]: The folded batch norms.
    """
    keep, keep_inputs = set(keep), set(keep_inputs)
    folded = []
    for conv_name, bn_name in conv_bn_pairs(model):
        conv, bn = model.get_submodule(conv_name), model.get_submodule(
            bn_name)
        if (conv_name in keep or bn_name in keep_inputs or bn.training
                or bn.running_mean is None
                or conv.out_channels != bn.num_features):
            continue
        fused = copy.deepcopy(conv)
        with torch.no_grad():
            weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias,
                                                bn.running_mean,
                                                bn.running_var, bn.eps,
                                                bn.weight, bn.bias)
        fused.weight = nn.Parameter(weight.detach(), requires_grad=False)
        fused.bias = nn.Parameter(bias.detach(), requires_grad=False)
        _set_submodule(model, conv_name, fused)
        _set_submodule(model, bn_name, after_folding(bn))
        folded.append(bn_name)
    return folded


def recorded_modules(recorders: Optional[RecorderManager]
                     ) -> Tuple[Set[str], Set[str], bool]:
    """What the recorders of a teacher read, for :func:`fold_batch_norms`.

    Returns:
        tuple: ``(keep, keep_inputs, may_fold)``: the modules whose
        weights, inputs or outputs are recorded; those of them recorded
        other than by their outputs; and False when a function or method
        recorder records a convolution or a batch norm (whose calls folding
        would remove).
    """
    keep, keep_inputs, may_fold = set(), set(), True
    for recorder in (recorders.recorders.values() if recorders else ()):
        if isinstance(recorder, ParameterRecorder):
            name = recorder.source.rpartition('.')[0]
            keep.add(name)
            keep_inputs.add(name)
        elif isinstance(recorder, ModuleInputsRecorder) or (
                isinstance(recorder, ModuleOutputsRecorder)
                and type(recorder) is not ModuleOutputsRecorder):
            keep.add(recorder.source)
            keep_inputs.add(recorder.source)
        elif isinstance(recorder, ModuleOutputsRecorder):
            keep.add(recorder.source)
        elif any(word in recorder.source.lower()
                 for word in ('norm', 'conv')):
            may_fold = False
    return keep, keep_inputs, may_fold


def restore(data: Any, dtype: torch.dtype = torch.float32) -> Any:
    """Floating tensors in ``data`` (nested lists, tuples, dicts) in
    ``dtype`` and the standard memory layout; everything else as it is."""
    if isinstance(data, torch.Tensor):
        if data.is_floating_point():
            return data.to(dtype).contiguous()
        return data
    if isinstance(data, (list, tuple)) and not hasattr(data, '_fields'):
        return type(data)(restore(item, dtype) for item in data)
    if isinstance(data, dict):
        return type(data)(
            (key, restore(value, dtype)) for key, value in data.items())
    return data


def _fast_forward(forward, device_type: str, dtype: torch.dtype,
                  out_dtype: torch.dtype, channels_last: bool):

    @functools.wraps(forward)
    def run(inputs, *args, **kwargs):
        if channels_last and isinstance(inputs,
                                        torch.Tensor) and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        # In full precision an enclosing autocast (--amp) stays in force.
        precision = (
            contextlib.nullcontext() if dtype == out_dtype else
            torch.autocast(device_type, dtype=dtype))
        with precision:
            outputs = forward(inputs, *args, **kwargs)
        return restore(outputs, out_dtype)

    return run


def make_fast_teacher(teacher: nn.Module,
                      dtype: torch.dtype,
                      recorders: Optional[RecorderManager] = None,
                      fold_bn: bool = True,
                      channels_last: bool = True,
                      compile: Optional[Dict] = None,
                      deliveries: Optional[Any] = None) -> nn.Module:
    """A fast inference copy of a frozen teacher.

    Args:
        teacher (nn.Module): The teacher; left as it is.
        dtype (torch.dtype): The compute precision (the teacher's own dtype:
            folding and layout only).
        recorders (RecorderManager, optional): The distiller's teacher
            recorders: what they record is not folded away, and they are
            moved onto the copy (see :func:`attach_recorders`).
        fold_bn (bool): Fold batch norms into convolutions.
        channels_last (bool): Run convolutions in the channels-last layout.
        compile (dict, optional): ``torch.compile`` options for the copy
            (``{}`` for the defaults); None leaves it uncompiled.
        deliveries (DistillDeliveryManager, optional): The distiller's
            deliveries: what they keep of the teacher forward for the student
            is restored to the teacher's dtype.

    Returns:
        nn.Module: The copy, on the teacher's device, without gradients.
        Its outputs are in the teacher's dtype.
    """
    fast = copy_without_hooks(teacher)
    fast.requires_grad_(False)
    keep, keep_inputs, may_fold = recorded_modules(recorders)
    if fold_bn and may_fold:
        fold_batch_norms(fast, keep, keep_inputs)
    if channels_last:
        fast.to(memory_format=torch.channels_last)
        for recorder in (recorders.recorders.values() if recorders else ()):
            if isinstance(recorder, ParameterRecorder):
                param = fast.get_parameter(recorder.source)
                param.data = param.data.contiguous()
    param = next(fast.parameters(), torch.empty(0))
    if dtype == torch.float32:
        dtype = param.dtype  # full precision is the teacher's own
    fast.forward = _fast_forward(fast.forward, param.device.type, dtype,
                                 param.dtype, channels_last)
    if recorders is not None:
        attach_recorders(fast, recorders, param.dtype, deliveries)
    if compile is not None:
        fast.compile(**compile)
    return fast


def move_recorders(module: nn.Module, recorders: RecorderManager) -> None:
    """Initialise ``recorders`` on ``module`` (a copy of the model they
    recorded before)."""
    for recorder in recorders.recorders.values():
        if isinstance(recorder, ParameterRecorder):
            recorder.data_buffer.clear()  # it holds the old parameters
    recorders.initialize(module)


def attach_recorders(fast: nn.Module,
                     recorders: RecorderManager,
                     dtype: torch.dtype = torch.float32,
                     deliveries: Optional[Any] = None) -> None:
    """Move ``recorders`` onto ``fast``; what they record (and what
    ``deliveries``, a ``DistillDeliveryManager``, keep for the student)
    reaches the losses in ``dtype`` (the teacher's, fp32) and the standard
    layout."""
    move_recorders(fast, recorders)
    queues = [d.data_queue for d in (
        deliveries.deliveries.values() if deliveries is not None else ())]

    def cast_records(*_):
        for recorder in recorders.recorders.values():
            if not isinstance(recorder, ParameterRecorder):
                buffer = recorder.data_buffer
                buffer[:] = [restore(item, dtype) for item in buffer]
        for queue in queues:
            items = [restore(item, dtype) for item in queue]
            queue.clear()
            queue.extend(items)

    fast.register_forward_hook(cast_records)


def log_precision(owner: str, precision: str, dtype: Optional[torch.dtype],
                  device: torch.device) -> None:
    """Say once which precision the teacher runs in, and why."""
    names = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}
    if dtype is None:
        what = 'fp32, as it is (no fast copy)'
    else:
        what = (f'{names.get(dtype, "fp32")}, batch norms folded, '
                'channels-last')
    MMLogger.get_current_instance().info(
        f'{owner}: teacher forward in {what} on {torch.device(device)} '
        f'(precision={precision!r})')
