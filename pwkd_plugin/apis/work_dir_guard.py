"""Refuse to train over the checkpoints of an earlier run."""
import os.path as osp

from mmengine.config import Config


class WorkDirInUseError(FileExistsError):
    """The work dir holds the checkpoints of another run."""


def guard_work_dir(cfg: Config) -> None:
    """Refuse a fresh run in a work dir that holds an earlier run's checkpoints.

    mmengine would write the new run's ``epoch_N.pth`` over the old ones.

    Args:
        cfg (Config): A training config with ``work_dir`` set.

    Raises:
        WorkDirInUseError: If ``work_dir`` has a ``last_checkpoint`` record and
            the run does not resume.
    """
    record = osp.join(cfg.work_dir, 'last_checkpoint')
    if cfg.get('resume', False) or not osp.isfile(record):
        return
    with open(record) as f:
        last = f.read().strip()
    raise WorkDirInUseError(
        f'work_dir {cfg.work_dir!r} already holds the checkpoints of a run '
        f'(latest: {last}). Pass --resume to continue that run, or choose '
        'another --work-dir; a new run here would overwrite them.')
