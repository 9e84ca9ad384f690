"""Print how mmrazor's own unit tests fare under the plugin.

Usage:
    python tests/peer/count_mmrazor_tests.py
"""
import collections
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from tests.peer.mmrazor_exclusions import EXCLUDED  # noqa: E402
from tests.peer.mmrazor_sdist import run_sdist_tests  # noqa: E402


def main():
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        results, status = run_sdist_tests(osp.join(folder, 'junit.xml'))
    print(status)
    if results is None:
        sys.exit(1)
    counts = collections.Counter(kind for kind, _ in results.values())
    print(f'{len(results)} tests in {time.perf_counter() - start:.0f} s: ' +
          ', '.join(f'{n} {kind}' for kind, n in sorted(counts.items())))
    for key, (reason, expected) in EXCLUDED.items():
        cases = [n for n in results if n == key or n.startswith(key + '::')]
        ran = f'{len(cases)} tests' if expected else 'not collected'
        print(f'excluded ({ran}): {key}: {reason}')


if __name__ == '__main__':
    main()
