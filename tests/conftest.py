"""Shared fixtures: the repository's configs, shrunk to run in seconds.

Two tiers. The CPU tier (the default) hides every GPU from the tests and the
processes they start (``CUDA_VISIBLE_DEVICES=''``, set before torch is
imported): mmengine's Runner moves a model to CUDA whenever one is visible,
and these tests compare against CPU results, use
``randomness.deterministic=True`` (which CUDA refuses for some operators)
and expect the CPU launch (gloo). The CUDA tier, the tests marked
``@pytest.mark.cuda``, runs with ``PWKD_TEST_CUDA=1`` (``pytest -m cuda``)
on a machine with a GPU; it then runs alone.
"""
import os
import os.path as osp

#: Whether this run is the CUDA tier.
CUDA_TIER = os.environ.get('PWKD_TEST_CUDA') == '1'
if not CUDA_TIER:
    os.environ['CUDA_VISIBLE_DEVICES'] = ''

import pytest  # noqa: E402
import torch  # noqa: E402

import pwkd_plugin  # noqa: F401,E402  (compat fixes before mmrazor.models)
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

# Each pytest-xdist worker is a process of its own: one thread per worker, so
# that the workers share the cores instead of competing for them (the runs
# they start as subprocesses inherit it).
if os.environ.get('PYTEST_XDIST_WORKER'):
    os.environ['OMP_NUM_THREADS'] = '1'
    torch.set_num_threads(1)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def config_path(relative: str) -> str:
    """Absolute path of a config of this repository."""
    return osp.join(REPO_ROOT, 'configs', relative)


def shrink(cfg: Config,
           work_dir: str,
           num_train: int = 64,
           num_val: int = 32,
           max_epochs: int = 1,
           batch_size: int = 16) -> Config:
    """Make a config train a few iterations on a subset, quietly.

    Args:
        cfg (Config): A training config, changed in place.
        work_dir (str): Where the run writes.
        num_train (int): Training samples kept. Defaults to 64.
        num_val (int): Validation samples kept. Defaults to 32.
        max_epochs (int): Training epochs. Defaults to 1.
        batch_size (int): Batch size of both loaders. Defaults to 16.

    Returns:
        Config: The same config.
    """
    cfg.work_dir = work_dir
    cfg.train_dataloader.dataset.indices = num_train
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.pop('persistent_workers', None)
    for loader in ('val_dataloader', 'test_dataloader'):
        if cfg.get(loader) is not None:
            cfg[loader].dataset.indices = num_val
            cfg[loader].batch_size = batch_size
            cfg[loader].num_workers = 0
            cfg[loader].pop('persistent_workers', None)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.fixture(autouse=True)
def no_default_scope_from_other_tests():
    """Every test starts without a default registry scope.

    A Runner leaves its config's default scope (mmpretrain) behind as the
    current one; unscoped mmrazor types built afterwards would be looked up
    in mmpretrain's registry.
    """
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()


@pytest.fixture(autouse=True)
def no_environment_from_other_tests():
    """Every test starts with the environment the session started with.

    The launch code under test sets ``RANK``, ``LOCAL_RANK``, ``MASTER_PORT``
    ... in ``os.environ`` itself, where ``monkeypatch`` does not undo them; a
    ``RANK=3`` left behind made a later ``tools/train.py`` subprocess of the
    same worker a non-first process, which moves no checkpoint aside.
    """
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


@pytest.fixture(scope='session')
def digits_teacher_ckpt(tmp_path_factory):
    """A real checkpoint of the demo ResNet20 teacher (one short epoch)."""
    work_dir = str(tmp_path_factory.mktemp('digits_teacher'))
    cfg = shrink(
        Config.fromfile(config_path('demo/resnet20_digits.py')), work_dir)
    Runner.from_cfg(cfg).train()
    return osp.join(work_dir, 'epoch_1.pth')


@pytest.fixture(scope='session')
def digits_slimmable_teacher_ckpt(tmp_path_factory):
    """A real checkpoint of the demo slimmable teacher (one short epoch)."""
    from pwkd_plugin.config_blocks import prepare_train_config
    work_dir = str(tmp_path_factory.mktemp('digits_slimmable_teacher'))
    cfg = prepare_train_config(
        Config.fromfile(config_path('pwkd/teachers/'
                                    'slimmable_resnet20_digits.py')))
    Runner.from_cfg(shrink(cfg, work_dir)).train()
    return osp.join(work_dir, 'epoch_1.pth')


#: The test files that take longest, longest first (measured with
#: ``--durations``). With several pytest-xdist workers (``make test``:
#: ``--dist loadfile --no-loadscope-reorder``) they start first, so that
#: the short files fill the other workers beside them instead of one long
#: file running alone at the end.
LONG_TEST_FILES = (
    'tests/peer/test_mmrazor_unit_tests.py',
    'tests/integration/test_mmrazor_configs_with_pwkd.py',
    'tests/integration/test_teacher_families.py',
    'tests/benchmarks/test_benchmarks_run.py',
    'tests/benchmarks/test_regimes.py',
    'tests/integration/test_pwkd_training.py',
    'tests/distributed/test_dist_train.py',
    'tests/integration/test_pwkd_resume_plan.py',
    'tests/integration/test_pwkd_fault_kill.py',
    'tests/models/mutators/test_teacher_family_widths.py',
)


def _tier_skip(item):
    """Why ``item`` does not run in this tier (None: it runs)."""
    is_cuda = item.get_closest_marker('cuda') is not None
    if is_cuda and not CUDA_TIER:
        return ('CUDA tier: run with PWKD_TEST_CUDA=1 (pytest -m cuda) on a '
                'machine with a GPU; the CPU tier hides CUDA')
    if is_cuda and not torch.cuda.is_available():
        return 'CUDA tier: no CUDA GPU is visible'
    if CUDA_TIER and not is_cuda:
        return ('CPU tier: runs with CUDA hidden, without PWKD_TEST_CUDA=1')
    return None


def pytest_collection_modifyitems(config, items):
    """Skip the tests of the other tier, saying why; put the files of
    :data:`LONG_TEST_FILES` first, in that order."""
    for item in items:
        reason = _tier_skip(item)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
    rank = {path: index for index, path in enumerate(LONG_TEST_FILES)}

    def order(item):
        path = osp.relpath(str(item.fspath), REPO_ROOT)
        return rank.get(path, len(rank))

    items.sort(key=order)  # stable: the order within each file stays
