"""Parameters and FLOPs of a classifier, and of a slimmable teacher's whole
width."""
import logging
from typing import Dict, Optional, Sequence, Union

import torch.nn as nn
from mmengine.config import Config

from ..models.utils import build_classifier, quiet_logger, strip_model_scope
from .teacher_config import load_config, slimmable_settings


def model_complexity(model: nn.Module,
                     input_shape: Sequence[int]) -> Dict[str, int]:
    """Parameters and FLOPs of a classifier on one ``input_shape`` image.

    Args:
        model (nn.Module): A classifier whose ``forward(inputs)`` gives its
            output (``mode='tensor'``).
        input_shape (Sequence[int]): ``(C, H, W)``.

    Returns:
        dict: ``params`` and ``flops`` (mmengine's
        ``get_model_complexity_info``; multiply-adds).
    """
    from mmengine.analysis import get_model_complexity_info
    was_training = model.training
    model.eval()
    try:
        # The counter warns about every operator it does not count (batch
        # norms, additions, pooling): FLOPs are those of convs and linears.
        with quiet_logger(logging.ERROR):
            info = get_model_complexity_info(
                model,
                input_shape=tuple(input_shape),
                show_table=False,
                show_arch=False)
    finally:
        model.train(was_training)
    return dict(params=int(info['params']), flops=int(info['flops']))


def whole_width_complexity(
        cfg: Union[str, Config],
        input_shape: Optional[Sequence[int]] = None) -> Dict[str, int]:
    """:func:`model_complexity` of a slimmable teacher's whole width.

    Args:
        cfg (str | Config): The teacher's config, as for
            :func:`~.width_export.export_width`.
        input_shape (Sequence[int], optional): ``(C, H, W)``; defaults as
            for :func:`~.width_export.export_width`.

    Returns:
        dict: ``params`` and ``flops`` of the ordinary classifier at width
        1.0.
    """
    source, _ = load_config(cfg)
    teacher_cfg, default_shape = slimmable_settings(source)
    classifier = strip_model_scope(teacher_cfg['architecture'])
    classifier.pop('data_preprocessor', None)
    return model_complexity(
        build_classifier(classifier), tuple(input_shape or default_shape))
