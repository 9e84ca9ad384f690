from .padded_teacher_connector import (PaddedTeacherConnector,
                                       expected_in_channels)
from .per_stage_connector import PerStageConnector
from .width_margin_ofd_connector import WidthMarginOFDConnector

__all__ = [
    'PaddedTeacherConnector', 'expected_in_channels', 'PerStageConnector',
    'WidthMarginOFDConnector'
]
