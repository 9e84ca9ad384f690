"""Run-time helpers of the tools (``tools/*.py``)."""
from .dataloader_defaults import set_dataloader_defaults
from .train_and_validate import train_and_validate
from .work_dir_guard import WorkDirInUseError, guard_work_dir

__all__ = [
    'set_dataloader_defaults', 'guard_work_dir', 'WorkDirInUseError',
    'train_and_validate'
]
