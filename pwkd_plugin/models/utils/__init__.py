from .quiet_logger import quiet_logger
from .stage_plan import (equal_stage_lengths, proportional_stage_lengths,
                         stage_boundaries, stage_index)
from .widths import DEFAULT_WIDTHS, check_widths, slim_channels, width_tag

__all__ = [
    'DEFAULT_WIDTHS', 'check_widths', 'slim_channels', 'width_tag',
    'equal_stage_lengths', 'proportional_stage_lengths',
    'stage_boundaries', 'stage_index', 'quiet_logger'
]
