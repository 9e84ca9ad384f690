"""mmrazor's DeiT head reads mmpretrain's two tokens (and mmcls' three)."""
import pytest
import torch
from mmrazor.models.architectures.heads import DeiTClsHead
from mmrazor.registry import MODELS

from pwkd_plugin.compat import deit_head_tokens


def deit_student():
    """mmrazor's DeiT distillation student, tiny: mmpretrain's
    DistilledVisionTransformer and mmrazor's DeiTClsHead."""
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(
                type='mmpretrain.DistilledVisionTransformer',
                arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                          feedforward_channels=32),
                img_size=32,
                patch_size=8),
            head=dict(type='mmrazor.DeiTClsHead', num_classes=5,
                      in_channels=16)))


def test_the_head_reads_the_backbones_two_tokens():
    model = deit_student()
    inputs = torch.rand(2, 3, 32, 32)
    feats = model.extract_feat(inputs)
    assert len(feats[-1]) == 2  # (cls_token, dist_token)
    logits = model(inputs, mode='tensor')
    assert logits.shape == (2, 5)
    cls_token, dist_token = feats[-1]
    torch.testing.assert_close(logits, model.head.layers.head(cls_token))
    # mmcls' layout (patch_token, cls_token, dist_token) reads the same.
    three = ((torch.zeros(2, 16, 4, 4), cls_token, dist_token), )
    torch.testing.assert_close(model.head(three), logits)


def test_without_the_fix_the_head_fails_on_two_tokens(monkeypatch):
    model = deit_student()
    monkeypatch.setattr(DeiTClsHead, 'pre_logits',
                        deit_head_tokens.ORIGINALS['pre_logits'])
    with pytest.raises(ValueError, match='expected 3, got 2'):
        model(torch.rand(2, 3, 32, 32), mode='tensor')
