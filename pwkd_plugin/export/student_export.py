"""Taking the student out of a finished distillation run."""
import os.path as osp
from typing import Union

from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from ..checkpoints import describe_mismatch
from ..models.utils import build_classifier, strip_model_scope
from .ordinary_config import (WidthExportError, ordinary_config_text,
                              refuse_existing, write_config_and_checkpoint)

STUDENT_PREFIX = 'architecture.'


def _student_classifier(cfg: Config) -> dict:
    model = cfg.model
    student = model.get('architecture')
    if student is None or 'distiller' not in model:
        raise WidthExportError(
            f'the config\'s model ({model.get("type")}) is not a '
            'distillation model with a student (`architecture`)')
    if 'cfg_path' in student and 'type' not in student:
        from mmengine.hub import get_config
        student = get_config(student['cfg_path']).model
    return strip_model_scope(student)


def export_student(cfg: Union[str, Config], checkpoint: str,
                   out_dir: str) -> dict:
    """Write the student of a distillation checkpoint as an ordinary
    mmpretrain classifier: a config and a checkpoint with plain keys.

    Works for any mmrazor single-teacher distillation run, PWKD or not.

    Args:
        cfg (str | Config): The distillation config (with or without a
            ``pwkd`` block).
        checkpoint (str): A checkpoint of that run.
        out_dir (str): Where to write ``student.py`` and ``student.pth``;
            existing files are never overwritten.

    Returns:
        dict: ``config``, ``checkpoint`` (the written paths) and ``params``.
    """
    source = Config.fromfile(cfg) if isinstance(cfg, str) else cfg
    classifier = _student_classifier(source)
    if not osp.isfile(checkpoint):
        raise WidthExportError(f'checkpoint {checkpoint!r} does not exist')
    config_path = osp.join(out_dir, 'student.py')
    ckpt_path = osp.join(out_dir, 'student.pth')
    refuse_existing((config_path, ckpt_path))
    saved = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = {
        key[len(STUDENT_PREFIX):]: value
        for key, value in saved.get('state_dict', saved).items()
        if key.startswith(STUDENT_PREFIX)
    }
    if not state:
        raise WidthExportError(
            f'checkpoint {checkpoint} holds no student weights '
            f'(no "{STUDENT_PREFIX}" keys): is it a distillation checkpoint?')
    data_preprocessor = source.model.get('data_preprocessor')
    plain = build_classifier(
        dict(classifier, data_preprocessor=data_preprocessor)
        if data_preprocessor else classifier)
    try:
        plain.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WidthExportError(
            describe_mismatch(
                str(error), checkpoint,
                "a checkpoint of this config's distillation run")) from None
    meta = dict(
        source_checkpoint=osp.abspath(checkpoint),
        dataset_meta=(saved.get('meta') or {}).get('dataset_meta'),
        exported_by='pwkd_plugin.export.student_export.export_student')
    text = ordinary_config_text(source, classifier, data_preprocessor, [
        'The student of a distillation run, as an ordinary mmpretrain',
        'classifier (tools/extract_student.py).',
        f'Source checkpoint: {osp.abspath(checkpoint)}'
    ], load_from=osp.abspath(ckpt_path))
    write_config_and_checkpoint(config_path, ckpt_path, text, state, meta)
    return dict(
        config=config_path,
        checkpoint=ckpt_path,
        params=sum(p.numel() for p in plain.parameters()))
