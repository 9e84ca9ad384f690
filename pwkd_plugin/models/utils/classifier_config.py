"""mmpretrain classifier configs: their type names, their scope, building
them."""
import copy

import torch.nn as nn
from mmengine.registry import DefaultScope


def type_name(type_: object) -> str:
    """A config type (a string, maybe scoped, or a class) without scope."""
    if isinstance(type_, str):
        return type_.split('.')[-1]
    return getattr(type_, '__name__', repr(type_))


def build_classifier(model_cfg: dict) -> nn.Module:
    """Build an mmpretrain classifier config in mmpretrain's scope."""
    from mmpretrain.registry import MODELS
    model_cfg = copy.deepcopy(dict(model_cfg))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(model_cfg)


def strip_model_scope(classifier: dict) -> dict:
    """A copy of a classifier config for mmpretrain's default scope (an
    exported config's): without ``_scope_='mmpretrain'`` and the scope of
    its ``ImageClassifier`` type."""
    classifier = copy.deepcopy(dict(classifier))
    if classifier.get('_scope_') == 'mmpretrain':
        classifier.pop('_scope_')
    if isinstance(classifier.get('type'), str) and \
            classifier['type'].split('.')[-1] == 'ImageClassifier':
        classifier['type'] = 'ImageClassifier'
    return classifier
