"""README.md and docs/results.md show the regime study's tables as its
report (benchmarks/results/regimes.json) gives them."""
import os.path as osp

import pytest

from ..benchmarks.test_benchmarks_run import import_benchmark
from ..conftest import REPO_ROOT


@pytest.mark.parametrize('page', ['README.md', 'docs/results.md'])
def test_the_pages_hold_the_reports_tables(page):
    regimes = import_benchmark('regimes')
    import marked_tables
    report = regimes.Report(osp.join(REPO_ROOT, 'benchmarks', 'results'))
    with open(osp.join(REPO_ROOT, page), encoding='utf-8') as file:
        text = file.read()
    stale = marked_tables.stale_tables(text, regimes.DOCS_KIND,
                                       regimes.doc_tables(report.data))
    assert not stale, (f'{page}: the regime tables {stale} differ from '
                       'benchmarks/results/regimes.json; rewrite them with '
                       f'`{regimes.DOCS_COMMAND}`')
