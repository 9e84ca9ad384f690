"""The partial-to-whole stage plan: which stage (and width) a step is in."""
import math
from itertools import accumulate
from typing import List, Sequence, Tuple


def equal_stage_lengths(total: int, num_stages: int) -> List[int]:
    """Split ``total`` epochs or iterations into ``num_stages`` near-equal
    stages; the later stages take the remainder (the whole teacher last).

    Args:
        total (int): The training length.
        num_stages (int): The number of stages.

    Returns:
        List[int]: The stage lengths; they add up to ``total``.
    """
    if num_stages < 1 or total < num_stages:
        raise ValueError(f'cannot split a training length of {total} into '
                         f'{num_stages} stages of at least 1')
    base, extra = divmod(total, num_stages)
    return [base + (1 if index >= num_stages - extra else 0)
            for index in range(num_stages)]


def proportional_stage_lengths(total: int,
                               ratios: Sequence[float]) -> List[int]:
    """Split ``total`` into stages proportional to ``ratios``, each at least
    1, adding up to ``total`` (largest remainders take what rounding down
    leaves; on a tie the later stage, nearer the whole teacher).

    Args:
        total (int): The training length, in epochs or iterations.
        ratios (Sequence[float]): Relative stage lengths, each positive.

    Returns:
        List[int]: The stage lengths.
    """
    if len(ratios) < 1 or total < len(ratios):
        raise ValueError(f'cannot split a training length of {total} into '
                         f'{len(ratios)} stages of at least 1')
    shares = [total * r / sum(ratios) for r in ratios]
    lengths = [max(1, math.floor(share)) for share in shares]
    while sum(lengths) > total:  # stages raised to 1 take from the longest
        lengths[lengths.index(max(lengths))] -= 1
    by_remainder = sorted(range(len(ratios)),
                          key=lambda i: (shares[i] - lengths[i], i),
                          reverse=True)
    for index in by_remainder[:total - sum(lengths)]:
        lengths[index] += 1
    return lengths


#: The share of the training the narrower widths take together in the
#: default plan (the whole width trains the rest): 1:1:1:5 with four widths.
PARTIAL_SHARE = 3 / 8


def short_partial_stage_ratios(num_stages: int) -> List[float]:
    """The default plan's stage ratios: the narrower widths share
    :data:`PARTIAL_SHARE` of the training equally, the whole width the rest
    (``[1, 1, 1, 5]`` / 8 with four widths; one stage: ``[1]``).

    Args:
        num_stages (int): The number of stages (teacher widths).

    Returns:
        List[float]: The ratios, adding up to 1.
    """
    if num_stages < 1:
        raise ValueError(f'a plan needs at least one stage, got {num_stages}')
    if num_stages == 1:
        return [1.0]
    partial = PARTIAL_SHARE / (num_stages - 1)
    return [partial] * (num_stages - 1) + [1 - PARTIAL_SHARE]

def stage_boundaries(stage_lengths: Sequence[int]) -> List[int]:
    """Where each stage starts: ``[0, l0, l0 + l1, ...]`` (one per stage)."""
    return [0] + list(accumulate(stage_lengths))[:-1]


def stage_index(progress: int, stage_lengths: Sequence[int]) -> int:
    """The stage that epoch or iteration ``progress`` (0-based) belongs to.

    Progress past the end stays in the last stage.
    """
    for index, end in enumerate(accumulate(stage_lengths)):
        if progress < end:
            return index
    return len(stage_lengths) - 1


def teacher_stage(epoch: int, iteration: int, widths: Sequence[float],
                  stage_lengths: Sequence[int],
                  by_epoch: bool) -> Tuple[int, float]:
    """The stage and teacher width of a training step: the one rule that
    ``PWKDStageHook`` trains with and the schedule plot draws.

    Args:
        epoch (int): The step's epoch (0-based).
        iteration (int): The step's iteration of the whole run (0-based).
        widths (Sequence[float]): The teacher width of each stage.
        stage_lengths (Sequence[int]): Each stage's length, in epochs when
            ``by_epoch`` else in iterations.
        by_epoch (bool): Whether stages count epochs.

    Returns:
        Tuple[int, float]: The stage (0-based) and its teacher width.
    """
    stage = stage_index(epoch if by_epoch else iteration, stage_lengths)
    return stage, widths[stage]
