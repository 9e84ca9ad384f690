"""benchmarks/pwkd_bench/pool.py: a run that needs another's result starts
as soon as that one is done, and a failed run stops what has not started
while the running ones finish and are kept."""
import concurrent.futures as futures
import threading

import pytest

from .test_benchmarks_run import import_benchmark


def failing(name):
    raise ValueError('no teacher here')


def named(name):
    return dict(name=name)


def test_a_follow_up_run_starts_when_its_own_run_is_done():
    pool_module = import_benchmark('pwkd_bench.pool')
    released = threading.Event()

    def slow(name):
        # Done only once the fast run's follow-up has run: a runner that
        # waited for every first run before any follow-up would time out.
        return dict(name=name, released=released.wait(timeout=30))

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
                                      ('first', named, dict(name='fast'))],
                               on_result)
    assert set(results) == {'fast', 'fast, then', 'slow'}
    assert results['slow']['released']


class NamedFutures(futures.ThreadPoolExecutor):
    """A thread pool that keeps each job's future by its ``name``."""

    def __init__(self, workers):
        super().__init__(workers)
        self.by_name, self.submitted = {}, threading.Event()

    def submit(self, fn, **kwargs):
        future = super().submit(fn, **kwargs)
        self.by_name[kwargs['name']] = future
        if 'failing' in self.by_name:
            self.submitted.set()
        return future


def test_a_failed_run_cancels_what_has_not_started_and_keeps_the_rest():
    pool_module = import_benchmark('pwkd_bench.pool')
    pool = NamedFutures(2)

    def running(name):
        # Still running when the other has failed: done only once the
        # failing job's future holds its exception.
        assert pool.submitted.wait(timeout=30)
        futures.wait([pool.by_name['failing']], timeout=30)
        return dict(name=name)

    kept = []

    def on_result(label, result):
        kept.append(result['name'])
        return [('next', running, dict(name='never started'))]

    with pool:
        with pytest.raises(pool_module.JobFailed) as error:
            pool_module.run_stream(
                pool, [('teachers', running, dict(name='running')),
                       ('teachers', failing, dict(name='failing'))],
                on_result)
    assert kept == ['running']
    assert 'never started' not in pool.by_name
    message = str(error.value)
    assert 'ValueError: no teacher here' in message
    assert "'name': 'failing'" in message


class DoneOnSubmit(futures.Executor):
    """Runs each job as it is submitted: every job of a batch is done by
    the time the loop waits, as when runs finish together."""

    def __init__(self):
        self.names = []

    def submit(self, fn, **kwargs):
        self.names.append(kwargs['name'])
        future = futures.Future()
        try:
            future.set_result(fn(**kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


def test_a_failure_done_with_successes_starts_none_of_their_follow_ups():
    pool_module = import_benchmark('pwkd_bench.pool')
    pool = DoneOnSubmit()

    kept = []

    def on_result(label, result):
        kept.append(result['name'])
        return [('next', named, dict(name=f'after {result["name"]}'))]

    done_together = [('runs', named, dict(name=f'run {index}'))
                     for index in range(8)]
    done_together.insert(4, ('runs', failing, dict(name='failing')))
    with pytest.raises(pool_module.JobFailed):
        pool_module.run_stream(pool, done_together, on_result)
    assert sorted(kept) == [f'run {index}' for index in range(8)]
    assert not [name for name in pool.names if name.startswith('after')]
