"""MobileViT's block and mmpretrain's attention in the forms the channel
tracer follows."""
import pytest
import torch
import torch.fx
from mmpretrain.models.backbones.mobilevit import MobileVitBlock
from mmpretrain.models.utils.attention import MultiheadAttention

from pwkd_plugin.models.dynamic_ops import (FORWARD_OPS,
                                            SlimmableMobileVitBlock,
                                            SlimmableMultiheadAttention)
from pwkd_plugin.models.dynamic_ops.mobilevit import (fold_patches,
                                                      unfold_patches)


@pytest.mark.parametrize('size', [8, 7])
def test_block_computes_mmpretrain_block_and_traces_through(size):
    """The unfold and fold (a 7x7 map is resized to 8x8 and back) give
    mmpretrain's block output, and torch.fx traces the block: one node
    each for the unfold and fold, the attention's layers in the graph."""
    torch.manual_seed(0)
    block = MobileVitBlock(8, 16, 32, 8, num_transformer_blocks=1,
                           num_heads=4).eval()
    x = torch.rand(2, 8, size, size)
    with torch.no_grad():
        expected = block(x)
        swapped = FORWARD_OPS[MobileVitBlock].convert_from(block)
        assert isinstance(swapped, SlimmableMobileVitBlock)
        assert torch.equal(swapped(x), expected)
    tokens = unfold_patches(x, (2, 2))
    assert tokens.shape == (2 * 4, (size + 1) // 2 * ((size + 1) // 2), 8)
    if size % 2 == 0:
        assert torch.equal(fold_patches(tokens, (size, size), (2, 2)), x)
    graph = torch.fx.symbolic_trace(swapped).graph
    targets = [node.target for node in graph.nodes]
    assert targets.count(unfold_patches) == 1
    assert targets.count(fold_patches) == 1
    assert 'global_rep.0.attn.qkv' in targets
    assert type(swapped.to_static_op()) is MobileVitBlock


@pytest.mark.parametrize('heads,v_shortcut', [(4, False), (1, True)])
def test_attention_splits_qkv_and_keeps_mmpretrain_static(heads, v_shortcut):
    """The attention splits q, k and v from ``qkv`` along its features (the
    tracer's split rule follows it) and computes mmpretrain's attention
    (a value shortcut and an input of other features than the heads
    included); its static copy is mmpretrain's attention of the heads
    ``proj`` reads (narrower widths: the MobileViT family tests)."""
    torch.manual_seed(0)
    attn = MultiheadAttention(12, heads, input_dims=6,
                              v_shortcut=v_shortcut).eval()
    x = torch.rand(2, 5, 6)
    with torch.no_grad():
        expected = attn(x)
        dynamic = FORWARD_OPS[MultiheadAttention].convert_from(attn)
        assert isinstance(dynamic, SlimmableMultiheadAttention)
        assert dynamic.splits_by_width
        assert torch.allclose(dynamic(x), expected, atol=1e-6)
    assert dynamic.active_heads() == heads
    static = dynamic.to_static_op()
    assert type(static) is MultiheadAttention
    assert (static.num_heads, static.embed_dims, static.input_dims) == (heads,
                                                                        12, 6)
