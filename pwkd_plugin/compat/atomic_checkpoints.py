"""Checkpoints and the ``last_checkpoint`` record are written atomically.

What breaks: mmengine 0.10.7 writes a checkpoint with ``open(path, 'wb')``
and one ``write`` (``LocalBackend.put``), and ``CheckpointHook`` writes the
``last_checkpoint`` record with ``open(path, 'w')``. A process killed during
either (SIGKILL, out of memory, a preempted job) leaves a truncated
``epoch_N.pth`` or an empty ``last_checkpoint``: ``--resume`` then fails on
a file it cannot read, or silently starts a new run.

Fix: local file writes of mmengine's file backend, and the record written
by ``CheckpointHook``, go to a temporary file in the same folder, which is
flushed to disk and then renamed over the target (``os.replace``, atomic on
POSIX and Windows). A reader sees the old file or the new one, never half
of one; a killed write leaves only a hidden ``.<name>.<pid>.<id>.tmp``.
"""
import builtins
import os
import os.path as osp
import uuid

import mmengine
from mmengine.fileio.backends import local_backend
from mmengine.hooks import checkpoint_hook

_applied = False


def _temporary_path(path: str) -> str:
    directory, name = osp.split(osp.abspath(path))
    return osp.join(directory,
                    f'.{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp')


class AtomicFile:
    """A file opened for writing that replaces ``path`` only when closed
    without an error.

    Args:
        path (str): The file to write.
        mode (str): A writing mode (``'w'``, ``'wb'``, ...).
        **kwargs: More arguments of :func:`open` (e.g. ``encoding``).
    """

    def __init__(self, path: str, mode: str = 'wb', **kwargs) -> None:
        self.path = os.fspath(path)
        self.temporary = _temporary_path(self.path)
        # O_EXCL: a fresh file; 0o666 lets the umask decide, as open() does.
        fd = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o666)
        self.file = os.fdopen(fd, mode, **kwargs)

    def write(self, data):
        return self.file.write(data)

    def close(self, commit: bool = True) -> None:
        if self.file.closed:
            return
        try:
            if commit:
                self.file.flush()
                os.fsync(self.file.fileno())
        finally:
            self.file.close()
        if commit:
            os.replace(self.temporary, self.path)
        elif osp.exists(self.temporary):
            os.remove(self.temporary)

    def __enter__(self) -> 'AtomicFile':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(commit=exc_type is None)


def atomic_open(file, mode: str = 'r', *args, **kwargs):
    """:func:`open`, atomic for writing modes (``'w'``), unchanged else."""
    if 'w' not in mode or args:
        return builtins.open(file, mode, *args, **kwargs)
    return AtomicFile(file, mode, **kwargs)


def _atomic_put(self, obj: bytes, filepath) -> None:
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(filepath)))
    with AtomicFile(filepath, 'wb') as f:
        f.write(obj)


def _atomic_put_text(self, obj: str, filepath, encoding: str = 'utf-8'):
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(filepath)))
    with AtomicFile(filepath, 'w', encoding=encoding) as f:
        f.write(obj)


def make_checkpoint_writes_atomic() -> None:
    """Make mmengine's local checkpoint and record writes atomic
    (idempotent)."""
    global _applied
    if _applied:
        return
    local_backend.LocalBackend.put = _atomic_put
    local_backend.LocalBackend.put_text = _atomic_put_text
    # CheckpointHook writes last_checkpoint with the built-in open; a
    # module-level name shadows the built-in for that module only.
    checkpoint_hook.open = atomic_open
    _applied = True
