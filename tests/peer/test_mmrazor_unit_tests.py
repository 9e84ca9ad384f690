"""mmrazor 1.0.0's own ``tests/test_models``, run under the plugin.

They are the best statement of how mmrazor must behave under our compat
layer. Every test passes except those listed with their reasons in
:mod:`.mmrazor_exclusions`, which must fail in the way listed there (the
quantization ones with the plugin's clear error). ``python
tests/peer/count_mmrazor_tests.py`` prints the counts.
"""
import os
import os.path as osp

import pytest

from .mmrazor_exclusions import EXCLUDED
from .mmrazor_sdist import run_sdist_tests, sdist_tests


@pytest.fixture(scope='module')
def mmrazor_results(tmp_path_factory):
    """Run the sdist's tests once; the outcome of each, by node id."""
    results, status = run_sdist_tests(
        str(tmp_path_factory.mktemp('mmrazor') / 'junit.xml'))
    if results is None:
        pytest.skip(status)
    return results


def _exclusion(node_id: str):
    for key, value in EXCLUDED.items():
        if node_id == key or node_id.startswith(key + '::'):
            return key, value
    return None, None


def test_every_test_passes_except_the_listed(mmrazor_results):
    unexpected = {
        node: f'{kind}: {text.strip().splitlines()[0] if text else ""}'
        for node, (kind, text) in mmrazor_results.items()
        if kind in ('failure', 'error') and _exclusion(node)[0] is None
    }
    assert not unexpected, unexpected


def test_every_shipped_test_file_ran(mmrazor_results):
    root, _ = sdist_tests()
    shipped = {
        osp.relpath(osp.join(folder, name), root)
        for folder, _, names in os.walk(osp.join(root, 'tests', 'test_models'))
        for name in names if name.startswith('test_') and name.endswith('.py')
    }
    not_collected = {
        key
        for key, (_, expected) in EXCLUDED.items() if expected is None
    }
    ran = {node.split('::')[0] for node in mmrazor_results}
    assert ran == shipped - not_collected
    assert any(kind == 'passed' for kind, _ in mmrazor_results.values())


def test_skipped_tests_skip_for_cuda_only(mmrazor_results):
    reasons = {
        node: text
        for node, (kind, text) in mmrazor_results.items()
        if kind == 'skipped' and _exclusion(node)[0] is None
    }
    assert all('cuda' in text.lower() for text in reasons.values()), reasons


def test_excluded_tests_fail_as_listed(mmrazor_results):
    ran = {
        node: outcome
        for node, outcome in mmrazor_results.items()
        if _exclusion(node)[0] is not None
    }
    assert ran, 'none of the excluded tests ran'
    wrong = {
        node: text.strip()[:300]
        for node, (kind, text) in ran.items()
        if kind not in ('failure', 'error')
        or _exclusion(node)[1][1] not in text
    }
    assert not wrong, wrong


def test_every_exclusion_still_applies(mmrazor_results):
    """An exclusion of a file, class or test that is gone is stale."""
    root, _ = sdist_tests()
    for key, (_, expected) in EXCLUDED.items():
        assert osp.exists(osp.join(root, key.split('::')[0])), key
        if expected is not None:
            assert any(_exclusion(n)[0] == key for n in mmrazor_results), key
