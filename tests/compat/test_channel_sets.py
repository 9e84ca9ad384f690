"""mmrazor's tracer gathers each channel set in one pass: the same sets,
and the same units of a whole network. (The time it saves is measured by
``benchmarks/teacher_families.py``, which times each build.)"""
import torch
from mmrazor.models.task_modules.tracer import ChannelAnalyzer
from mmrazor.registry import MODELS
from mmrazor.structures.graph.channel_flow import ChannelElem, ChannelTensor

from pwkd_plugin.compat import channel_sets
from pwkd_plugin.testing.teacher_families import small_family

ORIGINAL_SUBS = channel_sets.ORIGINALS['subs']


def bound_tensors(num_tensors, channels):
    """Tensors bound channel by channel in a chain, as a tracer binds the
    inputs and outputs of layers that must be sliced together."""
    tensors = [ChannelTensor(channels) for _ in range(num_tensors)]
    for first, second in zip(tensors, tensors[1:]):
        first.union(second)
    return tensors


def test_every_channel_gets_the_set_mmrazor_gives():
    tensors = bound_tensors(num_tensors=40, channels=6)
    tensors[3][0].union(tensors[7][5])  # two sets joined
    for tensor in tensors:
        for elem in tensor.elems:
            assert elem.subs == ORIGINAL_SUBS.fget(elem)
            root = elem.root
            assert root.subs == ORIGINAL_SUBS.fget(root)
    # channel 0 of every tensor, and channel 5 joined to it; nothing else
    whole = tensors[0][0].owing_elem_set
    assert len(whole) == 2 * 40
    assert {elem.index_in_tensoor for elem in whole} == {0, 5}
    assert len(tensors[0][1].owing_elem_set) == 40


def units(model):
    return ChannelAnalyzer(
        demo_input=(1, 3, 32, 32), tracer_type='FxTracer').analyze(model)


def test_the_tracer_finds_the_same_units_as_with_mmrazors_sets(monkeypatch):
    torch.manual_seed(0)
    model = MODELS.build(dict(small_family('ShuffleNetV2'),
                              _scope_='mmpretrain'))
    fixed = units(model)
    monkeypatch.setattr(ChannelElem, 'subs', ORIGINAL_SUBS)
    original = units(model)
    assert fixed == original
    assert len(fixed) > 10
