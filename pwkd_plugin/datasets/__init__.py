from .digits import DigitsDataset
from .font_glyphs import FontGlyphs

__all__ = ['DigitsDataset', 'FontGlyphs']
