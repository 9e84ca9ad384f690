"""Ordinary mmpretrain classifiers out of the plugin's runs.

==================  =========================================================
module              what it does
==================  =========================================================
``width_export``    one width of a slimmable teacher -> config + checkpoint
                    (``tools/export_width.py``), verified against the teacher
``width_recipes``   per backbone family: its config at a width
``student_export``  a distillation run's student -> config + checkpoint
                    (``tools/extract_student.py``)
``complexity``      parameters and FLOPs of a classifier
``teacher_config``  the slimmable teacher config an export reads
``ordinary_config`` writing the exported config and checkpoint
==================  =========================================================
"""
from .complexity import model_complexity, whole_width_complexity
from .ordinary_config import WidthExportError
from .student_export import export_student
from .width_export import export_width
from .width_recipes import (NO_RECIPE_REASONS, WIDTH_RECIPES,
                            static_classifier_config)

__all__ = [
    'export_width', 'export_student', 'WidthExportError', 'model_complexity',
    'whole_width_complexity', 'WIDTH_RECIPES', 'NO_RECIPE_REASONS',
    'static_classifier_config'
]
