"""A hook for the fault test, imported by the training process it kills.

It appends (epoch, iteration, stage, teacher width, lr) of every training
iteration to the JSON-lines file ``$PWKD_RECORD`` (flushed at once, so the
records of a killed process survive it), and sends the process SIGKILL

* after ``$PWKD_KILL_AFTER_ITER`` iterations of the run, or
* half-way through writing ``epoch_$PWKD_KILL_IN_SAVE.pth`` (the checkpoint
  writer's own write, as a killed job would leave it).
"""
import json
import os
import signal

from mmrazor.registry import HOOKS

from pwkd_plugin.compat import atomic_checkpoints

from .test_pwkd_training import RecordPWKDProgress


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_half_way_through(filename: str) -> None:
    real_write = atomic_checkpoints.AtomicFile.write

    def write(self, data):
        if not self.path.endswith(filename):
            return real_write(self, data)
        real_write(self, data[:len(data) // 2])
        self.file.flush()
        _die()

    atomic_checkpoints.AtomicFile.write = write


@HOOKS.register_module()
class FaultPointHook(RecordPWKDProgress):
    """Records every iteration; dies where the environment says."""

    def before_train(self, runner) -> None:
        epoch = os.environ.get('PWKD_KILL_IN_SAVE')
        if epoch:
            _kill_half_way_through(f'epoch_{epoch}.pth')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        record = RecordPWKDProgress.records[-1]
        with open(os.environ['PWKD_RECORD'], 'a') as f:
            f.write(json.dumps(record, default=int) + '\n')  # numpy stage
        if str(runner.iter + 1) == os.environ.get('PWKD_KILL_AFTER_ITER'):
            _die()
