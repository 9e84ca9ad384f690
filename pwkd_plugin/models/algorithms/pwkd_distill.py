"""Partial to whole distillation around any single-teacher mmrazor method."""
import functools
from typing import Dict, List, Optional, Sequence

import torch
from mmrazor.models import SingleTeacherDistill
from mmrazor.models.task_modules import ParameterRecorder
from mmrazor.registry import MODELS

from ..losses import adapt_distiller
from .partial_teacher import (WIDTH_MUTATOR, build_partial_teacher,
                              static_teacher_at_width)


@MODELS.register_module()
class PWKDDistill(SingleTeacherDistill):
    """Distil from a slimmable teacher whose width grows stage by stage.

    Wraps a single-teacher distillation algorithm (``base_type``: mmrazor's
    ``SingleTeacherDistill`` or any subclass) and changes only its teacher:
    the teacher is built from the base config, made slimmable and loaded
    from a slimmable teacher checkpoint; its width is set by
    ``PWKDStageHook``. The distiller (recorders, connectors, losses) and
    everything else of the base method stay as they are. The teacher is
    always in eval mode and gets no gradients.

    The teacher forward of a training step runs on an ordinary (static)
    copy of the active width, made when the width changes, so a narrow
    teacher costs what a network of that width costs; ``self.teacher``
    itself stays slimmable (it is what checkpoints hold).

    Args:
        base_type (str): The wrapped algorithm's registered type. Defaults to
            ``'SingleTeacherDistill'``.
        teacher (dict): The base config's teacher (a classifier config).
        teacher_ckpt (str): A slimmable teacher checkpoint.
        widths (Sequence[float], optional): The stage widths (each one the
            teacher was trained with). Defaults to all the teacher's widths.
        feature_strategy (str): How feature losses meet a teacher of fewer
            channels: ``'slice'`` (compare only the teacher's active
            channels), ``'pad'`` (zero-pad the teacher's features) or
            ``'per_stage'`` (one student-side connector per width). See
            :func:`adapt_distiller`. Defaults to ``'slice'``.
        static_teacher (bool): Run the teacher forward on a static copy of
            the active width (False: on the slimmable layers, which slice
            their weights on every forward). Defaults to True.
        **kwargs: The wrapped algorithm's other arguments (``architecture``,
            ``distiller``, ...).
    """

    def __new__(cls, base_type: str = 'SingleTeacherDistill', **kwargs):
        base = MODELS.get(base_type)
        if base is None or not (isinstance(base, type)
                                and issubclass(base, SingleTeacherDistill)):
            raise TypeError(
                f'PWKD wraps SingleTeacherDistill or a subclass of it, got '
                f'base_type={base_type!r}')
        return super().__new__(_with_base(cls, base))

    def __init__(self,
                 teacher: Dict,
                 teacher_ckpt: str,
                 base_type: str = 'SingleTeacherDistill',
                 widths: Optional[Sequence[float]] = None,
                 feature_strategy: str = 'slice',
                 static_teacher: bool = True,
                 **kwargs) -> None:
        teacher = build_partial_teacher(teacher, teacher_ckpt, widths)
        super().__init__(teacher=teacher, teacher_ckpt=None, **kwargs)
        # A tuple keeps it out of the submodules (and the state dict); the
        # teacher forward swaps self.teacher for a static copy.
        self._slimmable_teacher = (self.teacher, )
        self.loss_adaptation = adapt_distiller(
            self.distiller, feature_strategy,
            dict(kwargs.get('distiller') or {}).get('connectors') or {},
            self.teacher_mutator)
        self.teacher.eval()
        self.static_teacher = static_teacher
        self._static_copy = None  # (width, module)
        self.teacher.register_load_state_dict_pre_hook(
            self._drop_static_copy)

    def _drop_static_copy(self, *args, **kwargs) -> None:
        self._static_copy = None

    def active_teacher(self) -> torch.nn.Module:
        """The module that runs the teacher forward at the active width."""
        if not self.static_teacher:
            return self._slimmable_teacher[0]
        width = self.teacher_mutator.current_width
        if self._static_copy is None or self._static_copy[0] != width:
            self._static_copy = None
            static = static_teacher_at_width(self._slimmable_teacher[0])
            recorders = self.distiller.teacher_recorders.recorders.values()
            for recorder in recorders:
                if isinstance(recorder, ParameterRecorder):
                    recorder.data_buffer.clear()  # it holds parameters
            self.distiller.teacher_recorders.initialize(static)
            self._static_copy = (width, static)
        return self._static_copy[1]

    def loss(self,
             batch_inputs: torch.Tensor,
             data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        """The base method's losses, its teacher at the active width."""
        self._modules['teacher'] = self.active_teacher()
        try:
            return super().loss(batch_inputs, data_samples)
        finally:
            self._modules['teacher'] = self._slimmable_teacher[0]

    def _apply(self, fn, *args, **kwargs):
        # A moved or cast teacher needs a new copy.
        self._static_copy = None
        return super()._apply(fn, *args, **kwargs)

    @property
    def teacher_mutator(self):
        """The mutator that sets the teacher's width."""
        return getattr(self._slimmable_teacher[0], WIDTH_MUTATOR)

    def train(self, mode: bool = True):
        """Train the student; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self


@functools.lru_cache(maxsize=None)
def _with_base(pwkd: type, base: type) -> type:
    """``pwkd`` placed in front of ``base`` (a SingleTeacherDistill
    subclass), so that ``base``'s own behaviour is kept."""
    if base is SingleTeacherDistill:
        return pwkd
    return type(f'PWKD{base.__name__}', (pwkd, base), {
        '__module__': pwkd.__module__,
        '__doc__': pwkd.__doc__
    })
