"""Hiding mmengine's INFO chatter around noisy calls."""
import contextlib
import logging

from mmengine.logging import MMLogger


@contextlib.contextmanager
def quiet_logger(level: int = logging.WARNING):
    """Raise the current mmengine logger's level for a block.

    Used around the channel tracer (one INFO line per traced operator) and
    weight initialisation (one line per parameter).

    Args:
        level (int): The least level shown inside the block. Defaults to
            ``logging.WARNING``.
    """
    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(max(level, previous))
    try:
        yield
    finally:
        logger.setLevel(previous)
