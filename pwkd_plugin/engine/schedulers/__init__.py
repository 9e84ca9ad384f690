from .stage_cyclic_scheduler import (CYCLE_MODES, PWKDCyclicLR,
                                     StageCyclicParamScheduler, check_cycle,
                                     check_stage_lengths)

__all__ = [
    'StageCyclicParamScheduler', 'PWKDCyclicLR', 'check_cycle', 'CYCLE_MODES',
    'check_stage_lengths'
]
