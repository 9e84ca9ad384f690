from .slimmable_teacher_channel_unit import SlimmableTeacherChannelUnit
from .slimmable_teacher_mutator import (SlimmableTeacherMutator,
                                        UntraceableModelError)
from .structure_channel_unit import StructureChannelUnit
from .teacher_channel_analyzer import TeacherChannelAnalyzer
from .traced_channel_unit import TracedChannelUnit
from .width_check import MostlyWholeTeacherError, WidthForwardError

__all__ = [
    'SlimmableTeacherMutator', 'SlimmableTeacherChannelUnit',
    'StructureChannelUnit', 'TeacherChannelAnalyzer', 'TracedChannelUnit',
    'UntraceableModelError',
    'MostlyWholeTeacherError', 'WidthForwardError'
]
