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
    each result to ``on_result`` as it comes."""
    start = time.perf_counter()
    pending = {pool.submit(fn, **kwargs): kwargs for fn, kwargs in jobs}
    print(f'[{label}] {len(jobs)} runs, {pool._max_workers} at a time',
          flush=True)
    results = []
    for done, future in enumerate(futures.as_completed(pending), 1):
        result = future.result()
        results.append(result)
        if on_result is not None:
            on_result(result)
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (len(jobs) - done)
        what = (f'{result["case"]}, seed {result["seed"]}: top-1 '
                f'{result["top1"]:.2f}' if 'case' in result else
                f'teacher {result["setting"]}, seed {result["seed"]}: '
                f'top-1 {result["top1"]}')
        print(f'[{label} {done}/{len(jobs)}] {what} ({result["seconds"]:.0f}'
              f' s); {elapsed / 60:.1f} min elapsed, about {eta / 60:.1f} '
              'min left', flush=True)
    return results
