"""Fix ``checkpoint_loading``: mmengine checkpoints load weights-only."""
import os
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import pwkd_plugin  # noqa: F401  (applies the fixes)
from pwkd_plugin.compat import allow_mmengine_checkpoint_types
from pwkd_plugin.compat.checkpoint_loading import history_buffer_getattr

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import run_python  # noqa: E402
from _tiny_runner import tiny_runner  # noqa: E402


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A real checkpoint: one epoch of a tiny Runner, saved by CheckpointHook."""
    work_dir = str(tmp_path_factory.mktemp('tiny_run'))
    tiny_runner(work_dir, max_epochs=1, name='compat_ckpt_make').train()
    path = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(path)
    return path


def trusted_load(path):
    """Full unpickling: only for files these tests made themselves."""
    return torch.load(path, map_location='cpu', weights_only=False)


def test_the_checkpoint_holds_more_than_tensors(checkpoint):
    ckpt = trusted_load(checkpoint)
    assert {'meta', 'state_dict', 'message_hub', 'optimizer',
            'param_schedulers'} <= set(ckpt)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2
    hub = ckpt['message_hub']
    loss = hub['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert isinstance(loss.data[0], np.ndarray)
    info = hub['runtime_info']
    assert isinstance(info['np_scalar'], np.float64)
    assert isinstance(info['np_array'], np.ndarray)
    assert info['np_array'].dtype == np.int64


def test_without_the_fix_loading_and_resuming_fail(checkpoint, tmp_path):
    result = run_python(
        f'''
import os
import torch
from _tiny_runner import tiny_runner

path = {checkpoint!r}
r = {{}}
r['pwkd_plugin_imported'] = 'pwkd_plugin' in sys.modules
r['load'] = outcome(lambda: sorted(torch.load(path)))


def resume():
    tiny_runner('resume', 2, 'resume', load_from=path, resume=True).train()


r['resume'] = outcome(resume)
r['load_from'] = outcome(lambda: tiny_runner(
    'load', 1, 'load', load_from=path).load_or_resume())

# The same interpreter once the plugin is imported.
import pwkd_plugin
r['load_with_fix'] = outcome(lambda: sorted(torch.load(path)))
r['env'] = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
report(r)
''',
        cwd=str(tmp_path))
    assert not result['pwkd_plugin_imported']
    for key in ('load', 'resume', 'load_from'):
        assert result[key].get('error') == 'UnpicklingError', (key, result)
        assert 'Weights only load failed' in result[key]['msg']
    # What the weights-only unpickler stumbles over first.
    assert ('Unsupported global: GLOBAL mmengine.logging.history_buffer.'
            'HistoryBuffer') in result['load']['msg']
    assert result['load_with_fix'] == {
        'ok': ['message_hub', 'meta', 'optimizer', 'param_schedulers',
               'state_dict']
    }
    # The plugin does not switch weights-only loading off for everything.
    assert result['env'] is None


def test_torch_load_is_weights_only_and_loads_it(checkpoint):
    # weights_only=True is torch's default; say it once explicitly, too.
    for ckpt in (torch.load(checkpoint, map_location='cpu'),
                 torch.load(checkpoint, map_location='cpu',
                            weights_only=True)):
        trusted = trusted_load(checkpoint)
        assert ckpt['meta'] == trusted['meta']
        for key, value in trusted['state_dict'].items():
            assert torch.equal(ckpt['state_dict'][key], value)
        info = ckpt['message_hub']['runtime_info']
        assert info['np_scalar'] == np.float64(0.5)
        assert isinstance(info['np_scalar'], np.float64)
        np.testing.assert_array_equal(info['np_array'], np.arange(3))
        assert info['np_array'].dtype == np.int64
        assert ckpt['optimizer']['param_groups'] == trusted['optimizer'][
            'param_groups']


def test_history_buffer_statistics_work_after_loading(checkpoint):
    loaded = torch.load(checkpoint)['message_hub']['log_scalars']
    trusted = trusted_load(checkpoint)['message_hub']['log_scalars']
    assert set(loaded) == set(trusted)
    for key, buffer in loaded.items():
        assert isinstance(buffer, HistoryBuffer)
        reference = trusted[key]
        for method in ('mean', 'min', 'max', 'current'):
            assert buffer.statistics(method) == reference.statistics(method)
        assert buffer.mean(2) == reference.mean(2)
        np.testing.assert_array_equal(buffer.data[0], reference.data[0])
    loss = loaded['train/loss']
    assert len(loss.data[0]) == 2  # one value per iteration of the epoch
    loss.update(0.0)
    assert loss.current() == 0.0 and len(loss.data[0]) == 3


def test_runner_resumes_and_trains_on(checkpoint, tmp_path):
    runner = tiny_runner(
        str(tmp_path),
        max_epochs=2,
        name='compat_ckpt_resume',
        load_from=checkpoint,
        resume=True)
    runner.train()
    assert runner.epoch == 2 and runner.iter == 4
    assert osp.isfile(osp.join(str(tmp_path), 'epoch_2.pth'))
    # Only the second epoch ran here: the first came from the checkpoint.
    assert not osp.exists(osp.join(str(tmp_path), 'epoch_1.pth'))
    hub = runner.message_hub
    assert len(hub.get_scalar('train/loss').data[0]) == 4
    assert hub.get_info('np_scalar') == 0.5
    # MultiStepLR(milestones=[1], gamma=0.5) was resumed past its milestone.
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.005)]
    # The resumed checkpoint of epoch 2 loads weights-only, too.
    assert torch.load(osp.join(str(tmp_path), 'epoch_2.pth'))['meta'][
        'epoch'] == 2


def test_load_from_without_resume_loads_the_weights(checkpoint, tmp_path):
    runner = tiny_runner(
        str(tmp_path),
        max_epochs=1,
        name='compat_ckpt_load',
        load_from=checkpoint)
    saved = trusted_load(checkpoint)['state_dict']
    assert not torch.equal(runner.model.fc.weight, saved['fc.weight'])
    runner.load_or_resume()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert runner.iter == 0  # loaded, not resumed


class _ImportOs:

    def __reduce__(self):
        return (__import__, ('os', ))


class GetattrOsSystem:
    """Unpickles to ``getattr(os, 'system')``."""

    def __reduce__(self):
        return (getattr, (_ImportOs(), 'system'))


class GetattrHistoryBufferInit:
    """``getattr`` on the allow-listed HistoryBuffer, but not a statistic."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


