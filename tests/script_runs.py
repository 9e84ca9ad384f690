"""A repository script's command line, run in this test process.

Starting a Python process imports the stack again (about 5 s on 2 cores),
which is most of the time of a tool call that refuses its input, prints a
config or plots a schedule. :func:`run_script` runs the script's
``__main__`` here instead, as its command line would (``sys.argv``, working
directory, exit status, stdout and stderr, an uncaught exception's
traceback), and returns what ``subprocess.run(..., capture_output=True,
text=True)`` returns. Tests of what only a new process shows (a kill, a
launcher, the environment a user's shell gives) start one.
"""
import contextlib
import io
import os
import os.path as osp
import runpy
import subprocess
import sys
import traceback
from typing import Optional


def exit_status(code) -> int:
    """The process exit status of ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_script(path: str,
               *args: str,
               cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run ``python path *args`` in this process, the script's folder first
    on ``sys.path`` as Python puts it.

    Args:
        path (str): The script.
        *args (str): Its command-line arguments.
        cwd (str, optional): The working directory it runs in (restored
            after). Defaults to this process's.

    Returns:
        subprocess.CompletedProcess: Its exit status, stdout and stderr.
    """
    argv, search_path, here = sys.argv, list(sys.path), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [path, *args]
    sys.path.insert(0, osp.dirname(osp.abspath(osp.join(cwd or here, path))))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if cwd is not None:
                os.chdir(cwd)
            try:
                runpy.run_path(path, run_name='__main__')
                status = 0
            except SystemExit as exit_:
                status = exit_status(exit_.code)
            except Exception:  # noqa: BLE001  (what a process prints)
                traceback.print_exc()
                status = 1
    finally:
        sys.argv, sys.path[:] = argv, search_path
        os.chdir(here)
    return subprocess.CompletedProcess([sys.executable, path, *args], status,
                                       out.getvalue(), err.getvalue())
