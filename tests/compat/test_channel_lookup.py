"""mmrazor's tracer finds each channel's layer by name: the same units."""
import torch
from mmrazor.models.mutables.mutable_channel.units.channel_unit import Channel
from mmrazor.models.task_modules.tracer import ChannelAnalyzer
from mmrazor.registry import MODELS

from pwkd_plugin.compat import channel_lookup
from pwkd_plugin.testing.teacher_families import small_family


def resnext():
    torch.manual_seed(0)
    return MODELS.build(dict(small_family('ResNeXt'), _scope_='mmpretrain'))


def units(model):
    return ChannelAnalyzer(
        demo_input=(1, 3, 32, 32), tracer_type='FxTracer').analyze(model)


def test_a_channel_gets_the_layer_of_its_name_or_none():
    model = resnext()
    config = dict(name='backbone.layer1.0.conv2', start=0, end=4,
                  is_output_channel=True)
    channel = Channel.init_from_cfg(model, config)
    assert channel.module is model.backbone.layer1[0].conv2
    assert channel.index == (0, 4) and channel.is_output_channel
    for name in ('input_placeholder', 'output_placeholder', '',
                 'backbone.no_such_layer'):
        assert Channel.init_from_cfg(model, dict(config, name=name)).module \
            is None


def test_the_tracer_finds_the_same_units_as_with_mmrazors_lookup(
        monkeypatch):
    model = resnext()
    fixed = units(model)
    monkeypatch.setattr(
        Channel, 'init_from_cfg',
        classmethod(channel_lookup.ORIGINALS['init_from_cfg']))
    original = units(model)
    assert fixed == original
    assert len(fixed) > 10
