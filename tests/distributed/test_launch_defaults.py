"""pwkd_plugin.apis.launch_defaults: CPU-only multi-process launches."""
import re
import subprocess

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS, MODELS, DefaultScope

from pwkd_plugin.apis import launch_defaults
from pwkd_plugin.apis.launch_defaults import (init_cpu_distributed,
                                              needs_cpu_launch,
                                              set_launch_defaults,
                                              setup_launch)
from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.models.algorithms.slimmable_teacher_ddp import \
    SlimmableTeacherDDP

from ..conftest import config_path

TEACHER = 'pwkd/teachers/slimmable_resnet20_digits.py'


def _cfg(relative='demo/resnet8_digits.py', launcher='pytorch', **options):
    cfg = Config.fromfile(config_path(relative))
    cfg = prepare_train_config(cfg)
    cfg.launcher = launcher
    cfg.merge_from_dict(options)
    return cfg


def test_nothing_changes_without_launcher_or_with_cuda():
    for cfg, cuda in ((_cfg(launcher='none'), False), (_cfg(), True)):
        before = cfg.to_dict()
        assert set_launch_defaults(cfg, cuda_available=cuda) == []
        assert cfg.to_dict() == before
    assert not needs_cpu_launch(_cfg(launcher='none'), cuda_available=False)
    assert not needs_cpu_launch(_cfg(), cuda_available=True)
    assert needs_cpu_launch(_cfg(launcher='slurm'), cuda_available=False)


def test_cpu_launch_uses_gloo_and_default_wrapper_without_device_ids():
    cfg = _cfg(find_unused_parameters=True)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'  # mmpretrain's default
    changes = set_launch_defaults(cfg, cuda_available=False)
    assert len(changes) == 2 and "'nccl' needs a GPU" in changes[0]
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # The other env_cfg settings stay.
    assert cfg.env_cfg.mp_cfg.mp_start_method == 'fork'
    # What Runner.wrap_model builds without model_wrapper_cfg, on the CPU.
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None)
    # Applying it twice changes nothing more.
    assert set_launch_defaults(cfg, cuda_available=False) == []


def test_cpu_launch_keeps_the_slimmable_wrapper_settings():
    cfg = _cfg(TEACHER, launcher='slurm')
    set_launch_defaults(cfg, cuda_available=False)
    assert cfg.model_wrapper_cfg == dict(
        type='mmrazor.SlimmableTeacherDDP',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None)


