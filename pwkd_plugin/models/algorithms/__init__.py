from .fast_teacher_distill import FastTeacherDistill
from .partial_teacher import build_partial_teacher
from .pwkd_distill import PWKDDistill
from .slimmable_teacher import SlimmableTeacher, train_widths_jointly
from .slimmable_teacher_ddp import SlimmableTeacherDDP

__all__ = [
    'SlimmableTeacher', 'SlimmableTeacherDDP', 'train_widths_jointly',
    'PWKDDistill', 'build_partial_teacher', 'FastTeacherDistill'
]
