"""Launch settings that let multi-process runs work with and without a GPU.

OpenMMLab configs are written for GPU clusters: mmpretrain's default runtime
sets ``env_cfg.dist_cfg.backend='nccl'``, mmengine's ``Runner.wrap_model``
hands ``device_ids=[LOCAL_RANK]`` to every ``DistributedDataParallel``
wrapper, and mmengine's ``init_dist`` calls ``torch.cuda.set_device``. On a
machine without CUDA all three fail. :func:`setup_launch` (called by
``tools/train.py`` and ``tools/test.py``) changes nothing when CUDA is
available or the launcher is ``'none'``; otherwise it

* uses the ``gloo`` backend instead of a GPU-only one (``nccl``, ...),
* gives the DDP model wrapper ``device_ids=None`` (what torch's DDP wants
  for a CPU module), for mmengine's default wrapper as for a configured
  ``model_wrapper_cfg`` such as the slimmable teacher's
  ``SlimmableTeacherDDP``,
* initialises the process group itself, with the environment mmengine's
  ``init_dist`` would set (``pytorch``: torchrun's variables; ``slurm``:
  ``SLURM_PROCID``/``SLURM_NTASKS``/``SLURM_LOCALID``, the first host of
  ``SLURM_NODELIST`` as ``MASTER_ADDR``; ``mpi``: Open MPI's variables), so
  that the Runner finds it initialised and skips ``init_dist``.
"""
import copy
import datetime
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

#: Backends that need an accelerator; replaced by ``gloo`` without CUDA.
GPU_ONLY_BACKENDS = ('nccl', 'hccl', 'cncl', 'mccl', 'smddp')
CPU_BACKEND = 'gloo'
DEFAULT_MASTER_PORT = '29500'

_logged = False


def _is_ddp_wrapper(wrapper_type) -> bool:
    """Whether a ``model_wrapper_cfg`` type builds a torch DDP subclass."""
    from mmengine.registry import MODEL_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel
    cls = wrapper_type
    if isinstance(wrapper_type, str):
        cls = MODEL_WRAPPERS.get(wrapper_type)  # None when unknown
    return isinstance(cls, type) and issubclass(cls, DistributedDataParallel)


def set_launch_defaults(cfg: Config,
                        cuda_available: Optional[bool] = None) -> list:
    """Adapt a runner config to a CPU-only distributed launch, in place.

    Nothing changes when ``cfg.launcher`` is ``'none'`` (or missing) or CUDA
    is available. Otherwise a GPU-only ``env_cfg.dist_cfg.backend`` (or
    none, mmengine's default being ``nccl``) becomes ``'gloo'``, and the
    model wrapper gets ``device_ids=None``: mmengine's default wrapper is
    written out as the config it would build (``MMDistributedDataParallel``
    with ``broadcast_buffers=False`` and the config's
    ``find_unused_parameters``), a configured DDP wrapper (e.g.
    ``mmrazor.SlimmableTeacherDDP``) keeps its settings. A ``device_ids``
    the config sets itself is kept. A ``sync_bn`` is refused.

    Args:
        cfg (Config): The runner config (after the plugin blocks are
            expanded).
        cuda_available (bool, optional): Overrides
            ``torch.cuda.is_available()``, for tests.

    Returns:
        list[str]: One line per change made (empty when none).
    """
    if not needs_cpu_launch(cfg, cuda_available):
        return []
    if cfg.get('sync_bn', None) is not None:
        raise ValueError(
            f'sync_bn={cfg.sync_bn!r} needs CUDA and none is available: '
            "torch's SyncBatchNorm trains only on GPU tensors. Remove sync_bn "
            'to train on the CPU (each process normalises its own batch)')
    changes = []
    env_cfg = copy.deepcopy(cfg.get('env_cfg', None) or ConfigDict())
    dist_cfg = env_cfg.get('dist_cfg', None) or ConfigDict()
    backend = dist_cfg.get('backend', 'nccl')
    if backend in GPU_ONLY_BACKENDS:
        dist_cfg['backend'] = CPU_BACKEND
        changes.append(f'env_cfg.dist_cfg.backend: {backend!r} needs a GPU '
                       f'and none is available, using {CPU_BACKEND!r} on '
                       'the CPU')
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg

    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None)
        changes.append('model wrapper: MMDistributedDataParallel with '
                       'device_ids=None (CPU module)')
    elif 'device_ids' not in wrapper and _is_ddp_wrapper(
            wrapper.get('type', 'MMDistributedDataParallel')):
        wrapper = copy.deepcopy(wrapper)
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
        changes.append(f'model wrapper: {wrapper.get("type")} with '
                       'device_ids=None (CPU module)')
    return changes


#: Where each launcher says which process of its node this one is.
LOCAL_RANK_VARIABLES = dict(
    pytorch='LOCAL_RANK', slurm='SLURM_LOCALID',
    mpi='OMPI_COMM_WORLD_LOCAL_RANK')


