"""Reading and writing the plugin's checkpoints.

========================  ===================================================
module                    what it knows
========================  ===================================================
``slimmable_checkpoint``  whether a checkpoint holds a slimmable teacher
                          (its training config), and reading one
``full_width_checkpoint`` an ordinary checkpoint loaded into the slimmable
                          form of its classifier (``slimmable.init_from``)
``student_checkpoint``    a PWKD run's checkpoint: the teacher's mutator in
                          its meta, read once for both teacher and weights
``checkpoint_file``       a checkpoint file that is missing, empty or cut
``checkpoint_mismatch``   a short account of a checkpoint that does not fit
========================  ===================================================
"""
from .checkpoint_file import check_checkpoint_file
from .checkpoint_mismatch import describe_mismatch
from .full_width_checkpoint import (CheckpointMismatchError,
                                    load_full_width_checkpoint)
from .slimmable_checkpoint import (NotASlimmableCheckpointError,
                                   read_slimmable_teacher,
                                   slimmable_teacher_config)
from .student_checkpoint import (TEACHER_MUTATOR_META, is_loaded,
                                 is_pwkd_student, load_once)

__all__ = [
    'check_checkpoint_file', 'describe_mismatch', 'CheckpointMismatchError',
    'load_full_width_checkpoint', 'NotASlimmableCheckpointError',
    'read_slimmable_teacher', 'slimmable_teacher_config',
    'TEACHER_MUTATOR_META', 'is_loaded', 'is_pwkd_student', 'load_once'
]
