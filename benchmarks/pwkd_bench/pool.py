"""The worker processes the runs train in, and the loop that runs them."""
import concurrent.futures as futures
import os
import sys
import time

from .tasks import REPO


def start_worker(device):
    """One thread per run; the plugin imported (and registered) once."""
    import warnings
    if device == 'cpu':  # mmengine's Runner takes a visible GPU on its own
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    import torch
    torch.set_num_threads(1)
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    sys.path.insert(0, REPO)
    import pwkd_plugin  # noqa: F401


def run_all(pool, jobs, label, on_result=None):
    """Run ``jobs`` (callable, kwargs) in ``pool``; print progress and an
    estimate of the time left (from the mean time of the jobs done); pass
    each result to ``on_result`` as it comes; the results in the order they
    came."""
    results = []

    def collect(_, result):
        results.append(result)
        if on_result is not None:
            on_result(result)

    print(f'[{label}] {len(jobs)} runs, {pool._max_workers} at a time',
          flush=True)
    run_stream(pool, [(label, fn, kwargs) for fn, kwargs in jobs], collect)
    return results


class JobFailed(SystemExit):
    """A job of :func:`run_stream` raised: the rest were cancelled."""


def describe(result):
    """A run's result in one line of progress."""
    if 'case' in result:
        return (f'{result.get("cell", "")} {result["case"]}, seed '
                f'{result["seed"]}: top-1 {result["top1"]:.2f}').strip()
    if 'setting' in result:
        return (f'teacher {result["setting"]}, seed {result["seed"]}: '
                f'top-1 {result["top1"]}')
    return ', '.join(f'{key} {value}' for key, value in result.items()
                     if isinstance(value, (str, int, float)))


def raised(future):
    """Whether a done future ended in an exception (not a cancel)."""
    return not future.cancelled() and future.exception() is not None


def run_stream(pool, jobs, on_result, totals=None):
    """Run ``jobs`` in ``pool``, and the jobs ``on_result`` returns for each
    result as it comes: a run that needs another's result (a student its
    teacher's) starts as soon as that one is done, not when every run of
    its kind is.

    Args:
        pool (concurrent.futures.Executor): Where the jobs run.
        jobs (list): ``(label, callable, kwargs)`` each.
        on_result (callable): ``(label, result) -> jobs to run next``.
        totals (dict, optional): Label -> the runs of that label expected
            in all, for the progress lines' estimate of the time left.

    Raises:
        JobFailed: A job raised: at once the jobs not started are cancelled,
            the running ones finish (``on_result`` takes their results,
            starting nothing more), then the message names the failed
            job's arguments.
    """
    totals, done, seconds = dict(totals or {}), {}, {}
    start = time.perf_counter()
    pending = {}

    def submit(new):
        for label, fn, kwargs in new:
            pending[pool.submit(fn, **kwargs)] = (label, kwargs)

    def expected(label):
        waiting = sum(1 for lb, _ in pending.values() if lb == label)
        return max(totals.get(label, 0), done.get(label, 0) + waiting)

    submit(jobs)
    failed = None
    while pending:
        finished, _ = futures.wait(pending,
                                   return_when=futures.FIRST_COMPLETED)
        # A failure that comes with successes stops their follow-ups too.
        for future in sorted(finished, key=lambda f: not raised(f)):
            label, kwargs = pending.pop(future)
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                if failed is None:
                    failed = (label, kwargs, error)
                    print(f'[{label}] a run failed ({type(error).__name__}: '
                          f'{error}); runs not started are cancelled, the '
                          'running ones finish and are kept',
                          file=sys.stderr, flush=True)
                    for other in pending:
                        other.cancel()
                continue
            result = future.result()
            done[label] = done.get(label, 0) + 1
            seconds.setdefault(label, []).append(result.get('seconds', 0))
            left = sum(sum(seconds[lb]) / len(seconds[lb]) *
                       (expected(lb) - done[lb]) for lb in seconds)
            left /= getattr(pool, '_max_workers', 1)
            print(f'[{label} {done[label]}/{expected(label)}] '
                  f'{describe(result)} ({result.get("seconds", 0):.0f} s); '
                  f'{(time.perf_counter() - start) / 60:.1f} min elapsed, '
                  f'about {left / 60:.1f} min left', flush=True)
            new = on_result(label, result) or []
            if failed is None:
                submit(new)
    if failed is not None:
        label, kwargs, error = failed
        raise JobFailed(f'[{label}] a run failed: {type(error).__name__}: '
                        f'{error}\nits arguments: {kwargs}\nthe runs done '
                        'are kept; run the command again to go on') from error
