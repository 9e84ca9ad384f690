from .widths_loops import WidthsTestLoop, WidthsValLoop
from .widths_results_dump import DumpWidthsResults

__all__ = ['WidthsValLoop', 'WidthsTestLoop', 'DumpWidthsResults']
