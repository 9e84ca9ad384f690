from .slimmable_teacher_mutator import (SlimmableTeacherMutator,
                                        UntraceableModelError)

__all__ = ['SlimmableTeacherMutator', 'UntraceableModelError']
