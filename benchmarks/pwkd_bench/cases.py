"""The case matrix: every case a run can hold, and the pairs compared.

A case is ``(method, pwkd block or None, teacher setting)``: the student's
method (``'scratch'``, ``'KD'``, ``'DKD'`` or ``'FitNet'``), the ``pwkd``
block added to its config (None: the method alone) and the teacher it
distils from (a key of :data:`TEACHERS`).
"""

#: The teacher precision cases: name -> ``pwkd.teacher_precision``.
PRECISION_CASES = {
    'PWKD+KD, fp32 teacher': 'fp32',
    'PWKD+KD, bf16 teacher': 'bf16',
}
#: The feature strategy cases: name -> ``pwkd.feature_strategy`` (the
#: default is ``'slice'``). Not in the default run (16 more runs on the font
#: glyphs); ``--feature-cases`` or ``--cases`` runs them.
FEATURE_CASES = {
    'PWKD+FitNet, teacher features zero-padded': 'pad',
    'PWKD+FitNet, one connector per stage': 'per_stage',
}
#: Teacher settings: the ``slimmable`` block options of each.
TEACHERS = dict(plain=dict(), inplace=dict(inplace_distill=True))
#: The cases validated after every epoch, for the learning curves.
CURVE_CASES = ('KD', 'PWKD+KD')


def cases(epochs, precision=True, features=False):
    """Every case: name -> (method, pwkd block or None, teacher setting);
    the teacher precision cases among the ablations when ``precision``, the
    feature strategy cases when ``features``."""
    from pwkd_plugin.models.utils import proportional_stage_lengths
    widths = (0.25, 0.5, 0.75, 1.0)
    weighted_lengths = proportional_stage_lengths
    main = {'scratch': ('scratch', None, 'plain')}
    for method in ('KD', 'DKD', 'FitNet'):
        main[method] = (method, None, 'plain')
        main[f'PWKD+{method}'] = (method, {}, 'plain')
    ablations = {
        'PWKD+KD, 2 stages (0.5, 1)': ('KD', dict(widths=(0.5, 1.0)),
                                       'plain'),
        'PWKD+KD, 3 stages (0.5, 0.75, 1)':
        ('KD', dict(widths=(0.5, 0.75, 1.0)), 'plain'),
        'PWKD+KD, no cyclic LR': ('KD', dict(lr_cycle=None), 'plain'),
        'PWKD+KD, stage lengths ~ width '
        f'{weighted_lengths(epochs, widths)}':
        ('KD', dict(stage_lengths=weighted_lengths(epochs, widths)),
         'plain'),
        'PWKD+KD, optimizer state reset per stage':
        ('KD', dict(reset_optimizer_state=True), 'plain'),
        'PWKD+KD, in-place distilled teacher': ('KD', {}, 'inplace'),
        'KD, in-place distilled teacher': ('KD', None, 'inplace'),
    }
    for name, dtype in PRECISION_CASES.items() if precision else ():
        ablations[name] = ('KD', dict(teacher_precision=dtype), 'plain')
    for name, strategy in FEATURE_CASES.items() if features else ():
        ablations[name] = ('FitNet', dict(feature_strategy=strategy),
                           'plain')
    return main, ablations


def precision_cases(epochs):
    """KD, PWKD+KD and the teacher precision cases alone."""
    main, ablations = cases(epochs)
    return ({name: main[name] for name in ('KD', 'PWKD+KD')},
            {name: ablations[name] for name in PRECISION_CASES})


def comparisons(ablations):
    """(case, reference) pairs whose paired differences are reported; an
    ablation of PWKD+X (``ablations``: name -> case) against PWKD+X and X."""
    pairs = [(f'PWKD+{m}', m) for m in ('KD', 'DKD', 'FitNet')]
    pairs += [('KD', 'scratch')]
    for name, (method, _, _) in ablations.items():
        if name.startswith('PWKD') and 'in-place' not in name and \
                name not in PRECISION_CASES:
            pairs += [(name, f'PWKD+{method}'), (name, method)]
    fp32, bf16 = PRECISION_CASES
    pairs += [(bf16, fp32), ('PWKD+KD', fp32)]
    pairs.append(('PWKD+KD, in-place distilled teacher', 'PWKD+KD'))
    pairs.append(('PWKD+KD, in-place distilled teacher',
                  'KD, in-place distilled teacher'))
    return pairs


def case_method(name):
    """The method a case name distils with (``'PWKD+FitNet, ...'``:
    FitNet)."""
    head = name.split(',')[0]
    return head[len('PWKD+'):] if head.startswith('PWKD+') else head
