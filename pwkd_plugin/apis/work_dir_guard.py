"""Refuse to train over the checkpoints of an earlier run."""
import glob
import os
import os.path as osp
import re
import time
from typing import List, Optional, Tuple

from mmengine.config import Config

#: The ``tools/train.py`` option that moves the later checkpoints aside.
SET_ASIDE_OPTION = '--set-aside-later'


class WorkDirInUseError(FileExistsError):
    """The work dir holds the checkpoints of another run."""


def _checkpoints(work_dir: str) -> List[str]:
    return sorted(
        osp.basename(path) for path in glob.glob(osp.join(work_dir, '*.pth'))
        if osp.isfile(path))


def _recorded(work_dir: str) -> Optional[str]:
    """The path the work dir's ``last_checkpoint`` record names, if any."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        return f.read().strip() or None


def _names(found: List[str]) -> str:
    shown = ', '.join(found[:4])
    return shown + (f' and {len(found) - 4} more' if len(found) > 4 else '')


def _progress(name: str) -> Optional[Tuple[str, int]]:
    """``('epoch', 3)`` for ``epoch_3.pth`` (and ``best_..._epoch_3.pth``)."""
    match = re.search(r'(epoch|iter)_(\d+)\.pth$', name)
    return (match.group(1), int(match.group(2))) if match else None


def later_checkpoints(work_dir: str, checkpoint: str) -> List[str]:
    """The work dir's checkpoints written after ``checkpoint`` by its run.

    Args:
        work_dir (str): The work dir.
        checkpoint (str): A checkpoint in it (``epoch_N.pth`` or
            ``iter_N.pth``).

    Returns:
        list[str]: File names with a larger epoch (or iteration) number,
        in order.
    """
    resumed = _progress(osp.basename(checkpoint))
    if resumed is None:
        return []
    later = [(_progress(name), name) for name in _checkpoints(work_dir)]
    later = [(p[1], name) for p, name in later
             if p and p[0] == resumed[0] and p[1] > resumed[1]]
    return [name for _, name in sorted(later)]


def _is_first_process() -> bool:
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if key in os.environ:
            return os.environ[key] == '0'
    return True


def set_aside(work_dir: str, names: List[str], resumed: str) -> str:
    """Move ``names`` into a new ``set_aside_<time>`` folder of the work dir.

    The ``last_checkpoint`` record is pointed at ``resumed``, so that a
    ``--resume`` after a kill continues this run, not a moved checkpoint.

    Returns:
        str: The folder.
    """
    folder = osp.join(work_dir,
                      time.strftime('set_aside_%Y%m%d_%H%M%S'))
    os.makedirs(folder)
    for name in names:
        os.replace(osp.join(work_dir, name), osp.join(folder, name))
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.abspath(resumed))
    return folder


def _resolve_record(work_dir: str, held: str, found: List[str]) -> str:
    """The checkpoint of this work dir that ``--resume`` alone continues."""
    recorded = _recorded(work_dir)
    if recorded is None or not osp.isfile(recorded) and not osp.isfile(
            osp.join(work_dir, osp.basename(recorded))):
        raise WorkDirInUseError(
            f'{held}, but no last_checkpoint record names one of them, '
            'so --resume alone would start a new run over them. Name '
            'the checkpoint to continue from: --resume '
            f'{osp.join(work_dir, found[-1])}')
    if osp.isfile(recorded) and osp.samefile(
            osp.dirname(osp.abspath(recorded)), work_dir):
        return recorded
    # A copied or moved work dir: its record names the original's file.
    own = osp.join(work_dir, osp.basename(recorded))
    if not osp.isfile(own):
        raise WorkDirInUseError(
            f'{work_dir}/last_checkpoint names {recorded}, a checkpoint of '
            f'another work dir, and {own} does not exist: --resume alone '
            'would continue that other run. Name the checkpoint to continue '
            f'from: --resume {osp.join(work_dir, found[-1])}')
    print(f'{work_dir}/last_checkpoint names {recorded} (another work dir); '
          f'resuming this work dir\'s {own}')
    return own


def guard_work_dir(cfg: Config, set_aside_later: bool = False) -> None:
    """Refuse a run that would write over another run's checkpoints.

    mmengine writes the new run's ``epoch_N.pth`` over the old ones (and its
    ``max_keep_ckpts`` then deletes them). A work dir holding any ``*.pth``
    is only trained in by a run that resumes one of them: ``--resume`` with
    a path in that work dir, or ``--resume`` alone when the dir's
    ``last_checkpoint`` names a checkpoint of this work dir (a record naming
    another dir's file, as a copied work dir has, is taken as the file of
    that name here). A resumed checkpoint older than the dir's latest is
    refused too (the continued run would write over the later ones), unless
    ``set_aside_later`` moves them into a ``set_aside_<time>`` folder.

    Args:
        cfg (Config): A training config with ``work_dir`` set (and
            ``resume`` / ``load_from`` as ``tools/train.py`` sets them).
            ``load_from`` is set to the checkpoint ``--resume`` alone
            continues.
        set_aside_later (bool): Move the checkpoints later than the resumed
            one aside instead of refusing (done by the first process only).
            Defaults to False.

    Raises:
        WorkDirInUseError: If the work dir holds checkpoints and the run
            does not resume one of them, or resumes one older than others.
    """
    work_dir = cfg.work_dir
    found = _checkpoints(work_dir)
    if not found:
        return
    held = (f'work_dir {work_dir!r} already holds checkpoints '
            f'({_names(found)})')
    if not cfg.get('resume', False):
        raise WorkDirInUseError(
            f'{held}; a new run here would overwrite them. Pass --resume to '
            'continue that run, or choose another --work-dir.')
    resume_from = cfg.get('load_from')
    if resume_from is None:
        resume_from = cfg.load_from = _resolve_record(work_dir, held, found)
    if not osp.isfile(resume_from):
        raise FileNotFoundError(
            f'--resume {resume_from}: no such checkpoint file')
    if not osp.samefile(
            osp.dirname(osp.abspath(resume_from)), work_dir):
        raise WorkDirInUseError(
            f'{held}; --resume {resume_from} is not one of them, and the '
            'resumed run would overwrite them. Resume into its own work dir '
            f'(--work-dir {osp.dirname(resume_from) or "."}) or choose '
            'another --work-dir.')
    later = later_checkpoints(work_dir, resume_from)
    if not later:
        return
    if not set_aside_later:
        raise WorkDirInUseError(
            f'--resume {resume_from} is older than the checkpoints '
            f'{_names(later)} of work_dir {work_dir!r}: the continued run '
            'would write over them. Continue it in another work dir '
            f'(--work-dir NEW_DIR --resume {resume_from}; NEW_DIR then holds '
            f'the continued run), or add {SET_ASIDE_OPTION} to move them '
            f'into a new folder {osp.join(work_dir, "set_aside_<time>")} '
            'first.')
    if _is_first_process():
        folder = set_aside(work_dir, later, resume_from)
        print(f'moved {_names(later)} into {folder}')
