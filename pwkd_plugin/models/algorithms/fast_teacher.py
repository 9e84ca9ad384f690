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
  CUDA GPUs with fp16 tensor cores (7.x); elsewhere (older GPUs such as
  Pascal, where fp16 is slow or emulated, and other CPUs) fp32 arithmetic
  (the copy is still folded and channels-last);
- ``'bf16'`` / ``'fp16'``: that precision (emulated where the hardware has
  it not natively, which is slow);
- ``'fp32'``: no fast copy at all: the teacher runs as it is.

On CUDA GPUs of compute capability 8.0 or later, PyTorch runs fp32
convolutions as TF32 by default (``torch.backends.cudnn.allow_tf32``):
the log line of :func:`log_precision` says so.

In bf16 / fp16 the copy's convolution and linear weights are cast once,
when the copy is made (autocast caches the casts only of weights that
require gradients, so it would cast the frozen ones on every forward),
and a forward whose outputs or recorded features are not finite (an fp16
overflow) is refused, naming the teacher and the precision.
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
from torch.nn.utils.fusion import fuse_conv_bn_weights

PRECISIONS = ('auto', 'bf16', 'fp16', 'fp32')
_DTYPES = dict(bf16=torch.bfloat16, fp16=torch.float16)
_NAMES = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}
#: The first CUDA compute capability with fp16 tensor cores (Volta).
FP16_TENSOR_CORES = (7, 0)
#: The first with TF32 (Ampere).
TF32_CAPABILITY = (8, 0)
#: Layers whose weights autocast casts to the reduced precision (exact
#: types: subclasses may use their weights in other ways).
CAST_ONCE_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


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
        if torch.cuda.get_device_capability(device) >= FP16_TENSOR_CORES:
            return torch.float16
        return torch.float32
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
    """The batch norms that fold: torch's ``BatchNorm2d``, its
    ``SyncBatchNorm`` (what ``sync_bn`` makes of it; in eval mode the same
    arithmetic) and, where timm is installed, timm's ``BatchNormAct2d`` (a
    batch norm, then dropout and an activation)."""
    try:
        from timm.layers import BatchNormAct2d
    except ImportError:
        return (nn.BatchNorm2d, nn.SyncBatchNorm)
    return (nn.BatchNorm2d, nn.SyncBatchNorm, BatchNormAct2d)


