"""tools/slurm_train.sh on a real single-node Slurm started by the test.

The test writes a slurm.conf for this host (one node, one partition
``debug``, its own ports, state and log files under a temporary folder),
starts its own munged (own key and socket), slurmctld and slurmd with that
configuration, waits for the node to be idle, submits
``tools/slurm_train.sh`` with two tasks and stops the daemons afterwards. It
needs Debian's ``slurmctld``, ``slurmd``, ``slurm-client`` and ``munge``
packages (``.ci/run`` installs them) and root (slurmd starts job steps as
their user); without them it is skipped, saying what is missing.
"""
import os
import os.path as osp
import shutil
import socket
import subprocess
import time

import pytest

from ..conftest import REPO_ROOT
from .launch_helpers import (RUN_TIMEOUT, clean_env, free_port, param_digests,
                             rank_records, run, run_log, without_rank,
                             write_config)

DAEMONS = ('munged', 'slurmctld', 'slurmd')
CLIENTS = ('srun', 'sinfo', 'scontrol', 'scancel')
PACKAGES = 'slurmctld slurmd slurm-client munge'
START_TIMEOUT = 60

SLURM_CONF = """\
ClusterName=pwkdtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _missing():
    """Why this machine cannot run the test, or None."""
    missing = [name for name in DAEMONS + CLIENTS if shutil.which(name) is None
               and not osp.exists(osp.join('/usr/sbin', name))]
    if missing:
        return (f'Slurm is not installed here: {", ".join(missing)} not '
                f'found (Debian: apt-get install {PACKAGES}; .ci/run does)')
    if os.geteuid() != 0:
        return ('a local Slurm needs root: slurmd starts the job steps as '
                'the submitting user')
    return None


def _which(name):
    return shutil.which(name) or osp.join('/usr/sbin', name)


class LocalSlurm:
    """munged, slurmctld and slurmd of one node, all under ``root``."""

    def __init__(self, root: str):
        self.root = root
        self.host = socket.gethostname().split('.')[0]
        self.conf = osp.join(root, 'slurm.conf')
        self.procs = []
        for folder in ('munge', 'state', 'spool', 'log'):
            os.makedirs(osp.join(root, folder), mode=0o700, exist_ok=True)
        with open(self.conf, 'w') as f:
            f.write(
                SLURM_CONF.format(
                    host=self.host,
                    root=root,
                    ctld_port=free_port(),
                    slurmd_port=free_port(),
                    cpus=max(2, os.cpu_count() or 1)))

    def env(self, **extra):
        return clean_env(SLURM_CONF=self.conf, **extra)

    def _start(self, name, *args):
        log = open(osp.join(self.root, 'log', f'{name}.out'), 'w')
        proc = subprocess.Popen([_which(name), *args],
                                env=self.env(),
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self):
        munge = osp.join(self.root, 'munge')
        key = osp.join(munge, 'munge.key')
        with open(key, 'wb') as f:  # a key of this cluster only
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self._start('munged', '--foreground', '--force',
                    f'--key-file={key}',
                    f'--socket={munge}/munge.socket',
                    f'--pid-file={munge}/munged.pid',
                    f'--seed-file={munge}/munged.seed',
                    f'--log-file={munge}/munged.log')
        self._wait(lambda: osp.exists(osp.join(munge, 'munge.socket')),
                   'munged to create its socket')
        self._start('slurmctld', '-D', '-i')
        self._start('slurmd', '-D')
        self._wait(self._node_idle, f'node {self.host} to be idle')

    def _node_idle(self):
        result = subprocess.run(
            ['sinfo', '--noheader', '--format=%t', f'--nodes={self.host}'],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10)
        return result.stdout.strip() == 'idle'

    def _wait(self, ready, what):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise AssertionError(
                        f'{proc.args[0]} exited ({proc.returncode}) while '
                        f'waiting for {what}:\n{self.logs()}')
            if ready():
                return
            time.sleep(0.5)
        raise AssertionError(f'no {what} after {START_TIMEOUT} s:\n'
                             f'{self.logs()}')

    def logs(self):
        text = []
        for folder in ('log', 'munge'):
            for name in sorted(os.listdir(osp.join(self.root, folder))):
                if name.endswith(('.log', '.out')):
                    with open(osp.join(self.root, folder, name)) as f:
                        text.append(f'--- {name}\n{f.read()[-3000:]}')
        return '\n'.join(text)

    def stop(self):
        if any(proc.poll() is None for proc in self.procs[1:]):
            subprocess.run(['scancel', '--full', '--partition=debug'],
                           env=self.env(), capture_output=True, timeout=30)
        for proc in reversed(self.procs):  # slurmd, slurmctld, munged
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


@pytest.fixture(scope='module')
def slurm(tmp_path_factory):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    cluster = LocalSlurm(str(tmp_path_factory.mktemp('slurm')))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def test_slurm_train_with_two_tasks(slurm, tmp_path):
    config = write_config(str(tmp_path / 'teacher.py'),
                          'pwkd/teachers/slimmable_resnet20_digits.py')
    work_dir = str(tmp_path / 'work_dir')
    # The users' command line; the node has no GPU resources, so the
    # script leaves out --gres by itself.
    result = run([
        'bash',
        osp.join(REPO_ROOT, 'tools', 'slurm_train.sh'), 'debug', 'pwkd_test',
        config, work_dir, '--cfg-options',
        'train_dataloader.dataset.indices=32',
        'train_dataloader.batch_size=8', 'val_dataloader.dataset.indices=16',
        'val_dataloader.batch_size=8', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'default_hooks.logger.interval=1'
    ],
                 env=slurm.env(
                     GPUS=2,
                     GPUS_PER_NODE=2,
                     CPUS_PER_TASK=1,
                     MASTER_PORT=free_port()),
                 cwd=str(tmp_path),
                 timeout=RUN_TIMEOUT)
    assert result.returncode == 0, (
        f'slurm_train.sh failed ({result.returncode}):\n'
        f'{result.stdout[-8000:]}\n{slurm.logs()}')
    assert 'not asking for --gres' in result.stdout
    # It finished: its checkpoint and log are there.
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    log = run_log(work_dir)
    assert log is not None, os.listdir(work_dir)
    assert 'Distributed launcher: slurm' in log and 'GPU number: 2' in log
    assert 'width_1/accuracy/top1' in log
    # Two Slurm tasks of one job were the two ranks, in step.
    records = rank_records(work_dir)
    assert sorted(records) == [0, 1]
    for rank, lines in records.items():
        assert {r['slurm_procid'] for r in lines} == {str(rank)}
        assert {r['world_size'] for r in lines} == {2}
    job_ids = {r['slurm_job_id'] for lines in records.values() for r in lines}
    assert len(job_ids) == 1 and None not in job_ids
    assert without_rank(records[0]) == without_rank(records[1])
    assert len(records[0]) == 2
    digests = param_digests(work_dir)
    assert digests[0] == digests[1]