def test_cpu_launch_keeps_what_a_config_sets():
    cfg = _cfg(
        env_cfg=dict(dist_cfg=dict(backend='mpi', timeout=60)),
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', device_ids=[3]))
    assert set_launch_defaults(cfg, cuda_available=False) == []
    assert cfg.env_cfg.dist_cfg == dict(backend='mpi', timeout=60)
    assert cfg.model_wrapper_cfg.device_ids == [3]


def test_non_ddp_wrappers_get_no_device_ids():

    @MODEL_WRAPPERS.register_module(force=True)
    class NotADDPWrapper(torch.nn.Module):
        pass

    cfg = _cfg(model_wrapper_cfg=dict(type='NotADDPWrapper'))
    set_launch_defaults(cfg, cuda_available=False)
    assert cfg.model_wrapper_cfg == dict(type='NotADDPWrapper')


@pytest.fixture
def single_process_group(tmp_path):
    """A one-process gloo group, as the runners of a CPU launch have."""
    torch_dist.init_process_group(
        'gloo',
        init_method=f'file://{tmp_path / "store"}',
        rank=0,
        world_size=1)
    yield
    torch_dist.destroy_process_group()


@pytest.mark.parametrize('relative', ['demo/resnet8_digits.py', TEACHER])
def test_the_wrappers_build_around_a_cpu_model(relative, single_process_group,
                                               monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    cfg = _cfg(relative)
    set_launch_defaults(cfg, cuda_available=False)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    wrapper_cfg = dict(cfg.model_wrapper_cfg)
    # What Runner.wrap_model does: device_ids=[LOCAL_RANK] as a default.
    wrapper = MODEL_WRAPPERS.build(
        wrapper_cfg, default_args=dict(module=model, device_ids=[0]))
    assert isinstance(wrapper, MMDistributedDataParallel)
    assert wrapper.device_ids is None
    if relative == TEACHER:
        assert isinstance(wrapper, SlimmableTeacherDDP)
    # Without the defaults torch refuses the CPU module.
    wrapper_cfg.pop('device_ids')
    with pytest.raises(ValueError, match='device_ids'):
        MODEL_WRAPPERS.build(
            wrapper_cfg, default_args=dict(module=model, device_ids=[0]))


def test_slurm_environment_is_the_one_mmengine_sets(monkeypatch):
    for key in ('MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE',
                'LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'node[7-8]')
    asked = []

    def getoutput(cmd):
        asked.append(cmd)
        return 'node7'

    monkeypatch.setattr(subprocess, 'getoutput', getoutput)
    launch_defaults._set_slurm_env(port=12345)
    assert asked == ['scontrol show hostname node[7-8] | head -n1']
    env = {k: launch_defaults.os.environ[k] for k in (
        'MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK')}
    assert env == dict(MASTER_ADDR='node7', MASTER_PORT='12345', RANK='3',
                       WORLD_SIZE='4', LOCAL_RANK='1')
    # MASTER_ADDR / MASTER_PORT the user set are kept.
    monkeypatch.setenv('MASTER_ADDR', 'login1')
    monkeypatch.setenv('MASTER_PORT', '2222')
    launch_defaults._set_slurm_env(port=None)
    assert launch_defaults.os.environ['MASTER_ADDR'] == 'login1'
    assert launch_defaults.os.environ['MASTER_PORT'] == '2222'


def test_unknown_launcher_is_refused():
    with pytest.raises(ValueError, match='Invalid launcher'):
        init_cpu_distributed('torchrun', dict(backend='gloo'))


def test_setup_launch_does_nothing_for_a_single_process():
    cfg = _cfg(launcher='none')
    before = cfg.to_dict(), torch_dist.is_initialized()
    assert setup_launch(cfg) is cfg
    assert (cfg.to_dict(), torch_dist.is_initialized()) == before



def test_sync_bn_is_refused_without_cuda():
    cfg = _cfg(sync_bn='torch')
    with pytest.raises(ValueError, match=re.escape(
            "sync_bn='torch' needs CUDA and none is available")):
        set_launch_defaults(cfg, cuda_available=False)
    assert set_launch_defaults(cfg, cuda_available=True) == []
    assert set_launch_defaults(_cfg(launcher='none', sync_bn='torch'),
                               cuda_available=False) == []


@pytest.mark.parametrize('sync_bn_cfg, block', [
    (TEACHER, 'slimmable'),
    ('pwkd/pwkd_kd_resnet20_resnet8_digits.py', 'pwkd')])
def test_sync_bn_is_refused_with_a_slimmable_network(
        sync_bn_cfg, block, digits_slimmable_teacher_ckpt):
    """mmengine's convert_sync_batchnorm makes one full-width SyncBatchNorm
    of each switchable batch norm: the narrower widths would fail."""
    cfg = Config.fromfile(config_path(sync_bn_cfg))
    if block == 'pwkd':
        cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    cfg.sync_bn = 'torch'
    with pytest.raises(ValueError, match=re.escape(
            f"sync_bn='torch' cannot run with a `{block}` block: mmengine's "
            'convert_sync_batchnorm replaces each switchable batch norm')):
        prepare_train_config(cfg)


@pytest.fixture
def launcher_env(monkeypatch):
    for key in ('LOCAL_RANK', 'SLURM_LOCALID', 'OMPI_COMM_WORLD_LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


@pytest.mark.parametrize('launcher, variable', [
    ('mpi', 'OMPI_COMM_WORLD_LOCAL_RANK'), ('slurm', 'SLURM_LOCALID'),
    ('pytorch', 'LOCAL_RANK')])
def test_local_rank_comes_from_the_launcher(launcher_env, launcher,
                                            variable):
    """mmengine's DDP wrapper takes device_ids=[LOCAL_RANK]; under mpi it
    was 0 on every rank."""
    launcher_env.setenv(variable, '3')
    assert launch_defaults.set_local_rank(launcher, 0, gpu_count=4) == 3
    assert launch_defaults.os.environ['LOCAL_RANK'] == '3'


def test_local_rank_defaults_to_the_command_line(launcher_env):
    assert launch_defaults.set_local_rank('none', 2, gpu_count=0) == 2
    assert launch_defaults.os.environ['LOCAL_RANK'] == '2'


def test_more_processes_than_gpus_are_refused(launcher_env):
    launcher_env.setenv('OMPI_COMM_WORLD_LOCAL_RANK', '2')
    with pytest.raises(RuntimeError, match=re.escape(
            '--launcher mpi: this process is local rank 2 of its node, which '
            'has 2 visible GPU(s) (one process per GPU): start at most 2 '
            'process(es) per node')):
        launch_defaults.set_local_rank('mpi', gpu_count=2)
    # Without a GPU the processes share the CPU: any number.
    assert launch_defaults.set_local_rank('mpi', gpu_count=0) == 2


def test_a_slurm_job_gets_a_rendezvous_port_of_its_own(monkeypatch):
    monkeypatch.delenv('MASTER_PORT', raising=False)
    monkeypatch.setenv('SLURM_JOB_ID', '1234567')
    assert launch_defaults.set_job_master_port('pytorch') is None
    assert 'MASTER_PORT' not in launch_defaults.os.environ
    assert launch_defaults.set_job_master_port('slurm') == '34567'
    assert launch_defaults.os.environ['MASTER_PORT'] == '34567'
    monkeypatch.setenv('MASTER_PORT', '2222')  # the user's is kept
    assert launch_defaults.set_job_master_port('slurm') is None
    assert launch_defaults.os.environ['MASTER_PORT'] == '2222'