def after_folding(bn: nn.Module) -> nn.Module:
    """What stays of a folded batch norm: nothing (``nn.Identity``), or
    the dropout and activation of timm's ``BatchNormAct2d``."""
    if type(bn) in (nn.BatchNorm2d, nn.SyncBatchNorm):
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
    ``dtype`` and the standard memory layout (in one copy); everything else
    as it is."""
    if isinstance(data, torch.Tensor):
        if data.is_floating_point():
            return data.to(
                dtype=dtype, memory_format=torch.contiguous_format)
        return data
    if isinstance(data, (list, tuple)) and not hasattr(data, '_fields'):
        return type(data)(restore(item, dtype) for item in data)
    if isinstance(data, dict):
        return type(data)(
            (key, restore(value, dtype)) for key, value in data.items())
    return data


def floating_tensors(data: Any) -> List[torch.Tensor]:
    """The floating tensors in ``data`` (nested lists, tuples, dicts)."""
    if isinstance(data, torch.Tensor):
        return [data] if data.is_floating_point() else []
    if isinstance(data, (list, tuple)):
        return [t for item in data for t in floating_tensors(item)]
    if isinstance(data, dict):
        return [t for item in data.values() for t in floating_tensors(item)]
    return []


def refuse_non_finite(data: Any, teacher: str, dtype: torch.dtype,
                      what: str) -> None:
    """Raise when a tensor in ``data`` holds an inf or a nan.

    One inf in the teacher's outputs makes the student's loss nan, or makes
    AMP's loss scaler skip every step without a word. The check reads one
    flag back from the device.

    Args:
        data: The teacher's outputs or recorded features.
        teacher (str): The teacher's name, for the message.
        dtype (torch.dtype): The teacher's compute precision.
        what (str): ``'outputs'`` or ``'recorded features'``.

    Raises:
        FloatingPointError: Naming the teacher and the precision.
    """
    tensors = floating_tensors(data)
    if not tensors:
        return
    finite = torch.stack([torch.isfinite(t).all() for t in tensors]).all()
    if not bool(finite):
        name = _NAMES.get(dtype, str(dtype))
        raise FloatingPointError(
            f'The teacher ({teacher}) forward in {name} gave non-finite '
            f'values (inf or nan) in its {what}: its activations exceed '
            f'what {name} holds (fp16: 65504). Set teacher_precision='
            "'bf16' (fp32's range; GPUs of compute capability 8.0 or later, "
            "CPUs with native bf16) or 'fp32'")


def _fast_forward(forward, device_type: str, dtype: torch.dtype,
                  out_dtype: torch.dtype, channels_last: bool, name: str):

    @functools.wraps(forward)
    def run(inputs, *args, **kwargs):
        if channels_last and isinstance(inputs,
                                        torch.Tensor) and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        # In full precision an enclosing autocast (--amp) stays in force.
        if dtype == out_dtype:
            return restore(forward(inputs, *args, **kwargs), out_dtype)
        with torch.autocast(device_type, dtype=dtype):
            outputs = forward(inputs, *args, **kwargs)
        refuse_non_finite(outputs, name, dtype, 'outputs')
        return restore(outputs, out_dtype)

    return run


def cast_weights_once(model: nn.Module, dtype: torch.dtype,
                      keep: Iterable[str] = ()) -> None:
    """Cast the weights of the layers autocast runs in ``dtype``, in place.

    Args:
        model (nn.Module): The fast copy.
        dtype (torch.dtype): bf16 or fp16.
        keep (Iterable[str]): Modules whose parameters a recorder reads:
            left in their dtype.
    """
    keep = set(keep)
    for name, module in model.named_modules():
        if type(module) in CAST_ONCE_TYPES and name not in keep:
            module.to(dtype)


def make_fast_teacher(teacher: nn.Module,
                      dtype: torch.dtype,
                      recorders: Optional[RecorderManager] = None,
                      fold_bn: bool = True,
                      channels_last: bool = True,
                      compile: Optional[Dict] = None,
                      deliveries: Optional[Any] = None,
                      name: Optional[str] = None) -> nn.Module:
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
        name (str, optional): The teacher's name in messages. Defaults to
            its class name.

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
    out_dtype = param.dtype
    name = name or type(teacher).__name__
    if dtype == torch.float32:
        dtype = out_dtype  # full precision is the teacher's own
    else:
        cast_weights_once(fast, dtype, {
            r.source.rpartition('.')[0]
            for r in (recorders.recorders.values() if recorders else ())
            if isinstance(r, ParameterRecorder)
        })
    fast.forward = _fast_forward(fast.forward, param.device.type, dtype,
                                 out_dtype, channels_last, name)
    if recorders is not None:
        attach_recorders(fast, recorders, out_dtype, deliveries,
                         None if dtype == out_dtype else (name, dtype))
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
                     deliveries: Optional[Any] = None,
                     finite_check: Optional[Tuple[str, torch.dtype]] = None
                     ) -> None:
    """Move ``recorders`` onto ``fast``; what they record (and what
    ``deliveries``, a ``DistillDeliveryManager``, keep for the student)
    reaches the losses in ``dtype`` (the teacher's, fp32) and the standard
    layout. With ``finite_check`` (the teacher's name and compute dtype),
    non-finite records are refused (:func:`refuse_non_finite`)."""
    move_recorders(fast, recorders)
    queues = [d.data_queue for d in (
        deliveries.deliveries.values() if deliveries is not None else ())]

    def cast_records(*_):
        records = [
            recorder.data_buffer
            for recorder in recorders.recorders.values()
            if not isinstance(recorder, ParameterRecorder)
        ]
        if finite_check is not None:
            refuse_non_finite([r[-1:] for r in records], *finite_check,
                              'recorded features')
        for buffer in records:
            buffer[:] = [restore(item, dtype) for item in buffer]
        for queue in queues:
            items = [restore(item, dtype) for item in queue]
            queue.clear()
            queue.extend(items)

    fast.register_forward_hook(cast_records)


def log_precision(owner: str, precision: str, dtype: Optional[torch.dtype],
                  device: torch.device) -> None:
    """Say once which precision the teacher runs in, and why."""
    if dtype is None:
        what = 'fp32, as it is (no fast copy)'
    else:
        what = (f'{_NAMES.get(dtype, "fp32")}, batch norms folded, '
                'channels-last')
    tf32 = [
        kind for kind, used in tf32_in_use(device).items()
        if used and dtype in (None, torch.float32)
    ]
    if tf32:
        what += (f'; its fp32 {" and ".join(tf32)} run as TF32 (PyTorch\'s '
                 'default on this GPU)')
    MMLogger.get_current_instance().info(
        f'{owner}: teacher forward in {what} on {torch.device(device)} '
        f'(precision={precision!r})')


@contextlib.contextmanager
def exact_fp32():
    """Within the block fp32 convolutions and matrix products on CUDA run
    in fp32 proper, not TF32 (a reference to measure reduced precision
    against)."""
    flags = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = flags


def tf32_in_use(device: torch.device) -> Dict[str, bool]:
    """Whether fp32 convolutions and matrix products on ``device`` run as
    TF32 (CUDA GPUs of compute capability 8.0 or later, as
    ``torch.backends`` allows; never on other devices).

    Args:
        device (torch.device): The device.

    Returns:
        dict: ``{'convolutions': bool, 'matrix products': bool}``.
    """
    device = torch.device(device)
    on = device.type == 'cuda' and torch.cuda.is_available() and \
        torch.cuda.get_device_capability(device) >= TF32_CAPABILITY
    return {
        'convolutions': bool(on and torch.backends.cudnn.allow_tf32),
        'matrix products': bool(on
                                and torch.backends.cuda.matmul.allow_tf32)
    }
