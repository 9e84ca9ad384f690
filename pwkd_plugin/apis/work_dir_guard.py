"""Refuse to train over the checkpoints of an earlier run."""
import glob
import os.path as osp
from typing import List

from mmengine.config import Config


class WorkDirInUseError(FileExistsError):
    """The work dir holds the checkpoints of another run."""


def _checkpoints(work_dir: str) -> List[str]:
    return sorted(
        osp.basename(path) for path in glob.glob(osp.join(work_dir, '*.pth'))
        if osp.isfile(path))


def _recorded_latest(work_dir: str):
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        last = f.read().strip()
    return last if last and osp.isfile(last) else None


def _names(found: List[str]) -> str:
    shown = ', '.join(found[:4])
    return shown + (f' and {len(found) - 4} more' if len(found) > 4 else '')


def guard_work_dir(cfg: Config) -> None:
    """Refuse a run that would write over another run's checkpoints.

    mmengine writes the new run's ``epoch_N.pth`` over the old ones (and its
    ``max_keep_ckpts`` then deletes them). A work dir holding any ``*.pth``
    is only trained in by a run that resumes one of them: ``--resume`` with
    a path in that work dir, or ``--resume`` alone when the dir's
    ``last_checkpoint`` names an existing checkpoint.

    Args:
        cfg (Config): A training config with ``work_dir`` set (and
            ``resume`` / ``load_from`` as ``tools/train.py`` sets them).

    Raises:
        WorkDirInUseError: If the work dir holds checkpoints and the run
            does not resume one of them.
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
        if _recorded_latest(work_dir) is None:
            raise WorkDirInUseError(
                f'{held}, but no last_checkpoint record names one of them, '
                'so --resume alone would start a new run over them. Name '
                'the checkpoint to continue from: --resume '
                f'{osp.join(work_dir, found[-1])}')
        return
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
