from .slimmable_teacher_channel_unit import SlimmableTeacherChannelUnit
from .slimmable_teacher_mutator import (SlimmableTeacherMutator,
                                        UntraceableModelError)
from .width_check import MostlyWholeTeacherError, WidthForwardError

__all__ = [
    'SlimmableTeacherMutator', 'SlimmableTeacherChannelUnit',
    'UntraceableModelError', 'MostlyWholeTeacherError', 'WidthForwardError'
]
