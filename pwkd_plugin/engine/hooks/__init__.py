from .pwkd_stage_hook import PWKDStageHook
from .slimmable_bn_recalibration_hook import (SlimmableBNRecalibrationHook,
                                              recalibrate_bn_statistics)

__all__ = [
    'PWKDStageHook', 'SlimmableBNRecalibrationHook',
    'recalibrate_bn_statistics'
]
