"""benchmarks/pwkd_bench/pool.py: a run that needs another's result starts
as soon as that one is done, and a failed run stops what has not started
while the running ones finish and are kept."""
import concurrent.futures as futures
import threading

import pytest

from .test_benchmarks_run import import_benchmark


def test_a_follow_up_run_starts_when_its_own_run_is_done():
    pool_module = import_benchmark('pwkd_bench.pool')
    released = threading.Event()

    def slow(name):
        # Done only once the fast run's follow-up has run: a runner that
        # waited for every first run before any follow-up would time out.
        return dict(name=name, released=released.wait(timeout=30))

    def fast(name):
        return dict(name=name)

    def follow_up(name):
        released.set()
        return dict(name=name)

    results = {}

    def on_result(label, result):
        results[result['name']] = result
        if result['name'] == 'fast':
            return [('next', follow_up, dict(name='fast, then'))]
        return []

    with futures.ThreadPoolExecutor(2) as pool:
        pool_module.run_stream(pool, [('first', slow, dict(name='slow')),
                                      ('first', fast, dict(name='fast'))],
                               on_result)
    assert set(results) == {'fast', 'fast, then', 'slow'}
    assert results['slow']['released']


def test_a_failed_run_cancels_what_has_not_started_and_keeps_the_rest():
    pool_module = import_benchmark('pwkd_bench.pool')
    failed = threading.Event()

    def running(name):
        failed.wait(timeout=30)  # still running when the other fails
        return dict(name=name)

    def failing(name):
        try:
            raise ValueError('no teacher here')
        finally:
            failed.set()

    kept = []

    def on_result(label, result):
        kept.append(result['name'])
        return [('next', running, dict(name='never started'))]

    with futures.ThreadPoolExecutor(2) as pool:
        with pytest.raises(pool_module.JobFailed) as error:
            pool_module.run_stream(
                pool, [('teachers', running, dict(name='running')),
                       ('teachers', failing, dict(name='failing'))],
                on_result)
    assert kept == ['running']
    message = str(error.value)
    assert 'ValueError: no teacher here' in message
    assert "'name': 'failing'" in message
