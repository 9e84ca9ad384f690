"""Partial to whole distillation around any single-teacher mmrazor method."""
from typing import Optional, Sequence

import torch
from mmrazor.registry import MODELS

from ..losses import adapt_distiller
from .fast_teacher_distill import FastTeacherDistill
from .partial_teacher import (WIDTH_MUTATOR, build_partial_teacher,
                              static_teacher_at_width)


@MODELS.register_module()
class PWKDDistill(FastTeacherDistill):
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
    teacher costs what a network of that width costs; with
    ``teacher_precision`` other than ``'fp32'`` that copy is a fast one
    (batch norms folded, channels-last, reduced precision where the hardware
    has it natively; see :class:`FastTeacherDistill`). ``self.teacher``
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
            the active width (False: on the slimmable layers as they are,
            which slice their weights on every forward; ``teacher_precision``
            does not apply to them). Defaults to True.
        teacher_precision (str): The static copy's precision: ``'auto'``,
            ``'bf16'``, ``'fp16'`` or ``'fp32'`` (the static copy as it is).
            See :class:`FastTeacherDistill`. Defaults to ``'auto'``.
        **kwargs: The wrapped algorithm's other arguments (``architecture``,
            ``distiller``, ``fold_bn``, ...).
    """

    def __init__(self,
                 teacher: dict,
                 teacher_ckpt: str,
                 base_type: str = 'SingleTeacherDistill',
                 widths: Optional[Sequence[float]] = None,
                 feature_strategy: str = 'slice',
                 static_teacher: bool = True,
                 teacher_precision: str = 'auto',
                 **kwargs) -> None:
        teacher = build_partial_teacher(teacher, teacher_ckpt, widths)
        super().__init__(
            teacher=teacher,
            teacher_ckpt=None,
            teacher_precision=teacher_precision if static_teacher else 'fp32',
            **kwargs)
        # A tuple keeps it out of the submodules (and the state dict); the
        # teacher forward swaps self.teacher for a static copy.
        self._slimmable_teacher = (self.teacher, )
        self.loss_adaptation = adapt_distiller(
            self.distiller, feature_strategy,
            dict(kwargs.get('distiller') or {}).get('connectors') or {},
            self.teacher_mutator)
        self.teacher.eval()
        self.static_teacher = static_teacher

    def init_weights(self) -> None:
        """Initialise as the base method does; the teacher keeps the weights
        of the slimmable checkpoint (a whole-model ``Pretrained`` init_cfg,
        such as a previous training stage's checkpoint, would otherwise
        overwrite the layers whose names it shares with them)."""
        teacher_state = {
            key: value.clone()
            for key, value in self.teacher.state_dict().items()
        }
        super().init_weights()
        self.teacher.load_state_dict(teacher_state)

    def _teacher_key(self):
        return self.teacher_mutator.current_width

    def _teacher_source(self) -> torch.nn.Module:
        if not self.static_teacher:
            return self._slimmable_teacher[0]
        return static_teacher_at_width(self._slimmable_teacher[0])

    @property
    def teacher_mutator(self):
        """The mutator that sets the teacher's width."""
        return getattr(self._slimmable_teacher[0], WIDTH_MUTATOR)

    def train(self, mode: bool = True):
        """Train the student; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self
