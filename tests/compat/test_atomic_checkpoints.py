"""A killed checkpoint save leaves the previous file whole."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import checkpoint_hook

import pwkd_plugin  # noqa: F401  (applies the fix)
from pwkd_plugin.compat import atomic_checkpoints
from pwkd_plugin.compat.atomic_checkpoints import AtomicFile

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _tiny_runner import tiny_runner  # noqa: E402

MODULE = atomic_checkpoints.__file__

# Loads the fix's module alone (not the package, for speed), applies it,
# writes OLD, then dies by SIGKILL half-way through writing NEW.
KILLED_WRITE = '''
import importlib.util, os, signal, sys
spec = importlib.util.spec_from_file_location('atomic', {module!r})
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
atomic.make_checkpoint_writes_atomic()
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import checkpoint_hook
path, kind = sys.argv[1], sys.argv[2]

def write(data):
    if kind == 'checkpoint':
        LocalBackend().put(data.encode(), path)
    else:  # the record, as CheckpointHook writes it
        with checkpoint_hook.open(path, 'w') as f:
            f.write(data)

write('OLD' * 10000)
real_write = atomic.AtomicFile.write

def dying_write(self, data):
    real_write(self, data[:len(data) // 2])
    self.file.flush()
    os.kill(os.getpid(), signal.SIGKILL)

atomic.AtomicFile.write = dying_write
write('NEW' * 10000)
'''


@pytest.mark.parametrize('kind', ['checkpoint', 'last_checkpoint'])
def test_sigkill_during_a_write_keeps_the_old_file(tmp_path, kind):
    path = str(tmp_path / ('epoch_1.pth' if kind == 'checkpoint' else kind))
    result = subprocess.run(
        [sys.executable, '-c', KILLED_WRITE.format(module=MODULE), path, kind],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    with open(path) as f:
        assert f.read() == 'OLD' * 10000
    # The half-written new version is only a hidden temporary file.
    leftovers = [n for n in os.listdir(tmp_path) if n != osp.basename(path)]
    assert len(leftovers) == 1 and leftovers[0].startswith('.')
    assert leftovers[0].endswith('.tmp')
    assert osp.getsize(tmp_path / leftovers[0]) == len('NEW' * 10000) // 2


def test_an_error_during_a_write_keeps_the_old_file(tmp_path):
    path = str(tmp_path / 'record')
    with AtomicFile(path, 'w') as f:
        f.write('old')
    with pytest.raises(RuntimeError):
        with AtomicFile(path, 'w') as f:
            f.write('ne')
            raise RuntimeError('interrupted')
    with open(path) as f:
        assert f.read() == 'old'
    assert os.listdir(tmp_path) == ['record']


def test_the_fix_is_in_place_and_reads_are_untouched(tmp_path):
    assert LocalBackend.put is atomic_checkpoints._atomic_put
    assert checkpoint_hook.open is atomic_checkpoints.atomic_open
    path = str(tmp_path / 'x.txt')
    with checkpoint_hook.open(path, 'w') as f:
        f.write('text')
    with checkpoint_hook.open(path) as f:
        assert f.read() == 'text'
    # Permissions follow the umask, as for open().
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_a_real_run_writes_whole_checkpoints_and_its_record(tmp_path):
    runner = tiny_runner(str(tmp_path), max_epochs=2, name='atomic')
    runner.train()
    names = sorted(os.listdir(tmp_path))
    assert 'epoch_1.pth' in names and 'epoch_2.pth' in names
    assert not [n for n in names if n.endswith('.tmp')]
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read() == str(tmp_path / 'epoch_2.pth')
    state = torch.load(str(tmp_path / 'epoch_2.pth'))['state_dict']
    assert set(state) == {'fc.weight', 'fc.bias'}
