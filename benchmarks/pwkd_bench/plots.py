"""The report's plots: each case with its paired differences, and the
learning curves."""

def plot(report, path):
    """Each case's top-1 (mean and std over seeds) and, below, each paired
    difference with its 95 % interval."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = report['main_cases'] + report['ablation_cases']
    pairs = [p for p in report['paired'] if p['ci95'] is not None]
    fig, axes = plt.subplots(
        2 if pairs else 1, 1,
        figsize=(9, 0.32 * (len(names) + len(pairs)) + 2.5),
        gridspec_kw=dict(height_ratios=[len(names), len(pairs)]
                         if pairs else [1]),
        squeeze=False)
    top = axes[0][0]
    means = [report['cases'][n]['mean'] for n in names]
    stds = [report['cases'][n]['std'] or 0 for n in names]
    top.barh(range(len(names)), means, xerr=stds, color=[
        'tab:orange' if n.startswith('PWKD') else 'tab:blue' for n in names
    ])
    top.set_yticks(range(len(names)), names)
    top.invert_yaxis()
    low = min(m - s for m, s in zip(means, stds))
    top.set_xlim(max(0, low - 1), 100)
    top.set_xlabel('top-1 (%), mean and std over seeds')
    if pairs:
        bottom = axes[1][0]
        bottom.errorbar(
            [p['mean_diff'] for p in pairs], range(len(pairs)),
            xerr=[[p['mean_diff'] - p['ci95'][0] for p in pairs],
                  [p['ci95'][1] - p['mean_diff'] for p in pairs]],
            fmt='o', capsize=3)
        bottom.axvline(0, color='grey', lw=1)
        bottom.set_yticks(range(len(pairs)),
                          [f'{p["case"]} - {p["reference"]}' for p in pairs])
        bottom.invert_yaxis()
        bottom.set_xlabel('paired difference (points), 95 % interval')
    fig.suptitle(f'{report["title"]}: {report["epochs"]} epochs, '
                 f'{len(report["seed_list"])} seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(report, path):
    """Student top-1 per epoch, mean over seeds, with the stage ends of the
    default PWKD plan."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, axis = plt.subplots(figsize=(7, 4))
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    for name, curve in report['curves'].items():
        axis.plot(range(1, len(curve) + 1), curve, marker='o', ms=3,
                  label=name)
    for end in report['stage_ends'][:-1]:
        axis.axvline(end + 0.5, color='grey', lw=0.8, ls=':')
    axis.set_xlabel('epoch (dotted: the ends of the PWKD stages)')
    axis.set_ylabel('student top-1 (%), mean over seeds')
    axis.set_title(f'{report["title"]}: learning curves, '
                   f'{len(report["seed_list"])} seeds')
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
