from .classifier_config import build_classifier, strip_model_scope, type_name
from .quiet_logger import quiet_logger
from .stage_plan import (equal_stage_lengths, proportional_stage_lengths,
                         short_partial_stage_ratios, stage_boundaries,
                         stage_index, teacher_stage)
from .widths import DEFAULT_WIDTHS, check_widths, slim_channels, width_tag

__all__ = [
    'DEFAULT_WIDTHS', 'check_widths', 'slim_channels', 'width_tag',
    'equal_stage_lengths', 'proportional_stage_lengths',
    'short_partial_stage_ratios',
    'stage_boundaries', 'stage_index', 'teacher_stage', 'quiet_logger',
    'build_classifier', 'strip_model_scope', 'type_name'
]
