"""Train a config in an mmengine Runner and validate the final model."""
import time

from mmengine.config import Config
from mmengine.runner import Runner


def _last_val_metrics(runner: Runner) -> dict:
    # RuntimeInfoHook keeps the metrics of the last val loop in the message
    # hub (mmrazor's distillation val loop returns none).
    return {
        key[len('val/'):]: buffer.current()
        for key, buffer in runner.message_hub.log_scalars.items()
        if key.startswith('val/')
    }


def train_and_validate(cfg: Config) -> dict:
    """Train ``cfg`` (a prepared training config) and report the final
    validation: the train loop's own (it validates its last epoch), or one
    more run of the val loop when it validated nothing.

    Args:
        cfg (Config): The config, after :func:`prepare_train_config`.

    Returns:
        dict: The final validation metrics (``accuracy/top1``, or
        ``width_<w>/accuracy/top1`` for a slimmable teacher), ``seconds``
        (wall time) and ``checkpoint`` (the last one written).
    """
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = _last_val_metrics(runner)
    if not metrics:  # the train loop did not validate (no val_cfg run)
        runner.val_loop.run()
        metrics = _last_val_metrics(runner)
    return dict(
        metrics,
        seconds=time.perf_counter() - start,
        checkpoint=runner.message_hub.get_info('last_ckpt'))
