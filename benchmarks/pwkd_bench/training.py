"""The training of one run: a slimmable teacher or a student."""
import contextlib
import json
import os
import os.path as osp

from .cases import CURVE_CASES
from .tasks import CONFIGS, TASKS


def quiet(cfg, work_dir, seed, epochs, val_interval=None,
          checkpoint_interval=None):
    """``cfg`` set to train ``epochs`` with ``seed`` into ``work_dir``,
    validated every ``val_interval`` epochs (default: at the end), a
    checkpoint every ``checkpoint_interval`` epochs (default: at the end),
    one kept, and warnings alone logged."""
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = val_interval or epochs
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=checkpoint_interval or epochs,
        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=seed)
    return cfg


@contextlib.contextmanager
def output_to(work_dir):
    """A run's prints and warnings go to ``work_dir/output.log``."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'output.log'), 'a') as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def train_teacher(task, setting, options, work_dir, epochs, seed=0,
                  config=None, curve_interval=None):
    """Train a slimmable teacher (``config``, relative to ``configs/``;
    default the task's); take its whole width out for KD. With
    ``curve_interval`` its widths are validated every that many epochs and
    the result has their ``curves`` (width -> top-1 per validation), and a
    checkpoint is kept at each validation: a stopped run resumes from the
    last one (``resumed_at``: its epoch) as if it had not stopped."""
    from mmengine.config import Config
    from pwkd_plugin.apis import train_and_validate
    from pwkd_plugin.config_blocks import prepare_train_config
    from pwkd_plugin.export import export_width
    cfg = Config.fromfile(
        osp.join(CONFIGS, config or TASKS[task].teacher_config))
    cfg.slimmable.update(options)
    cfg = quiet(cfg, work_dir, seed, epochs, curve_interval, curve_interval)
    resumed_at = last_checkpoint_epoch(work_dir)
    cfg.resume = resumed_at is not None  # from work_dir/last_checkpoint
    if resumed_at is not None and curve_interval is not None and \
            resumed_at not in validated_epochs(work_dir):
        from .validate_resumed_epoch import ValidateResumedEpoch
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type=ValidateResumedEpoch.__name__)]
    cfg = prepare_train_config(cfg)  # its RandomStateHook makes it exact
    with output_to(work_dir):
        result = train_and_validate(cfg)
        whole = export_width(cfg, result['checkpoint'], 1.0,
                             osp.join(work_dir, 'whole_width'))
    top1 = {
        width_of(key): float(value)
        for key, value in result.items() if key.endswith('accuracy/top1')
    }
    curves = None
    if curve_interval is not None:
        curves = {width_of(key): curve for key, curve in
                  validation_curves(work_dir).items()}
    return dict(setting=setting, seed=seed,
                slimmable_ckpt=result['checkpoint'],
                whole_ckpt=whole['checkpoint'], top1=top1, curves=curves,
                seconds=result['seconds'], resumed_at=resumed_at)


def last_checkpoint_epoch(work_dir):
    """The epoch of the checkpoint mmengine would resume ``work_dir``'s run
    from, or None where it would start afresh."""
    from mmengine.runner import find_latest_checkpoint
    if not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return None  # (mmengine's lookup would log that it found none)
    name = osp.basename(find_latest_checkpoint(work_dir))
    return int(name[len('epoch_'):-len('.pth')])


def width_of(key):
    """'0.25' of a slimmable teacher's metric 'width_0.25/accuracy/top1'."""
    return key.split('/')[0][len('width_'):]


def validation_curves(work_dir):
    """Every top-1 metric of a run (``accuracy/top1``, or one per width of a
    slimmable teacher) -> its value at every validation, by epoch. Where a
    stopped attempt left older runs, an epoch's figure is the newest run's
    (a resumed run validates the epochs after its checkpoint again)."""
    return {key: [curve[epoch] for epoch in sorted(curve)]
            for key, curve in validations(work_dir).items()}


def validated_epochs(work_dir):
    """The epochs a run (and the attempts before it) validated."""
    return {epoch for curve in validations(work_dir).values()
            for epoch in curve}


def validations(work_dir):
    """Every top-1 metric of a run -> {epoch: its value there}."""
    if not osp.isdir(work_dir):
        return {}
    run_dirs = sorted(
        name for name in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, name, 'vis_data', 'scalars.json')))
    curves = {}
    for run_dir in run_dirs:  # named by their start time
        path = osp.join(work_dir, run_dir, 'vis_data', 'scalars.json')
        with open(path) as f:
            for line in f:
                scalars = json.loads(line)
                for key, value in scalars.items():
                    if key.endswith('accuracy/top1'):
                        curves.setdefault(key, {})[scalars['step']] = \
                            float(value)
    return curves


def validation_curve(work_dir):
    """The student top-1 of every validation of a run, by epoch."""
    return validation_curves(work_dir)['accuracy/top1']


def train_student(task, name, method, pwkd, teacher, seed, work_dir, epochs,
                  train_samples, config=None, curve_interval=None,
                  dataset=None, stop_after=None):
    """Train one student; its final top-1 (and the top-1 of every
    ``curve_interval`` epochs, by default every epoch for the learning-curve
    cases). ``config`` (relative to ``configs/``) replaces the task's config
    of ``method``; ``dataset`` updates its training set's options;
    ``stop_after`` ends the run after that many of its ``epochs`` (its top-1
    then is that epoch's)."""
    from mmengine.config import Config
    from pwkd_plugin.apis import train_and_validate
    from pwkd_plugin.config_blocks import prepare_train_config
    cfg = Config.fromfile(
        osp.join(CONFIGS, config or TASKS[task].student_configs[method]))
    if method != 'scratch':
        cfg.model.teacher_ckpt = teacher['whole_ckpt']
        # The student alone is validated (mmrazor's distillation val loop
        # would validate the teacher again at every validation).
        cfg.val_cfg = dict()
    if pwkd is not None:
        cfg.pwkd = dict(pwkd, teacher_ckpt=teacher['slimmable_ckpt'])
    if train_samples is not None:
        cfg.train_dataloader.dataset.indices = train_samples
    cfg.train_dataloader.dataset.update(dataset or {})
    if curve_interval is None and name in CURVE_CASES:
        curve_interval = 1
    with_curve = curve_interval is not None
    cfg = quiet(cfg, work_dir, seed, epochs, curve_interval)
    if stop_after is not None:
        from .stop_after_epochs import StopAfterEpochs
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type=StopAfterEpochs.__name__, epochs=stop_after)]
    cfg = prepare_train_config(cfg)
    with output_to(work_dir):
        result = train_and_validate(cfg)
    return dict(case=name, seed=seed, top1=float(result['accuracy/top1']),
                curve=validation_curve(work_dir) if with_curve else None,
                seconds=result['seconds'], stopped_after=stop_after)
