"""The parts of the accuracy benchmark, which the other benchmarks share.

- :mod:`.tasks`: the tasks, the data sets and configs each one uses;
- :mod:`.cases`: the case matrix and the pairs of cases compared;
- :mod:`.stats`: per-case summaries and paired differences;
- :mod:`.pool`: the worker processes and the loop that runs the jobs;
- :mod:`.training`: the training of one teacher or student run;
- :mod:`.report`: the report's files, task figures, merging and markdown;
- :mod:`.plots`: the report's plots.
"""
