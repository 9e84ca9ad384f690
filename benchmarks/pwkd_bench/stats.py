"""Statistics of the runs: per-case summaries and paired differences."""
import math
import statistics


def summary(values):
    """Mean, standard deviation (None for one value), count and the
    values of one case."""
    return dict(mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else None,
                n=len(values), values=values)


def paired(case, reference, by_case):
    """``case`` minus ``reference`` on the seeds both ran (``by_case``:
    case -> seed -> top-1): the mean difference, its 95 % t interval (None
    for one seed), the seeds where ``case`` is better or tied, and each
    difference."""
    from scipy import stats
    a, b = by_case[case], by_case[reference]
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    mean = statistics.mean(diffs)
    if len(diffs) > 1:
        half = float(stats.t.ppf(0.975, len(diffs) - 1) *
                     statistics.stdev(diffs) / math.sqrt(len(diffs)))
        ci95 = [mean - half, mean + half]
    else:
        ci95 = None
    return dict(case=case, reference=reference, mean_diff=mean, ci95=ci95,
                wins=sum(d > 0 for d in diffs), ties=sum(d == 0 for d in diffs),
                n=len(diffs), diffs=diffs, seeds=seeds)


def unpaired(values, reference):
    """Mean of ``values`` minus mean of ``reference``, runs that pair on no
    seed (other lengths, other machines), with the 95 % Welch interval."""
    from scipy import stats
    low, high = stats.ttest_ind(values, reference,
                                equal_var=False).confidence_interval(0.95)
    return dict(mean_diff=statistics.mean(values) -
                statistics.mean(reference), ci95=[float(low), float(high)],
                n=len(values), n_reference=len(reference))


def teacher_gain(top1):
    """Top-1 of the whole width minus that of the narrowest (``top1``:
    width -> top-1)."""
    return top1[max(top1, key=float)] - top1[min(top1, key=float)]
