"""A slimmable-channel mutator that derives every layer's widths itself."""
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmengine.logging import MMLogger
from torch.nn.modules.batchnorm import _BatchNorm
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.models.mutators import SlimmableChannelMutator
from mmrazor.registry import MODELS

from ..dynamic_ops import (FORWARD_OPS, SlimmableLayerNorm,
                           SwitchableLayerNorm)
from ..utils import DEFAULT_WIDTHS, check_widths, quiet_logger, slim_channels
from .head_channels import head_channel_map, head_counts, unit_heads
from .shuffle_units import (shufflenet_unit_configs,
                            shufflenet_v1_unit_configs)
from .structure_channel_unit import StructureChannelUnit
from .teacher_channel_analyzer import TeacherChannelAnalyzer
from .unused_layers import follow_siblings, unused_modules
from .transformer_units import slim_heads, swin_unit_configs
from .width_check import (describe_module, innermost_module, macs_per_width,
                          refuse_mostly_whole)

#: layers that count as "left whole" when no channel unit slices them.
_LAYER_TYPES = (nn.Conv2d, nn.Linear, _BatchNorm, nn.LayerNorm, nn.GroupNorm)

#: how the LayerNorms of a transformer's residual stream follow the width.
LAYER_NORM_MODES = ('sliced', 'private')


class UntraceableModelError(RuntimeError):
    """The channel tracer could not follow a model."""


def _head_of(name: str) -> str:
    """The module a classifier's output layer belongs to: its parent, or
    its grandparent where the layer is a wrapper's ``linear`` (LeViT's
    ``head.head_dist.linear``)."""
    parent, _, leaf = name.rpartition('.')
    return parent.rpartition('.')[0] if leaf == 'linear' else parent


def _held_names(configs: List[Dict]) -> set:
    """The names of the layers some unit config holds."""
    return {
        channel['name']
        for config in configs for kind in config['channels']
        for channel in config['channels'][kind]
    }


