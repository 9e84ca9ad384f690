from .pwkd_stage_hook import PWKDStageHook
from .random_state_hook import RandomStateHook
from .slimmable_bn_recalibration_hook import (SlimmableBNRecalibrationHook,
                                              recalibrate_bn_statistics)

__all__ = [
    'PWKDStageHook', 'RandomStateHook', 'SlimmableBNRecalibrationHook',
    'recalibrate_bn_statistics'
]
