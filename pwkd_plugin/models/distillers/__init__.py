from .partial_teacher_ofd_distiller import PartialTeacherOFDDistiller

__all__ = ['PartialTeacherOFDDistiller']
