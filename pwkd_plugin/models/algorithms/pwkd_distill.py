"""Partial to whole distillation around any single-teacher mmrazor method."""
import functools
from typing import Dict, Optional, Sequence

from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS

from ..losses import adapt_distiller
from .partial_teacher import WIDTH_MUTATOR, build_partial_teacher


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
                 **kwargs) -> None:
        teacher = build_partial_teacher(teacher, teacher_ckpt, widths)
        super().__init__(teacher=teacher, teacher_ckpt=None, **kwargs)
        self.loss_adaptation = adapt_distiller(
            self.distiller, feature_strategy,
            dict(kwargs.get('distiller') or {}).get('connectors') or {},
            self.teacher_mutator)
        self.teacher.eval()

    @property
    def teacher_mutator(self):
        """The mutator that sets the teacher's width."""
        return getattr(self.teacher, WIDTH_MUTATOR)

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
