"""Dynamic layers slice contiguous channel runs: the same outputs and
gradients as mmrazor's mask indexing, bit for bit."""
import pytest
import torch
from mmrazor.models.architectures.dynamic_ops.mixins import (
    DynamicConvMixin, DynamicLinearMixin)
from mmrazor.registry import MODELS
from torch.utils._python_dispatch import TorchDispatchMode

from pwkd_plugin.models.dynamic_ops import channel_slices
from pwkd_plugin.testing.teacher_families import classifier, small_family


def mask(size, kept):
    out = torch.zeros(size, dtype=torch.bool)
    out[list(kept)] = True
    return out


@pytest.mark.parametrize('kept, span', [
    (range(0, 3), (0, 3)),
    (range(2, 6), (2, 4)),
    (range(0, 8), (0, 8)),
    ([0, 1, 4], None),
    ([], None),
])
def test_a_mask_is_a_span_only_when_its_channels_are_contiguous(kept, span):
    assert channel_slices.contiguous_span(mask(8, kept)) == span


class HostReads(TorchDispatchMode):
    """Counts the operators that wait for the device on a GPU (a ``.tolist``
    of the result reads back without dispatching: one read)."""

    SYNCING = ('nonzero', '_local_scalar_dense', 'is_nonzero', 'equal')

    def __enter__(self):
        self.count = 0
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += func.overloadpacket.__name__ in self.SYNCING
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('kept', [range(2, 6), [0, 1, 4], []])
def test_a_span_is_read_back_in_one_go(kept):
    """Was three syncs per mask (``nonzero`` and two ``int()``)."""
    with HostReads() as reads:
        channel_slices.contiguous_span(mask(8, kept))
    assert reads.count == 0


def test_a_span_is_a_view_and_other_masks_index():
    weight = torch.arange(48.).reshape(6, 8)
    view = channel_slices.take_channels(weight, mask(8, range(2, 5)), 1)
    assert view.data_ptr() == weight[:, 2:].data_ptr()
    assert torch.equal(view, weight[:, 2:5])
    scattered = channel_slices.take_channels(weight, mask(6, [0, 3]), 0)
    assert torch.equal(scattered, weight[[0, 3]])


def test_mmrazors_layers_slice_while_the_fix_is_applied():
    assert DynamicConvMixin._get_dynamic_params_by_mutable_channels is \
        channel_slices._conv_params
    assert DynamicLinearMixin.get_dynamic_params is \
        channel_slices._linear_params
    with channel_slices.mmrazor_mask_indexing():
        assert DynamicConvMixin._get_dynamic_params_by_mutable_channels is \
            channel_slices.ORIGINALS['conv']
    assert DynamicLinearMixin.get_dynamic_params is \
        channel_slices._linear_params


ARCHITECTURES = dict(
    ResNet=lambda: classifier(
        dict(type='ResNet', depth=18, stem_channels=16, base_channels=16),
        128),
    ResNeXt=lambda: small_family('ResNeXt'),
    CSPDarkNet=lambda: small_family('CSPDarkNet'))


def slimmable(family):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='SlimmableTeacher',
             architecture=dict(ARCHITECTURES[family](), _scope_='mmpretrain')))


def outputs_and_gradients(model, inputs):
    model.zero_grad(set_to_none=True)
    logits = model(inputs, mode='tensor')
    logits.square().sum().backward()
    return logits.detach(), {
        name: param.grad.clone()
        for name, param in model.named_parameters() if param.grad is not None
    }


# ResNet: prefixes only; ResNeXt: grouped convolutions (mmrazor's code);
# CSPDarkNet: spans that start inside the layer (a stage's second half).
@pytest.mark.parametrize('family', list(ARCHITECTURES))
def test_every_width_computes_what_mask_indexing_computes(family):
    model = slimmable(family).train()
    inputs = torch.randn(
        2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for width in model.mutator.widths:
        model.mutator.set_width(width)
        logits, grads = outputs_and_gradients(model, inputs)
        with channel_slices.mmrazor_mask_indexing():
            expected_logits, expected_grads = outputs_and_gradients(
                model, inputs)
        assert torch.equal(logits, expected_logits), width
        assert grads.keys() == expected_grads.keys()
        for name, grad in grads.items():
            assert torch.equal(grad, expected_grads[name]), (width, name)
