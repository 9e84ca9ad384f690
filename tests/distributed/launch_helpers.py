"""Helpers of the multi-process tests: configs, clean environments, runs."""
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from ..conftest import REPO_ROOT, config_path

#: Every run: 32 training images (2 iterations of 8 per rank per epoch on
#: 2 ranks), 16 validation images, a checkpoint every epoch.
SMALL_RUN = [
    'train_dataloader.dataset.indices=32',
    'train_dataloader.batch_size=8',
    'val_dataloader.dataset.indices=16',
    'val_dataloader.batch_size=8',
    'train_cfg.max_epochs=2',
    'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=1',
    'default_hooks.logger.interval=1',
]

#: Longest a multi-process run may take (they take 10 to 20 s on 2 cores).
RUN_TIMEOUT = 180

_RECORDER = """
custom_imports = dict(
    imports=['pwkd_plugin', 'tests.distributed.rank_recorder'],
    allow_failed_imports=False)
custom_hooks = [dict(type='RankRecorderHook')]
# The configs' RandomCrop stays on: each rank's random state is in the
# epoch checkpoints, so a resumed run crops what the uninterrupted one did.
randomness = dict(seed=0, deterministic=True)
"""


def write_config(path: str, base: str, extra: str = '') -> str:
    """A config on top of one of the repository's (``base``, relative to
    ``configs/``) with :class:`RankRecorderHook`, plus ``extra`` lines."""
    with open(path, 'w') as f:
        f.write(f'_base_ = [{config_path(base)!r}]\n{_RECORDER}{extra}')
    return path


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def clean_env(**extra) -> Dict[str, str]:
    """The test's environment without the variables of an enclosing
    torchrun or Slurm job, one thread per process, this interpreter's
    ``bin`` first on ``PATH`` (``torchrun``, ``python``)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(('SLURM_', 'SRUN_', 'TORCHELASTIC_')) and key
        not in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE',
                'MASTER_ADDR', 'MASTER_PORT', 'GRES', 'PYTHONPATH')
    }
    env['OMP_NUM_THREADS'] = '1'
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env.get(
        'PATH', '')
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run(cmd: Sequence[str],
        env: Dict[str, str],
        cwd: str = REPO_ROOT,
        timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group; on timeout kill the whole group
    (launcher and workers) and fail with the output's end."""
    proc = subprocess.Popen(
        list(cmd),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f'{cmd[0]} ran past {timeout} s:\n{out[-6000:]}')
    return subprocess.CompletedProcess(cmd, proc.returncode, out)


def check_ok(result: subprocess.CompletedProcess) -> str:
    """The output of a run that must have succeeded."""
    assert result.returncode == 0, (
        f'{" ".join(map(str, result.args))} failed '
        f'({result.returncode}):\n{result.stdout[-8000:]}')
    return result.stdout


def dist_train(config: str,
               work_dir: str,
               nproc: int = 2,
               extra_args: Sequence[str] = (),
               cfg_options: Sequence[str] = SMALL_RUN,
               **env) -> str:
    """``tools/dist_train.sh CONFIG NPROC --work-dir ... [args]`` on a free
    port; returns its output."""
    cmd = [
        'bash',
        osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config,
        str(nproc), '--work-dir', work_dir, *extra_args, '--cfg-options',
        *cfg_options
    ]
    return check_ok(run(cmd, clean_env(PORT=free_port(), **env)))


def rank_records(work_dir: str) -> Dict[int, List[dict]]:
    """``rank -> [record of each iteration]`` of :class:`RankRecorderHook`."""
    folder = osp.join(work_dir, 'ranks')
    records = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith('.jsonl'):
            with open(osp.join(folder, name)) as f:
                lines = [json.loads(line) for line in f]
            records[lines[0]['rank']] = lines
    return records


def param_digests(work_dir: str) -> Dict[int, str]:
    """``rank -> digest of its trainable parameters after training``."""
    digests = {}
    for rank in rank_records(work_dir):
        with open(osp.join(work_dir, 'ranks', f'rank{rank}_params.json')) as f:
            digests[rank] = json.load(f)['params_sha256']
    return digests


def without_rank(records: List[dict]) -> List[dict]:
    """The records with the fields that name the process removed."""
    return [{
        k: v
        for k, v in record.items() if k not in ('rank', 'slurm_procid')
    } for record in records]


def run_log(work_dir: str) -> Optional[str]:
    """The text of the run's log file ``WORK_DIR/<time>/<time>.log``."""
    for entry in sorted(os.listdir(work_dir)):
        log = osp.join(work_dir, entry, f'{entry}.log')
        if osp.isfile(log):
            with open(log) as f:
                return f.read()
    return None
