from .dataloader_defaults import set_dataloader_defaults
from .fast_teacher_block import (FAST_TEACHER_DEFAULTS,
                                 check_fast_teacher_block, expand_fast_teacher)
from .plugin_blocks import (TEST_BLOCK_EXPANDERS, TRAIN_BLOCK_EXPANDERS,
                            prepare_test_config, prepare_train_config)
from .pwkd_block import (LR_CYCLE_DEFAULTS, PWKD_DEFAULTS, check_pwkd_block,
                         expand_pwkd_test, expand_pwkd_train)
from .slimmable_block import (SLIMMABLE_DEFAULTS, check_slimmable_block,
                              expand_slimmable_test, expand_slimmable_train)
from .student_export import export_student
from .train_and_validate import train_and_validate
from .ordinary_config import WidthExportError
from .width_export import export_width
from .work_dir_guard import WorkDirInUseError, guard_work_dir

__all__ = [
    'set_dataloader_defaults', 'prepare_train_config', 'prepare_test_config',
    'TRAIN_BLOCK_EXPANDERS', 'TEST_BLOCK_EXPANDERS', 'guard_work_dir',
    'WorkDirInUseError', 'SLIMMABLE_DEFAULTS', 'check_slimmable_block',
    'expand_slimmable_train', 'expand_slimmable_test', 'PWKD_DEFAULTS',
    'LR_CYCLE_DEFAULTS', 'check_pwkd_block', 'expand_pwkd_train',
    'expand_pwkd_test', 'export_width', 'export_student', 'WidthExportError',
    'train_and_validate', 'FAST_TEACHER_DEFAULTS', 'check_fast_teacher_block',
    'expand_fast_teacher'
]
