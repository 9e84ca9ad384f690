from .dataloader_defaults import set_dataloader_defaults
from .plugin_blocks import (TEST_BLOCK_EXPANDERS, TRAIN_BLOCK_EXPANDERS,
                            prepare_test_config, prepare_train_config)
from .work_dir_guard import WorkDirInUseError, guard_work_dir

__all__ = [
    'set_dataloader_defaults', 'prepare_train_config', 'prepare_test_config',
    'TRAIN_BLOCK_EXPANDERS', 'TEST_BLOCK_EXPANDERS', 'guard_work_dir',
    'WorkDirInUseError'
]
