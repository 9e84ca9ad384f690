"""The CPU tier keeps CUDA hidden from its tests and their processes."""
import os
import subprocess
import sys

import torch

from ..conftest import _tier_skip


def test_cuda_is_hidden_here_and_in_subprocesses():
    assert os.environ['CUDA_VISIBLE_DEVICES'] == ''
    assert not torch.cuda.is_available()
    seen = subprocess.run(
        [sys.executable, '-c',
         'import os, torch; print(os.environ["CUDA_VISIBLE_DEVICES"] == "",'
         ' torch.cuda.is_available())'],
        capture_output=True, text=True, timeout=120)
    assert seen.stdout.split() == ['True', 'False'], seen.stderr[-2000:]


def test_the_cuda_tier_is_skipped_saying_why(request):
    cuda_test = type('Item', (), {
        'get_closest_marker': staticmethod(
            lambda name: object() if name == 'cuda' else None)})()
    assert 'run with PWKD_TEST_CUDA=1' in _tier_skip(cuda_test)
    assert _tier_skip(request.node) is None