@MODELS.register_module()
class SlimmableTeacherMutator(SlimmableChannelMutator):
    """Slimmable channels for any traceable CNN (and mmpretrain's vision
    transformers), from width ratios alone.

    mmrazor's :class:`SlimmableChannelMutator` needs a file of channel counts
    per layer. This mutator traces the model (mmrazor's ``ChannelAnalyzer``
    with torch.fx), and gives every mutable channel unit one channel count
    per width: ``width * channels`` rounded to a multiple of ``divisor``,
    never zero, all channels at width 1.0. Layers that the tracer groups
    together (convolutions joined by a residual addition) form one unit and
    so share their count; the image input channels and the classifier's
    outputs belong to no unit and stay whole. Where the tracer cannot follow
    a structure of mmpretrain's backbones (ShuffleNet's channel shuffles,
    Swin's window attention and patch merging) the units are read from the
    block structure instead; a tensor cut in equal runs of channels by
    indexing with its own size (CSPNet's halves) is traced, its runs
    narrowing together (:mod:`.sliced_channels`), and so are equal runs a
    view cuts and a sum adds (ResNeSt's radix splits:
    :mod:`.summed_runs`), a split into equal runs by a block that splits
    by the width (Res2Net's scales: :mod:`.split_channels`), and a
    reversible stream (RevViT's: the embedding concatenated with itself,
    :mod:`.repeated_cat`, chunked into halves that narrow together,
    :mod:`.chunked_channels`, by layers building their drop path as they
    run, :mod:`.forward_built_modules`), and a graph convolution (ViG's:
    the k-NN indices are constants, :mod:`.shape_constants`; the node
    features interleaved with their neighbours' differences narrow by the
    groups reading them, :mod:`.interleaved_channels`). Batch norms become
    ``SwitchableBatchNorm2d`` (a ``BatchNorm1d``
    ``SwitchableBatchNorm1d``): private statistics and affine parameters per
    width. A traced attention narrows by whole heads
    (:mod:`.head_channels`: mmpretrain's multi-head attention in MobileViT's
    blocks, EdgeNeXt's cross-covariance attention, LeViT's attentions,
    Twins' locally-grouped and sub-sampled attentions, DaViT's window and
    channel attentions; ViT's, DeiT's, DeiT III's and RevViT's, whose
    embedding narrows by whole heads too and whose class and distillation
    tokens and position embedding follow the embedding:
    :mod:`.token_channels`;
    XCiT's cross-covariance and class attentions, whose stream narrows with
    their heads: :mod:`.heads_follow_input`; T2T-ViT's single-head
    attentions keep their head, the soft splits between them expand each
    channel into its kernel area: :mod:`.unfold_channels`; BEiT's, whose
    q and v biases and relative position bias table follow its heads:
    :mod:`.head_tables`; HiViT's, whose table follows its heads and whose
    main stage's embedding and position embedding narrow by whole heads
    too; EVA02's, whose rotary embedding passes each head through, its
    heads keeping their dims); MViTv2's
    attention, whose heads share their poolings, narrows by head dims
    instead, every head keeping the same (:mod:`.pooled_heads`). A vision
    transformer (ViT, DeiT, Swin) narrows its embedding, its head count
    (heads keep their
    ``head_dims``; :func:`~.transformer_units.slim_heads`) and its MLP
    hidden size; its LayerNorms are sliced, or private per width with
    ``layer_norms='private'``. A layer the forward never runs follows a run
    sibling of its type and shapes (:mod:`.unused_layers`).

    Subnet ``i`` (``self.subnets[i]``) is width ``widths[i]``.

    Preparing the model checks every width: each runs a forward pass on the
    tracer's input (a width that fails is refused, naming the module and the
    reason), and the narrowest width must keep at most half of the whole
    network's conv and linear FLOPs (``width_macs``) and no layer may be
    left whole (the refusal names each and why: an op without a slimmable
    version, or a block whose channel split the tracer cannot follow, see
    ``width_check.UNFOLLOWED_BLOCKS``),
    unless ``allow_mostly_whole``.

    Args:
        widths (Sequence[float]): Width ratios, strictly ascending, in
            (0, 1], ending at 1.0. Defaults to (0.25, 0.5, 0.75, 1.0).
        divisor (int): Channel counts are multiples of it (e.g. 8 for fast
            kernels). Defaults to 1.
        min_channels (int): Least channels of any layer. Defaults to 1.
        parse_cfg (dict): The tracer config. Defaults to mmrazor's
            ``ChannelAnalyzer`` with ``FxTracer`` on a 1x3x32x32 input; give
            ``demo_input`` the shape the model expects.
        allow_mostly_whole (bool): Accept a teacher whose narrowest width
            keeps more than half of the whole's FLOPs, or keeps any layer
            whole (layers the tracer cannot slice). Defaults to False.
        layer_norms (str): The ``nn.LayerNorm``s of a transformer:
            ``'sliced'`` (the first affine parameters, shared by the widths)
            or ``'private'`` (affine parameters of their own per width).
            Defaults to ``'sliced'``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 widths: Sequence[float] = DEFAULT_WIDTHS,
                 divisor: int = 1,
                 min_channels: int = 1,
                 parse_cfg: Dict = dict(
                     type='ChannelAnalyzer',
                     demo_input=(1, 3, 32, 32),
                     tracer_type='FxTracer'),
                 allow_mostly_whole: bool = False,
                 layer_norms: str = 'sliced',
                 init_cfg: Optional[Dict] = None) -> None:
        self.widths = check_widths(widths)
        for key, value in (('divisor', divisor),
                           ('min_channels', min_channels)):
            if isinstance(value, bool) or not isinstance(value,
                                                         int) or value < 1:
                raise ValueError(
                    f'{key} must be a positive integer, got {value!r}')
        self.divisor = divisor
        self.min_channels = min_channels
        if not isinstance(allow_mostly_whole, bool):
            raise ValueError('allow_mostly_whole must be True or False, got '
                             f'{allow_mostly_whole!r}')
        self.allow_mostly_whole = allow_mostly_whole
        if layer_norms not in LAYER_NORM_MODES:
            raise ValueError(f'layer_norms must be one of {LAYER_NORM_MODES}'
                             f', got {layer_norms!r}')
        self.layer_norms = layer_norms
        super().__init__(
            channel_unit_cfg=dict(type='SlimmableTeacherChannelUnit',
                                  units={}),
            parse_cfg=dict(parse_cfg),
            init_cfg=init_cfg)

    def channels_at(self, num_channels: int) -> List[int]:
        """Channel count of a unit of ``num_channels`` at every width."""
        return [
            slim_channels(num_channels, width, self.divisor,
                          self.min_channels) for width in self.widths
        ]

    def heads_at(self, num_heads: int, head_dims: int) -> List[int]:
        """Head count of an attention at every width (heads keep
        ``head_dims``)."""
        return [
            slim_heads(num_heads, head_dims, width, self.divisor,
                       self.min_channels) for width in self.widths
        ]

    def prepare_from_supernet(self, supernet: nn.Module) -> None:
        """Trace ``supernet``, make its layers slimmable, list the subnets."""
        for module in supernet.modules():
            if type(module) in FORWARD_OPS:
                FORWARD_OPS[type(module)].convert_from(module)
        # A model that fails on the tracer's input fails inside the tracer
        # with a message that names neither the model's module nor the cause.
        macs_per_width(None, supernet, self._demo_shape())
        try:
            with quiet_logger():
                super().prepare_from_supernet(supernet)
        except Exception as error:
            raise UntraceableModelError(
                f'the channel tracer cannot follow {type(supernet).__name__}:'
                ' it failed in module '
                f'{describe_module(supernet, innermost_module(supernet, error))}'
                ': '
                f'{type(error).__name__}: {error}. Make that module '
                'traceable by torch.fx (no Python control flow on tensor '
                'values) or give a traceable equivalent.') from error
        if not self.mutable_units:
            raise UntraceableModelError(
                f'the channel tracer found no layer of '
                f'{type(supernet).__name__} whose channels can be slimmed')
        self.subnets = [{
            unit.name: unit.candidate_choices[index]
            for unit in self.mutable_units
        } for index in range(len(self.widths))]
        self._fit_switchable_norms(supernet)
        if self.layer_norms == 'private':
            self._make_layer_norms_private(supernet)
        self.set_width(1.0)
        self.width_macs = macs_per_width(self, supernet, self._demo_shape())
        self._warn_about_whole_layers(supernet)
        if not self.allow_mostly_whole:
            refuse_mostly_whole(supernet, self.width_macs, self.whole_layers,
                                self.divisor, self.min_channels)

    def _demo_shape(self) -> Sequence[int]:
        """The shape of the tracer's input."""
        demo = self.parse_cfg.get('demo_input', (1, 3, 224, 224))
        if isinstance(demo, dict):
            demo = demo.get('input_shape', (1, 3, 224, 224))
        return tuple(demo)

    def _fit_switchable_norms(self, supernet: nn.Module) -> None:
        """Give every switchable batch norm a private norm per width.

        mmrazor sizes a ``SwitchableBatchNorm2d``'s private norms from the
        first unit that holds it. Where several units feed one norm (a
        concatenation: DenseNet) or a unit appears once per group (grouped
        convolutions: ResNeXt, RegNetX) the channels that reach it are
        another count, and mmrazor's forward fails with a bare
        AssertionError. Here the counts are read from each width's masks.
        """
        norms = [
            module for module in supernet.modules()
            if isinstance(module, SwitchableBatchNorm2d)
        ]
        counts = {id(norm): set() for norm in norms}
        for subnet in self.subnets:
            self.set_choices(subnet)
            for norm in norms:
                counts[id(norm)].add(norm.activated_channel_num())
        for norm in norms:
            have = {int(key) for key in norm.candidate_bn}
            if not counts[id(norm)] <= have | {norm.num_features}:
                norm.candidate_bn = nn.ModuleDict()
                norm.init_candidates(
                    sorted(counts[id(norm)] | {norm.num_features}))

    def _make_layer_norms_private(self, supernet: nn.Module) -> None:
        """Give every slimmable LayerNorm private affine parameters for
        each feature count it takes."""
        names = [
            name for name, module in supernet.named_modules()
            if type(module) is SlimmableLayerNorm
        ]
        counts = {name: set() for name in names}
        for subnet in self.subnets:
            self.set_choices(subnet)
            for name in names:
                counts[name].add(
                    supernet.get_submodule(name).active_features())
        for name in names:
            norm = SwitchableLayerNorm.convert_from(
                supernet.get_submodule(name))
            norm.init_candidates(sorted(counts[name]))

    def _warn_about_whole_layers(self, supernet: nn.Module) -> None:
        """Name the layers the tracer could not make slimmable.

        They keep all their channels at every width: layers whose outputs
        go through operations the tracer does not follow (channel shuffles,
        or a module it could only wrap, e.g. one with Python control flow
        on tensor values).
        """
        sliced = {
            channel.name
            for unit in self.mutable_units for channel in unit.output_related
        }
        layers = [
            name for name, module in supernet.named_modules()
            if isinstance(module, _LAYER_TYPES)
            and '.candidate_bn.' not in name and '.candidate_ln.' not in name
        ]
        # The classifier's output layers keep their class outputs by design
        # (DeiT's and LeViT's heads have two: the class and the
        # distillation token's, LeViT's each behind a batch norm).
        modules = dict(supernet.named_modules())
        linears = [
            name for name, module in modules.items()
            if isinstance(module, nn.Linear)
        ]
        outputs = [
            name for name in linears[-1:] + linears[-2:-1]
            if _head_of(name) == _head_of(linears[-1])
            and modules[name].out_features ==
            modules[linears[-1]].out_features
        ]
        # Norms over the image's own channels keep them, as the first
        # convolution keeps its input channels.
        # Layers writing another axis than the channels keep it whole by
        # design (MLP-Mixer's token FFNs: the tokens).
        image = getattr(self, '_image_norms', set()) | getattr(
            self, '_other_axis_layers', set())
        whole = [
            name for name in layers
            if name not in sliced and name not in outputs
            and name not in image
        ]
        if whole:
            MMLogger.get_current_instance().warning(
                f'{len(whole)} layer(s) of {type(supernet).__name__} keep all '
                f'their channels at every width (the channel tracer could '
                f'not follow them): {whole[:12]}'
                f'{" ..." if len(whole) > 12 else ""}')
        self.whole_layers = whole

    def _prepare_from_tracer(self, model: nn.Module, parse_cfg: Dict):
        """The tracer's units (:class:`TeacherChannelAnalyzer`), and those
        of the structures it cannot follow: ShuffleNet's shuffled blocks
        (:mod:`.shuffle_units`) and Swin (:mod:`.transformer_units`)."""
        transformer = swin_unit_configs(model, self.channels_at,
                                        self.heads_at)
        configs = [
            *shufflenet_unit_configs(model, self.channels_at),
            *shufflenet_v1_unit_configs(model, self.channels_at),
            *transformer
        ]
        if transformer and _held_names(transformer) >= {
                name for name, module in model.named_modules()
                if isinstance(module, _LAYER_TYPES)
        }:
            # Every layer is in a structure unit (Swin): the tracer would
            # find nothing more (it loses the stream at the window
            # attention's relative position bias).
            units = []
        else:
            if isinstance(parse_cfg, dict) and \
                    parse_cfg.get('type') == 'ChannelAnalyzer':
                parse_cfg = TeacherChannelAnalyzer(
                    **{k: v
                       for k, v in parse_cfg.items() if k != 'type'})
            self._head_channels = head_channel_map(model)
            units = super()._prepare_from_tracer(model, parse_cfg)
            follow_siblings(
                model, units,
                unused_modules(model, self._demo_shape(), _LAYER_TYPES))
            self._image_norms = getattr(parse_cfg, 'image_norms', set())
            self._other_axis_layers = getattr(parse_cfg, 'other_axis_layers',
                                              set())
        traced = {(channel.name, channel.is_output_channel)
                  for unit in units
                  for channel in [*unit.input_related, *unit.output_related]}
        for config in configs:
            channels = config['channels']
            held = {(channel['name'], kind == 'output_related')
                    for kind in channels for channel in channels[kind]}
            if not held & traced:
                units.append(StructureChannelUnit.init_from_cfg(model, config))
        return units

    def _convert_channel_unit_to_mutable(self, units):
        """Give every traced unit its channel count per width (a unit of
        attention heads whole heads: :mod:`.head_channels`)."""
        for unit in units:
            heads = unit_heads(unit, getattr(self, '_head_channels', {}))
            counts = self.channels_at(unit.num_channels) if heads is None \
                else head_counts(heads, self.heads_at)
            self.units_cfg[unit.name] = dict(
                init_args=dict(
                    num_channels=unit.num_channels,
                    candidate_choices=counts,
                    choice_mode='number'))
        return super()._convert_channel_unit_to_mutable(units)

    def set_width(self, width: float) -> None:
        """Activate one of the width ratios.

        Args:
            width (float): One of ``self.widths``.
        """
        self.set_choices(self.subnets[self.width_index(width)])
        self._current_width = float(width)

    def width_index(self, width: float) -> int:
        """Index of ``width`` in ``self.widths``."""
        for index, candidate in enumerate(self.widths):
            if abs(candidate - width) < 1e-9:
                return index
        raise ValueError(
            f'width {width!r} is not one of this teacher\'s widths '
            f'{list(self.widths)}')

    @property
    def current_width(self) -> float:
        """The active width ratio."""
        return self._current_width
