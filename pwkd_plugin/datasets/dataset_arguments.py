"""Checks of the arguments the plugin's data sets share."""
import numbers
from typing import Sequence


def check_split_and_image_size(dataset: str, split: str,
                               splits: Sequence[str], image_size,
                               least: int, why: str = '') -> None:
    """Refuse a split that is not one of ``splits`` and an image size that
    is not an integer of at least ``least``.

    Args:
        dataset (str): The data set's class name, for the messages.
        split (str): The split given.
        splits (Sequence[str]): The splits the data set has.
        image_size: The image size given.
        least (int): The least image size.
        why (str): Why sizes below ``least`` are refused (appended to the
            data set's name in the message, e.g. ``': images are 8x8 and
            can only be upscaled'``). Defaults to ``''``.
    """
    if split not in splits:
        raise ValueError(f'Invalid split={split!r} for {dataset}, '
                         f'allowed: {tuple(splits)}.')
    if (isinstance(image_size, bool)
            or not isinstance(image_size, numbers.Integral)):
        raise TypeError(f'{dataset} image_size must be an int, got '
                        f'image_size={image_size!r}.')
    if image_size < least:
        raise ValueError(f'Invalid image_size={image_size} for {dataset}'
                         f'{why}, use image_size >= {least}.')