def set_local_rank(launcher: str,
                   local_rank: int = 0,
                   gpu_count: Optional[int] = None) -> int:
    """Set ``LOCAL_RANK`` (mmengine's DDP ``device_ids``) from the launcher.

    mmengine's ``init_dist`` selects the GPU of the launcher's local rank,
    but its DDP wrapper reads ``LOCAL_RANK``, which only torchrun sets (and
    mmengine's Slurm setup, as the rank modulo the GPU count): under
    ``mpi`` every rank would pass ``device_ids=[0]``. A local rank with no
    GPU of its own is refused here, before anything is built, instead of
    failing later with "invalid device ordinal" (or two ranks sharing one
    GPU, under Slurm).

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        local_rank (int): ``--local-rank`` of the command line, used when
            the environment says nothing. Defaults to 0.
        gpu_count (int, optional): The GPUs visible; defaults to
            ``torch.cuda.device_count()`` (0 without CUDA).

    Returns:
        int: The local rank.

    Raises:
        RuntimeError: When the local rank is not below the GPU count.
    """
    variable = LOCAL_RANK_VARIABLES.get(launcher)
    if variable is not None and variable in os.environ:
        os.environ['LOCAL_RANK'] = os.environ[variable]
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
    rank = int(os.environ['LOCAL_RANK'])
    if gpu_count is None:
        gpu_count = torch.cuda.device_count() if \
            torch.cuda.is_available() else 0
    if launcher != 'none' and 0 < gpu_count <= rank:
        raise RuntimeError(
            f'--launcher {launcher}: this process is local rank {rank} of '
            f'its node, which has {gpu_count} visible GPU(s) (one process '
            f'per GPU): start at most {gpu_count} process(es) per node '
            f'(tools/dist_train.sh CONFIG {gpu_count}; Slurm '
            f'--ntasks-per-node={gpu_count}; mpirun -npernode {gpu_count}), '
            'or make more GPUs visible (CUDA_VISIBLE_DEVICES)')
    return rank


def set_job_master_port(launcher: str) -> Optional[str]:
    """Give a Slurm job a rendezvous port of its own, unless one is set.

    mmengine (and torch) fall back to port 29500, so two jobs whose first
    tasks share a node would meet on one port. Under ``--launcher slurm``
    without ``MASTER_PORT``, the port becomes 20000 + the job id modulo
    20000 (ports 20000 to 39999), the same on every task of the job.

    Args:
        launcher (str): The ``--launcher`` of the run.

    Returns:
        str | None: The port set, or None when nothing was set.
    """
    job = os.environ.get('SLURM_JOB_ID')
    if launcher != 'slurm' or 'MASTER_PORT' in os.environ or \
            not (job or '').isdigit():
        return None
    os.environ['MASTER_PORT'] = str(20000 + int(job) % 20000)
    return os.environ['MASTER_PORT']


def _init_kwargs(dist_cfg: dict) -> dict:
    """``init_process_group`` keyword arguments of ``dist_cfg``."""
    kwargs = dict(dist_cfg)
    kwargs.pop('backend', None)
    kwargs.pop('port', None)
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    return kwargs


def _set_slurm_env(port) -> None:
    """The environment mmengine's ``_init_dist_slurm`` sets."""
    node_list = os.environ['SLURM_NODELIST']
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', DEFAULT_MASTER_PORT)
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def _set_mpi_env() -> None:
    """The environment mmengine's ``_init_dist_mpi`` sets."""
    os.environ.setdefault('MASTER_PORT', DEFAULT_MASTER_PORT)
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('The environment variable MASTER_ADDR is not set')
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']


def init_cpu_distributed(launcher: str, dist_cfg: dict) -> None:
    """Initialise the default process group without touching CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which raises
    on a machine without a GPU driver; this sets the same environment and
    calls ``torch.distributed.init_process_group`` alone.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        dist_cfg (dict): ``env_cfg.dist_cfg`` (``backend``, optional
            ``timeout`` in seconds, ``port`` for Slurm, other keyword
            arguments of ``init_process_group``).
    """
    if torch_dist.is_initialized():
        return
    if launcher == 'slurm':
        _set_slurm_env(dist_cfg.get('port'))
    elif launcher == 'mpi':
        _set_mpi_env()
    elif launcher != 'pytorch':
        raise ValueError(f'Invalid launcher type: {launcher}')
    torch_dist.init_process_group(
        backend=dist_cfg.get('backend', CPU_BACKEND), **_init_kwargs(dist_cfg))


def needs_cpu_launch(cfg: Config,
                     cuda_available: Optional[bool] = None) -> bool:
    """Whether ``cfg`` launches several processes on a machine without
    CUDA."""
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    return (cfg.get('launcher', 'none') or 'none') != 'none' and \
        not cuda_available


def setup_launch(cfg: Config) -> Config:
    """The launch defaults of ``tools/train.py`` and ``tools/test.py``.

    Without CUDA and with a launcher, applies :func:`set_launch_defaults`
    and initialises the process group (:func:`init_cpu_distributed`); the
    changes are logged once, by rank 0. Otherwise does nothing.

    Args:
        cfg (Config): The runner config, ``launcher`` set.

    Returns:
        Config: The same config.
    """
    global _logged
    if not needs_cpu_launch(cfg):
        return cfg
    changes = set_launch_defaults(cfg, cuda_available=False)
    init_cpu_distributed(cfg.launcher, cfg.env_cfg.dist_cfg)
    if not _logged and torch_dist.get_rank() == 0:
        _logged = True
        print_log(
            f'No CUDA device: {torch_dist.get_world_size()} processes '
            f'(launcher {cfg.launcher!r}) train on the CPU with the '
            f'{torch_dist.get_backend()!r} backend. ' + '; '.join(changes),
            logger='current')
    return cfg


def teardown_launch() -> None:
    """Destroy the process group of a multi-process run, if there is one.

    Called by every rank when the run is done: a process that exits with its
    process group still alive can abort while the interpreter shuts down (its
    communication threads are still joinable), failing a run that has
    finished.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        # A rank that destroys its group while another still finishes its
        # run (rank 0 writes the last checkpoint) can abort at exit
        # ('terminate called without an active exception'): all ranks
        # reach this point first.
        torch_dist.barrier()
        torch_dist.destroy_process_group()
