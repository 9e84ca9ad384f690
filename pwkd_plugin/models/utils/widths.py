"""Width ratios of a slimmable network and the channel counts they give."""
from numbers import Real
from typing import Sequence, Tuple

DEFAULT_WIDTHS = (0.25, 0.5, 0.75, 1.0)


def check_widths(widths: Sequence[float], key: str = 'widths') -> Tuple[float]:
    """Validate width ratios: strictly ascending, in (0, 1], ending at 1.0.

    Args:
        widths (Sequence[float]): The ratios.
        key (str): Name of the setting, used in the error message.

    Returns:
        Tuple[float]: The ratios as floats.

    Raises:
        ValueError: Naming ``key`` and the rule that is broken.
    """
    if isinstance(widths, (str, bytes)) or not isinstance(
            widths, Sequence) or len(widths) == 0:
        raise ValueError(f'{key} must be a non-empty list of width ratios, '
                         f'got {widths!r}')
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, Real):
            raise ValueError(f'{key} must hold numbers, got {width!r} in '
                             f'{list(widths)}')
        if not 0 < width <= 1:
            raise ValueError(f'{key} must lie in (0, 1], got {width!r} in '
                             f'{list(widths)}')
    if any(b <= a for a, b in zip(widths, widths[1:])):
        raise ValueError(
            f'{key} must be strictly ascending, got {list(widths)}')
    if widths[-1] != 1:
        raise ValueError(
            f'{key} must end at 1.0 (the whole network), got {list(widths)}')
    return tuple(float(w) for w in widths)


def slim_channels(num_channels: int,
                  width: float,
                  divisor: int = 1,
                  min_channels: int = 1) -> int:
    """Channel count of a layer at a width ratio.

    ``width * num_channels`` rounded half up to a multiple of ``divisor``,
    at least ``max(divisor, min_channels)`` (never zero) and at most
    ``num_channels``; the whole width keeps every channel.

    Args:
        num_channels (int): Channels of the whole layer.
        width (float): Width ratio in (0, 1].
        divisor (int): Counts are multiples of it. Defaults to 1.
        min_channels (int): Lower bound. Defaults to 1.

    Returns:
        int: The channel count.
    """
    if width >= 1:
        return num_channels
    channels = int(width * num_channels / divisor + 0.5) * divisor
    channels = max(channels, divisor, min_channels, 1)
    return min(channels, num_channels)


def width_tag(width: float) -> str:
    """The name of a width in metric and loss keys, e.g. ``'width_0.25'``."""
    return f'width_{width:g}'
