from .fast_teacher_distill import FastTeacherDistill
from .full_width_checkpoint import (CheckpointMismatchError,
                                    load_full_width_checkpoint)
from .partial_teacher import (NotASlimmableCheckpointError,
                              build_partial_teacher, read_slimmable_teacher)
from .pwkd_distill import PWKDDistill
from .slimmable_teacher import SlimmableTeacher, train_widths_jointly
from .slimmable_teacher_ddp import SlimmableTeacherDDP

__all__ = [
    'SlimmableTeacher', 'SlimmableTeacherDDP', 'train_widths_jointly',
    'load_full_width_checkpoint', 'CheckpointMismatchError', 'PWKDDistill',
    'build_partial_teacher', 'read_slimmable_teacher',
    'NotASlimmableCheckpointError', 'FastTeacherDistill'
]
