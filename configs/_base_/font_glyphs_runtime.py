# The font glyph benchmarks' runtime: a checkpoint every 5 epochs (the last
# two kept), a log line every 50 iterations, seed 0.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['pwkd_plugin'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2,
                    save_last=True))
randomness = dict(seed=0, deterministic=False)
