"""A tiny mmengine training run, to make real checkpoints in a second.

Used in-process by the checkpoint tests and imported by their subprocess, so
it must not import :mod:`pwkd_plugin`.
"""
import numpy as np
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner


class TinyRegressor(BaseModel):
    """``y = w x + b`` trained with a squared error."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(inputs).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class NumpyInfoHook(Hook):
    """Puts numpy values in the message hub, as many real hooks do."""

    def after_train_epoch(self, runner):
        runner.message_hub.update_info('np_scalar', np.float64(0.5))
        runner.message_hub.update_info('np_array',
                                       np.arange(3, dtype=np.int64))


def tiny_dataset():
    """Eight samples, in memory."""
    return [
        dict(
            inputs=torch.tensor([float(i), 1.0]),
            labels=torch.tensor(float(i % 2))) for i in range(8)
    ]


def tiny_runner(work_dir: str, max_epochs: int, name: str, **kwargs):
    """A Runner of :class:`TinyRegressor` saving a checkpoint every epoch.

    Args:
        work_dir (str): Where the run writes.
        max_epochs (int): Epochs to train to.
        name (str): Experiment name (unique per runner in a process).
        **kwargs: More Runner arguments (``load_from``, ``resume``).

    Returns:
        Runner: The runner (not yet trained).
    """
    return Runner(
        model=TinyRegressor(),
        work_dir=work_dir,
        experiment_name=name,
        train_dataloader=dict(
            dataset=tiny_dataset(),
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[1], gamma=0.5, begin=0, end=10),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[NumpyInfoHook()],
        default_scope='mmengine',
        randomness=dict(seed=0),
        log_level='WARNING',
        **kwargs)
