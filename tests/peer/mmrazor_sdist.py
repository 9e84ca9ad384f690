"""mmrazor's own unit tests, from the sdist of the installed release.

mmrazor ships ``tests/`` in its sdist on PyPI. The first use downloads it
with pip into a cache folder (``$PWKD_CACHE_DIR``, default
``~/.cache/pwkd_plugin``); later runs are offline.
"""
import os
import os.path as osp
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from typing import Dict, Optional, Tuple

import mmrazor

from .mmrazor_exclusions import EXCLUDED

#: The tests import ``pwkd_plugin`` first, as a user's script does.
CONFTEST = 'import pwkd_plugin  # noqa: F401  (the compat fixes)\n'


def cache_dir() -> str:
    """The folder that keeps the sdist and its unpacked tests."""
    return os.environ.get('PWKD_CACHE_DIR',
                          osp.join(osp.expanduser('~'), '.cache',
                                   'pwkd_plugin'))


def sdist_tests() -> Tuple[Optional[str], str]:
    """Unpack (downloading first if needed) the sdist's tests.

    Returns:
        Tuple[Optional[str], str]: The unpacked sdist root holding
        ``tests/`` (None when it cannot be had) and what happened.
    """
    version = mmrazor.__version__
    folder = osp.join(cache_dir(), 'peer')
    archive = osp.join(folder, f'mmrazor-{version}.tar.gz')
    root = osp.join(folder, f'mmrazor-{version}')
    if not osp.isfile(archive):
        os.makedirs(folder, exist_ok=True)
        proc = subprocess.run([
            sys.executable, '-m', 'pip', 'download', '--no-deps',
            '--no-binary', ':all:', '--disable-pip-version-check', '-d',
            folder, f'mmrazor=={version}'
        ],
                              capture_output=True,
                              text=True,
                              timeout=300)
        if proc.returncode != 0 or not osp.isfile(archive):
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return None, (f'could not download the mmrazor {version} sdist '
                          f'with pip: {lines[-1] if lines else "no output"}')
    if not osp.isfile(osp.join(root, 'tests', 'conftest.py')):
        with tarfile.open(archive) as tar:
            members = [
                m for m in tar.getmembers()
                if m.name.startswith(f'mmrazor-{version}/tests/')
            ]
            tar.extractall(folder, members=members, filter='data')
        with open(osp.join(root, 'tests', 'conftest.py'), 'w') as f:
            f.write(CONFTEST)
    return root, f'mmrazor {version} sdist tests in {root}'


def _node_id(case: ET.Element) -> str:
    # classname: tests.test_models.<...>.test_file[.Class]
    path = case.get('classname', '').split('.')
    module_end = max(i for i, part in enumerate(path)
                     if part.startswith('test_') or part == 'tests')
    file = '/'.join(path[:module_end + 1]) + '.py'
    return '::'.join([file] + path[module_end + 1:] + [case.get('name')])


def _outcome(case: ET.Element) -> Tuple[str, str]:
    for tag in ('failure', 'error', 'skipped'):
        element = case.find(tag)
        if element is not None:
            return tag, (element.get('message') or '') + (element.text or '')
    return 'passed', ''


def _clean_environment() -> Dict[str, str]:
    # mmrazor's DDP wrappers take device_ids=[LOCAL_RANK] when it is set,
    # which fails on CPU; the tests start one process group of their own.
    launch = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE',
              'MASTER_ADDR', 'MASTER_PORT')
    return {k: v for k, v in os.environ.items() if k not in launch}


def run_sdist_tests(
        report: str) -> Tuple[Optional[Dict[str, Tuple[str, str]]], str]:
    """Run the sdist's ``tests/test_models`` in a fresh interpreter.

    The files listed in :data:`EXCLUDED` without an expected failure are
    not collected (they import packages outside the stack).

    Args:
        report (str): Where pytest writes its JUnit XML report.

    Returns:
        Tuple: ``{node id: (outcome, message)}`` with outcome ``'passed'``,
        ``'failure'``, ``'error'`` or ``'skipped'`` (None when the tests
        cannot be had), and what happened.
    """
    root, status = sdist_tests()
    if root is None:
        return None, status
    ignored = [
        f'--ignore={key}' for key, (_, expected) in EXCLUDED.items()
        if expected is None
    ]
    proc = subprocess.run([
        sys.executable, '-m', 'pytest', 'tests/test_models', '-q', '-p',
        'no:cacheprovider', f'--junitxml={report}', '-o',
        'junit_family=xunit1', *ignored
    ],
                          cwd=root,
                          env=_clean_environment(),
                          capture_output=True,
                          text=True,
                          timeout=2400)
    if not osp.isfile(report):
        raise RuntimeError('mmrazor\'s tests wrote no report:\n' +
                           proc.stdout[-3000:] + proc.stderr[-3000:])
    results = {
        _node_id(case): _outcome(case)
        for case in ET.parse(report).getroot().iter('testcase')
    }
    return results, status
