from .widths_loops import WidthsTestLoop, WidthsValLoop

__all__ = ['WidthsValLoop', 'WidthsTestLoop']
