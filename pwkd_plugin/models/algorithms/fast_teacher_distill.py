"""Any single-teacher mmrazor method with its teacher forward on a fast copy."""
import functools
from typing import Dict, List, Optional

import torch
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS

from .fast_teacher import (check_precision, log_precision, make_fast_teacher,
                           move_recorders, resolve_precision)


@MODELS.register_module()
class FastTeacherDistill(SingleTeacherDistill):
    """Run the frozen teacher's forward on a fast copy of it.

    Wraps a single-teacher distillation algorithm (``base_type``: mmrazor's
    ``SingleTeacherDistill`` or any subclass) and changes only where its
    teacher forward runs: on a copy of the teacher with its batch norms
    folded into the convolutions, in the channels-last layout and in the
    reduced precision the hardware runs natively (see
    :mod:`pwkd_plugin.models.algorithms.fast_teacher`). The precision is
    decided once, when the first training step finds the teacher's device,
    and logged. The teacher outputs and everything the distiller's recorders
    record reach the losses in the teacher's dtype (fp32). ``self.teacher``
    stays as it is (checkpoints hold it); the copy is made again when the
    teacher's weights are loaded or the model is moved.

    Args:
        base_type (str): The wrapped algorithm's registered type. Defaults to
            ``'SingleTeacherDistill'``.
        teacher_precision (str): ``'auto'`` (bf16 / fp16 where the hardware
            has it natively, else fp32 arithmetic), ``'bf16'``, ``'fp16'``,
            or ``'fp32'`` (no fast copy: the base algorithm unchanged).
            Defaults to ``'auto'``.
        fold_bn (bool): Fold the teacher's batch norms into the convolutions
            before them (not those whose inputs or weights a recorder reads,
            nor convolutions a recorder reads). Defaults to True.
        channels_last (bool): Run the teacher in the channels-last layout.
            Defaults to True.
        compile (dict, optional): ``torch.compile`` options for the copy
            (``{}`` for the defaults); None does not compile. Defaults to
            None.
        **kwargs: The wrapped algorithm's arguments (``architecture``,
            ``teacher``, ``distiller``, ...).
    """

    def __new__(cls, base_type: str = 'SingleTeacherDistill', **kwargs):
        base = MODELS.get(base_type)
        if base is None or not (isinstance(base, type)
                                and issubclass(base, SingleTeacherDistill)):
            raise TypeError(
                f'{cls.__name__} wraps SingleTeacherDistill or a subclass of '
                f'it, got base_type={base_type!r}')
        return super().__new__(with_base(cls, base))

    def __init__(self,
                 base_type: str = 'SingleTeacherDistill',
                 teacher_precision: str = 'auto',
                 fold_bn: bool = True,
                 channels_last: bool = True,
                 compile: Optional[Dict] = None,
                 **kwargs) -> None:
        check_precision(teacher_precision, 'teacher_precision')
        if compile is not None and not isinstance(compile, dict):
            raise ValueError('compile must be a dict of torch.compile '
                             f'options or None, got {compile!r}')
        super().__init__(**kwargs)
        if self.teacher_trainable and teacher_precision != 'fp32':
            raise ValueError(
                'teacher_precision must be \'fp32\' with teacher_trainable='
                'True: only a frozen teacher runs on a fast copy')
        self.teacher_precision = teacher_precision
        self.fast_options = dict(
            fold_bn=fold_bn, channels_last=channels_last, compile=compile)
        self._teacher_dtype = None  # (device, dtype), decided once
        self._teacher_copy = None  # (key, module)
        self.teacher.register_load_state_dict_pre_hook(
            self._drop_teacher_copy)

    def _drop_teacher_copy(self, *args, **kwargs) -> None:
        self._teacher_copy = None

    def _teacher_key(self):
        """What the teacher copy depends on besides weights and device."""
        return None

    def _teacher_source(self) -> torch.nn.Module:
        """The module the teacher forward runs on before speeding it up."""
        return self.teacher

    def teacher_dtype(self, device: torch.device) -> Optional[torch.dtype]:
        """The teacher's compute precision on ``device`` (None: as it is)."""
        if self._teacher_dtype is None or self._teacher_dtype[0] != device:
            dtype = resolve_precision(self.teacher_precision, device)
            log_precision(type(self).__name__, self.teacher_precision, dtype,
                          device)
            self._teacher_dtype = (device, dtype)
        return self._teacher_dtype[1]

    def active_teacher(self) -> torch.nn.Module:
        """The module that runs the teacher forward of a training step."""
        key = self._teacher_key()
        if self._teacher_copy is None or self._teacher_copy[0] != key:
            self._teacher_copy = None
            source = self._teacher_source()
            param = next(source.parameters(), torch.empty(0))
            dtype = self.teacher_dtype(param.device)
            recorders = self.distiller.teacher_recorders
            if dtype is not None:
                name = type(self.teacher).__name__
                if key is not None:
                    name += f' at width {key}'
                source = make_fast_teacher(
                    source, dtype, recorders,
                    deliveries=self.distiller.deliveries,
                    name=name,
                    **self.fast_options)
            elif source is not self.teacher:
                move_recorders(source, recorders)
            self._teacher_copy = (key, source)
        return self._teacher_copy[1]

    def loss(self,
             batch_inputs: torch.Tensor,
             data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        """The base method's losses, its teacher forward on the copy."""
        teacher = self._modules['teacher']
        self._modules['teacher'] = self.active_teacher()
        try:
            return super().loss(batch_inputs, data_samples)
        finally:
            self._modules['teacher'] = teacher

    def _apply(self, fn, *args, **kwargs):
        # A moved or cast teacher needs a new copy.
        self._teacher_copy = None
        return super()._apply(fn, *args, **kwargs)


@functools.lru_cache(maxsize=None)
def with_base(wrapper: type, base: type) -> type:
    """``wrapper`` placed in front of ``base`` (a SingleTeacherDistill
    subclass), so that ``base``'s own behaviour is kept."""
    if base is SingleTeacherDistill:
        return wrapper
    prefix = wrapper.__name__[:-len('Distill')]
    return type(f'{prefix}{base.__name__}', (wrapper, base), {
        '__module__': wrapper.__module__,
        '__doc__': wrapper.__doc__
    })
