"""A test-only hook for multi-process runs: what every rank did.

Imported by the training processes through ``custom_imports``
(``tests.distributed.rank_recorder``; ``tools/dist_train.sh`` and
``tools/slurm_train.sh`` put the repository root on ``PYTHONPATH``). Each
rank appends one json line per training iteration to
``WORK_DIR/ranks/rank<R>.jsonl``: the rank, world size, epoch, iteration,
the PWKD teacher width and stage the iteration used (None for other
models), its learning rate, and the Slurm job and task id (None outside
Slurm). After training, each rank writes
``WORK_DIR/ranks/rank<R>_params.json``: a digest of its trainable parameters,
equal on every rank when the gradients are synchronised.
"""
import hashlib
import json
import os
import os.path as osp

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankRecorderHook(Hook):
    """Records every iteration of every rank (see the module docstring)."""

    priority = 'LOWEST'  # after PWKDStageHook has set this stage's width

    def _model(self, runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def _path(self, runner, suffix):
        rank, _ = get_dist_info()
        folder = osp.join(runner.work_dir, 'ranks')
        os.makedirs(folder, exist_ok=True)
        return osp.join(folder, f'rank{rank}{suffix}')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        mutator = getattr(self._model(runner), 'teacher_mutator', None)
        self._used = dict(
            width=None if mutator is None else float(mutator.current_width),
            lr=float(runner.optim_wrapper.get_lr()['lr'][0]))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        rank, world_size = get_dist_info()
        stage = None
        if 'train/pwkd/stage' in runner.message_hub.log_scalars:
            stage = int(
                runner.message_hub.get_scalar('train/pwkd/stage').current())
        record = dict(
            rank=rank,
            world_size=world_size,
            epoch=runner.epoch,
            iter=runner.iter,
            stage=stage,
            slurm_job_id=os.environ.get('SLURM_JOB_ID'),
            slurm_procid=os.environ.get('SLURM_PROCID'),
            **self._used)
        with open(self._path(runner, '.jsonl'), 'a') as f:
            f.write(json.dumps(record) + '\n')

    def after_train(self, runner):
        digest = hashlib.sha256()
        for name, param in sorted(self._model(runner).named_parameters()):
            if param.requires_grad:
                digest.update(name.encode())
                digest.update(param.detach().cpu().numpy().tobytes())
        with open(self._path(runner, '_params.json'), 'w') as f:
            json.dump(dict(params_sha256=digest.hexdigest()), f)
