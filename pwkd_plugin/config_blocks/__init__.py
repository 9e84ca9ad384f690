"""The plugin's config blocks (``pwkd``, ``slimmable``, ``fast_teacher``):
their keys, their checks and their expansion into the Runner's config.

:data:`TRAIN_BLOCK_EXPANDERS` and :data:`TEST_BLOCK_EXPANDERS`
(:mod:`.plugin_blocks`) name each block and the function that expands it.
"""
from .fast_teacher_block import (FAST_TEACHER_DEFAULTS,
                                 check_fast_teacher_block, expand_fast_teacher)
from .plugin_blocks import (TEST_BLOCK_EXPANDERS, TRAIN_BLOCK_EXPANDERS,
                            prepare_test_config, prepare_train_config)
from .pwkd_block import (LR_CYCLE_DEFAULTS, PWKD_DEFAULTS, check_pwkd_block,
                         expand_pwkd_test, expand_pwkd_train,
                         without_pretrained_weights)
from .slimmable_block import (SLIMMABLE_DEFAULTS, check_slimmable_block,
                              expand_slimmable_test, expand_slimmable_train)

__all__ = [
    'prepare_train_config', 'prepare_test_config', 'TRAIN_BLOCK_EXPANDERS',
    'TEST_BLOCK_EXPANDERS', 'SLIMMABLE_DEFAULTS', 'check_slimmable_block',
    'expand_slimmable_train', 'expand_slimmable_test', 'PWKD_DEFAULTS',
    'LR_CYCLE_DEFAULTS', 'check_pwkd_block', 'expand_pwkd_train',
    'expand_pwkd_test', 'without_pretrained_weights', 'FAST_TEACHER_DEFAULTS',
    'check_fast_teacher_block', 'expand_fast_teacher'
]
