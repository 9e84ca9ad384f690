"""mmpretrain >= 1.0's DeiT backbone gives two tokens; mmrazor 1.0.0's
``DeiTClsHead`` unpacks three.

mmcls 1.0.0rc's ``DistilledVisionTransformer`` returned ``(patch_token,
cls_token, dist_token)`` per stage; mmpretrain's returns ``(cls_token,
dist_token)`` (``out_type='cls_token'``). mmrazor's DeiT head, the student
head of its DeiT distillation config, fails on its first forward with
``not enough values to unpack (expected 3, got 2)``. mmpretrain's own
``DeiTClsHead`` accepts both; the fix makes mmrazor's read the tokens the
same way. Everything else of the head is unchanged.
"""
from typing import List, Tuple

import torch

_FIXED = '_pwkd_two_or_three_tokens'

#: mmrazor's own ``pre_logits``, kept for the tests.
ORIGINALS = {}


def _last_stage_tokens(
        feats: Tuple[List[torch.Tensor]]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(cls_token, dist_token)`` of the last stage, in either layout."""
    feat = feats[-1]
    if len(feat) == 3:  # mmcls 1.0.0rc: (patch_token, cls_token, dist_token)
        _, cls_token, dist_token = feat
    else:
        cls_token, dist_token = feat
    return cls_token, dist_token


def _pre_logits(self, feats):
    cls_token, dist_token = _last_stage_tokens(feats)
    if self.hidden_dim is None:
        return cls_token, dist_token
    cls_token = self.layers.act(self.layers.pre_logits(cls_token))
    dist_token = self.layers.act(self.layers.pre_logits(dist_token))
    return cls_token, dist_token


def read_deit_tokens_either_way() -> bool:
    """Give mmrazor's ``DeiTClsHead`` a ``pre_logits`` that reads two or
    three tokens (idempotent).

    Returns:
        bool: True once the head reads both layouts.
    """
    from mmrazor.models.architectures.heads import DeiTClsHead
    if not getattr(DeiTClsHead, _FIXED, False):
        ORIGINALS['pre_logits'] = DeiTClsHead.pre_logits
        DeiTClsHead.pre_logits = _pre_logits
        setattr(DeiTClsHead, _FIXED, True)
    return True