class GetattrNdarrayTofile:
    """``getattr`` on another allow-listed class."""

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


class OsSystem:
    """Names ``os.system`` directly."""

    def __reduce__(self):
        return (os.system, ('true', ))


@pytest.mark.parametrize(
    'payload, unguarded',
    [(GetattrOsSystem, os.system),
     (GetattrHistoryBufferInit, HistoryBuffer.__init__),
     (GetattrNdarrayTofile, np.ndarray.tofile), (OsSystem, None)],
    ids=lambda p: getattr(p, '__name__', None))
def test_crafted_checkpoints_are_still_refused(payload, unguarded, tmp_path):
    path = str(tmp_path / 'crafted.pth')
    torch.save({'state_dict': {}, 'x': payload()}, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        torch.load(path)
    if payload in (GetattrHistoryBufferInit, GetattrNdarrayTofile):
        # Refused by the restricted getattr that the fix allow-lists.
        assert 'weights-only load refused getattr' in str(info.value)
    if unguarded is not None:
        # The payload is real: a full unpickler hands out what it names.
        assert trusted_load(path)['x'] == unguarded


def test_history_buffer_getattr_allows_only_statistics():
    for name in ('mean', 'min', 'max', 'current'):
        assert history_buffer_getattr(HistoryBuffer,
                                      name) is getattr(HistoryBuffer, name)
    for obj, name in ((HistoryBuffer, '__init__'), (HistoryBuffer, 'update'),
                      (HistoryBuffer, '__class__'), (os, 'system'),
                      (np.ndarray, 'mean'), (type('Sub', (HistoryBuffer, ),
                                                  {}), 'mean')):
        with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
            history_buffer_getattr(obj, name)


def test_only_the_restricted_getattr_is_allow_listed():
    safe = torch.serialization.get_safe_globals()
    assert getattr not in safe
    assert (history_buffer_getattr, 'builtins.getattr') in safe
    assert HistoryBuffer in safe


def test_allow_listing_again_changes_nothing():
    before = list(torch.serialization.get_safe_globals())
    assert allow_mmengine_checkpoint_types() is True
    assert allow_mmengine_checkpoint_types() is True
    after = list(torch.serialization.get_safe_globals())
    assert len(after) == len(before)
    assert set(map(repr, after)) == set(map(repr, before))
