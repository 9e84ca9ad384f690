"""Traced units that only run narrowed together, checked by group."""
import contextlib
import copy
from typing import Callable, Dict, Hashable, Set, Tuple

import torch.nn as nn
from mmrazor.models.mutables import (MutableChannelContainer,
                                     MutableChannelUnit, SimpleMutableChannel)


def _fill_unheld_channels(self) -> None:
    """mmrazor's ``_fill_unregistered_range``, with whole channels of the
    right count before a held run (mmrazor's are ``last_end - start``
    channels, a negative count, so its forward fails)."""
    last_end = 0
    for start, end in copy.copy(self.mutable_channels):
        if last_end < start:
            self.register_mutable(
                SimpleMutableChannel(start - last_end), last_end, start)
        last_end = end
    if last_end < self.num_channels:
        self.register_mutable(
            SimpleMutableChannel(self.num_channels - last_end), last_end,
            self.num_channels)


@contextlib.contextmanager
def _filling_unheld_channels(enabled: bool):
    original = MutableChannelContainer._fill_unregistered_range
    if enabled:
        MutableChannelContainer._fill_unregistered_range = \
            _fill_unheld_channels
    try:
        yield
    finally:
        MutableChannelContainer._fill_unregistered_range = original


def check_unit_groups(model: nn.Module, configs: Dict,
                      group_of: Callable[[Hashable, MutableChannelUnit],
                                         Hashable],
                      choice_of: Callable[[MutableChannelUnit], float],
                      inputs, unit_type: type,
                      fill_unheld: bool = False) -> Dict:
    """The unit configs whose groups run narrowed together.

    mmrazor checks units by halves of a list, one part narrowed while the
    rest keeps every channel, and drops a unit that fails alone. Units
    whose counts must agree (the units of one attention's heads, the units
    of equal runs of one sliced tensor) fail alone: here each group is
    narrowed at once, and all groups first together.

    Args:
        model (nn.Module): The traced model (copied, not changed).
        configs (dict): Unit key -> config.
        group_of (Callable): The group of a unit, from its key and the
            unit prepared for pruning.
        choice_of (Callable): The choice a unit is checked at (a ratio).
        inputs: The tracer's demo input (a tensor or keyword arguments).
        unit_type (type): The unit class checked with
            (:class:`~.traced_channel_unit.TracedChannelUnit`).
        fill_unheld (bool): Give the channels of a layer no unit of
            ``configs`` holds, before a run one holds, whole (Res2Net's
            last run of its first convolution goes to its last convolution,
            whose first channels the runs' units do not hold). Defaults to
            False (mmrazor's fill, which fails there).

    Returns:
        dict: Unit key -> config (mmrazor's template), of the units that
        passed.
    """
    if not configs:
        return {}
    model = copy.deepcopy(model).cpu()
    units = {
        key: unit_type.init_from_cfg(model, config)
        for key, config in configs.items()
    }
    for unit in units.values():
        unit.prepare_for_pruning(model)
    model.eval()  # the dynamic ops replacing its layers too
    groups = {}
    for key, unit in units.items():
        groups.setdefault(group_of(key, unit), []).append(unit)

    def runs(narrowed) -> bool:
        for unit in units.values():
            unit.current_choice = 1.0
        for unit in narrowed:
            unit.current_choice = choice_of(unit)
        try:
            with _filling_unheld_channels(fill_unheld):
                model(**inputs) if isinstance(inputs, dict) else model(inputs)
        except Exception:  # noqa: BLE001 the units stay out
            return False
        return True

    everything = list(units.values())
    kept = everything if runs(everything) else [
        unit for group in groups.values() if runs(group) for unit in group
    ]
    for unit in everything:
        unit.current_choice = 1.0
    return {
        key: MutableChannelUnit.config_template(
            unit, with_channels=True, with_init_args=True)
        for key, unit in units.items() if unit in kept
    }


def units_beside(model: nn.Module, keys: Set[Hashable],
                 configs: Dict) -> Set[Hashable]:
    """The units of ``configs`` that hold channels of a layer of ``model``
    a unit of ``keys`` holds channels of too (inputs or outputs alike).

    mmrazor fills the channels of a layer no unit holds with whole ones, but
    fails where they come before a held run: the units beside units left
    out are left out too, so a layer is held whole or from its first
    channel.
    """

    names = {name for name, _ in model.named_modules()}

    def layers(config) -> Set[Tuple[str, str]]:
        return {(kind, channel['name'])
                for kind, channels in config['channels'].items()
                for channel in channels if channel['name'] in names}

    left = set().union(*(layers(configs[key]) for key in keys))
    return {
        key
        for key, config in configs.items()
        if key not in keys and layers(config) & left
    }
