"""What Torch-Pruning's DepGraph finds as channel couplings, family by family.

For each mmpretrain classifier family (ImageNet config, pre-trained weights
off, eval mode, one random image of ``--input-size``) this measures:

* the time to build the model;
* DepGraph (``torch_pruning.DependencyGraph().build_dependency``) on the
  whole ``ImageClassifier`` (through a wrapper whose forward is
  ``model(x, mode='tensor')``): whether it builds (or the exception), its
  time, the number of groups rooted at ``nn.Conv2d`` / ``nn.Linear``, the
  coverage (how many of the model's conv and linear layers have their
  output channels in some group, and the first ten that do not), the
  "unwrapped" parameters it reports (per-channel ``nn.Parameter`` outside a
  known module: layer scales, position embeddings, GRN gamma / beta...) and
  whether a group holds them, and what it does with attention heads (the
  group of each ``qkv`` linear; DepGraph only splits by heads when given
  ``num_heads`` by hand);
* a soundness check of that grouping: every group pruned to 25 % of its
  channels (``tp.pruner.MetaPruner``, ``pruning_ratio=0.75``, local, the
  final classifier linear ignored) on a deep copy; whether the pruned model
  still runs, its conv + linear multiply-adds and parameters as a share of
  the whole, and how many conv / linear layers kept all their output
  channels;
* for comparison, pwkd_plugin's own channel tracer (mmrazor's
  ChannelAnalyzer with FxTracer, through the slimmable teacher of
  ``benchmarks/teacher_families.py`` with ``allow_mostly_whole=True``): the
  layers it leaves whole and the FLOPs share of width 0.25, or its refusal
  (skipped after ``--tracer-timeout`` seconds).

    python benchmarks/depgraph_coupling.py            # all families, 224
    python benchmarks/depgraph_coupling.py --input-size 64 \\
        --families ResNet-50 --json /tmp/r.json --md /tmp/r.md

The JSON file is rewritten after every family, so partial results survive;
the Markdown table is written at the end.
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import signal
import sys
import time
import traceback
import warnings
from typing import Callable, Dict, Iterator, List, Optional

import torch
import torch.nn as nn

BENCHMARKS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(BENCHMARKS))
sys.path.insert(0, BENCHMARKS)

import pwkd_plugin  # noqa: E402,F401
from mmengine.hub import get_config  # noqa: E402

from pwkd_plugin.config_blocks import \
    without_pretrained_weights  # noqa: E402
from pwkd_plugin.models.mutators import (  # noqa: E402
    UntraceableModelError, WidthForwardError)
from pwkd_plugin.models.utils import (  # noqa: E402
    build_classifier, quiet_logger, strip_model_scope)
from pwkd_plugin.models.utils.conv_linear_macs import \
    conv_linear_macs  # noqa: E402
from teacher_families import IMAGENET_FAMILIES, build_teacher  # noqa: E402

#: The families measured (configs in ``teacher_families.IMAGENET_FAMILIES``):
#: those a slimmable block does not make partial, then references.
FAMILIES = {
    name: IMAGENET_FAMILIES[name]
    for name in (
        'ShuffleNetV1 1x',
        'EfficientFormer-L1',
        'PoolFormer-S12',
        'RIFormer-S12',
        'EdgeNeXt-XXS',
        'MobileViT-XXS',
        'LeViT-128S',
        'TinyViT-5M',
        'HorNet-T',
        'XCiT-nano-12',
        'VAN-tiny',
        'ConvNeXt-V2-atto',
        'Twins-SVT-S',
        'T2T-ViT-14',
        'DaViT-tiny',
        'DeiT3-small',
        'ResNet-50',
        'SE-ResNet-50',
        'MobileNetV3-small',
        'Inception-v3',
        'ConvMixer-768/32',
        'ViT-B/16',
        'MViTv2-T',
    )
}
#: the FLOPs share of the narrowest width of our tracer's teacher.
TRACER_WIDTH = 0.25
#: DepGraph's pruning ratio: keep 25 % of each group's channels.
PRUNING_RATIO = 0.75


class TimeBox(BaseException):
    """Raised by :func:`time_box` when its block runs out of time (not an
    ``Exception``, so that the tracer's own error handling lets it pass)."""


@contextlib.contextmanager
def time_box(seconds: Optional[int]) -> Iterator[None]:
    """Raise :class:`TimeBox` in the block after ``seconds`` (SIGALRM).

    Args:
        seconds (int | None): The limit; ``None`` or 0: no limit.
    """
    if not seconds:
        yield
        return

    def alarm(signum, frame):
        raise TimeBox(f'over {seconds} s')

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class TensorMode(nn.Module):
    """An ``ImageClassifier`` whose forward is ``mode='tensor'``.

    Args:
        model (nn.Module): The classifier.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        """Args:
            inputs (torch.Tensor): Images, ``(N, 3, S, S)``.

        Returns:
            torch.Tensor | tuple: The head's output.
        """
        return self.model(inputs, mode='tensor')


def classifier_config(path: str) -> dict:
    """The ``model`` of an mmpretrain config, without pre-trained weights.

    Args:
        path (str): ``mmpretrain::...`` config name.

    Returns:
        dict: A classifier config for mmpretrain's default scope.
    """
    classifier = strip_model_scope(get_config(path).model.to_dict())
    without_pretrained_weights(classifier)
    return classifier


def error_text(error: BaseException) -> str:
    """``Type: message`` of an exception, shortened."""
    return f'{type(error).__name__}: {str(error)[:400]}'


def conv_linear_layers(model: nn.Module) -> Dict[nn.Module, str]:
    """The model's ``nn.Conv2d`` and ``nn.Linear`` layers and their names."""
    return {module: name for name, module in model.named_modules()
            if isinstance(module, (nn.Conv2d, nn.Linear))}


def head_linears(model: nn.Module) -> List[nn.Module]:
    """The final classifier layers: the head's layers with ``num_classes``
    outputs (two for a distilled head)."""
    head = getattr(model, 'head', None)
    if head is None:
        return []
    classes = getattr(head, 'num_classes', 1000)
    found = [m for m in head.modules()
             if (isinstance(m, nn.Linear) and m.out_features == classes) or
             (isinstance(m, nn.Conv2d) and m.out_channels == classes)]
    return found


def out_channels(module: nn.Module) -> int:
    """Output channels of a conv or linear layer."""
    return module.out_channels if isinstance(module, nn.Conv2d) \
        else module.out_features


def param_count(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def depgraph(model: nn.Module, inputs: torch.Tensor) -> dict:
    """DepGraph's groups on a classifier, and their coverage.

    Args:
        model (nn.Module): The ``ImageClassifier``, eval mode.
        inputs (torch.Tensor): An example batch.

    Returns:
        dict: ``built``, ``seconds``, ``error``, ``groups`` (the final
        classifier layers ignored), ``coverage`` (of the other layers),
        ``mismatched_groups`` (groups whose indices run past a member's
        channels), ``elementwise_ops`` (autograd ops DepGraph does not
        model and treats as channel-preserving),
        ``uncovered``, ``unwrapped``, ``attention``.
    """
    import torch_pruning as tp
    wrapper = TensorMode(model)
    head = head_linears(model)
    layers = {m: n for m, n in conv_linear_layers(model).items()
              if m not in head}
    start = time.time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            graph = tp.DependencyGraph().build_dependency(
                wrapper, example_inputs=inputs, verbose=False)
            groups = list(graph.get_all_groups(
                ignored_layers=head,
                root_module_types=[nn.Conv2d, nn.Linear]))
    except Exception as error:  # noqa: BLE001 -- the failure is the figure
        return dict(built=False, seconds=round(time.time() - start, 1),
                    error=error_text(error))
    seconds = round(time.time() - start, 1)
    pruned_out = set()  # modules / params whose output channels a group has
    group_sizes = []
    mismatched = []
    for group in groups:
        group_sizes.append(len(group))
        mismatch = index_mismatch(graph, group)
        if mismatch:
            mismatched.append(mismatch)
        for dep, _ in group:
            target = dep.target.module
            if graph.is_out_channel_pruning_fn(dep.handler) or \
                    isinstance(target, nn.Parameter):
                pruned_out.add(id(target))
    # Ops DepGraph does not model: it assumes each keeps channels 1:1.
    elementwise = sorted({
        str(node.module._grad_fn).rstrip('0123456789')
        for node in graph.module2node.values()
        if isinstance(node.module, tp.ops._ElementWiseOp)} - {
            'AddBackward', 'MulBackward', 'SubBackward', 'DivBackward',
            'Unknown'})
    covered = [m for m in layers if id(m) in pruned_out]
    uncovered = [name for m, name in layers.items() if id(m) not in
                 pruned_out]
    unwrapped = []
    for param, dim in graph.unwrapped_parameters:
        name = graph._param_to_name.get(param, '?')
        unwrapped.append(dict(name=name.replace('model.', '', 1),
                              shape=list(param.shape), pruning_dim=dim,
                              in_group=id(param) in pruned_out))
    return dict(
        built=True, seconds=seconds, groups=len(groups),
        largest_group=max(group_sizes, default=0),
        coverage=[len(covered), len(layers)],
        uncovered_count=len(uncovered), uncovered=uncovered[:10],
        unwrapped_count=len(unwrapped),
        unwrapped_in_group=sum(u['in_group'] for u in unwrapped),
        unwrapped=unwrapped[:12],
        elementwise_ops=elementwise,
        mismatched_groups=len(mismatched), mismatched_examples=mismatched[:5],
        attention=attention_heads(model, graph, groups, layers))


def index_mismatch(graph, group) -> Optional[str]:
    """The first member of a DepGraph group whose channel indices run past
    its channels (the group couples layers of different sizes wrongly),
    as ``root -> member: max index / channels``; ``None`` if none."""
    root = group[0].dep.target
    for dep, idxs in group:
        node = dep.target
        try:
            if graph.is_out_channel_pruning_fn(dep.handler):
                channels = graph.get_out_channels(node)
            else:
                channels = graph.get_in_channels(node)
        except Exception:  # noqa: BLE001 -- an op without channels
            continue
        if channels is not None and idxs and max(idxs) >= channels:
            def name(n):
                return graph._module2name.get(
                    n.module, graph._param_to_name.get(n.module, n.name)
                ).replace('model.', '', 1)
            side = 'out' if graph.is_out_channel_pruning_fn(dep.handler) \
                else 'in'
            return (f'{name(root)} -> {name(node)} ({side}): index '
                    f'{max(idxs)} / {channels} channels')
    return None


def attention_heads(model: nn.Module, graph, groups, layers) -> dict:
    """What DepGraph's groups do with the attentions' ``qkv`` layers.

    DepGraph has no notion of heads unless the pruner is given
    ``num_heads={qkv: n}`` by hand (``BasePruner``'s ``num_heads``); this
    records, for the attention modules (those with a ``num_heads``
    attribute and a ``qkv`` linear, or any linear named ``*qkv``), whether
    the ``qkv`` output is in a group, and which layers share that group.

    Returns:
        dict: ``modules`` (attentions found), ``qkv_in_group``,
        ``qkv_group_members`` (one example), ``num_heads_automatic``.
    """
    qkv = {m: n for m, n in layers.items()
           if isinstance(m, nn.Linear) and n.split('.')[-1] in ('qkv', 'q')}
    attentions = [n for n, m in model.named_modules()
                  if hasattr(m, 'num_heads') and not isinstance(m, nn.Linear)]
    example, in_group = None, 0
    for group in groups:
        members = [(graph._module2name.get(
            dep.target.module,
            graph._param_to_name.get(dep.target.module, '?')),
                    'out' if graph.is_out_channel_pruning_fn(dep.handler)
                    else 'in') for dep, _ in group]
        if any(id(dep.target.module) in map(id, qkv) and
               graph.is_out_channel_pruning_fn(dep.handler)
               for dep, _ in group):
            in_group += 1
            if example is None:
                example = [f'{n.replace("model.", "", 1)}:{d}'
                           for n, d in members if n != '?'][:12]
    return dict(attention_modules=len(attentions), qkv_layers=len(qkv),
                qkv_in_group=in_group, qkv_group_example=example,
                num_heads_automatic=False)


def qkv_heads(model: nn.Module) -> Dict[nn.Module, int]:
    """``{qkv linear: heads}`` for the attentions whose module has a
    ``num_heads`` attribute and a ``qkv`` linear (what DepGraph's pruner
    must be told by hand)."""
    heads = {}
    for module in model.modules():
        qkv = getattr(module, 'qkv', None)
        if isinstance(getattr(module, 'num_heads', None), int) and \
                isinstance(qkv, nn.Linear):
            heads[qkv] = module.num_heads
    return heads


def prune_check(model: nn.Module, inputs: torch.Tensor,
                whole_macs: int, with_heads: bool = False) -> dict:
    """Prune a deep copy's every group to 25 % of its channels.

    Args:
        model (nn.Module): The classifier (not modified).
        inputs (torch.Tensor): An example batch.
        whole_macs (int): Conv + linear multiply-adds of ``model``.
        with_heads (bool): Give the pruner ``num_heads`` (from
            :func:`qkv_heads`), pruning head dimensions. Defaults to False.

    Returns:
        dict: ``pruned`` (it ran), ``runs`` (the pruned copy's forward),
        ``macs_share``, ``params_share``, ``layers_kept_whole``, ``error``.
    """
    import torch_pruning as tp
    copied = copy.deepcopy(model)
    before = {name: out_channels(m)
              for m, name in conv_linear_layers(copied).items()}
    ignored = head_linears(copied)
    wrapper = TensorMode(copied)
    start = time.time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            pruner = tp.pruner.MetaPruner(
                wrapper, inputs,
                importance=tp.importance.MagnitudeImportance(p=2),
                pruning_ratio=PRUNING_RATIO, global_pruning=False,
                ignored_layers=ignored,
                num_heads=qkv_heads(copied) if with_heads else {})
            pruner.step()
    except Exception as error:  # noqa: BLE001
        return dict(pruned=False, seconds=round(time.time() - start, 1),
                    error=error_text(error))
    after = {name: out_channels(m)
             for m, name in conv_linear_layers(copied).items()}
    ignored_names = {n for m, n in conv_linear_layers(copied).items()
                     if m in ignored}
    kept = [n for n, c in after.items()
            if n not in ignored_names and before.get(n) == c]
    row = dict(pruned=True, seconds=round(time.time() - start, 1),
               params_share=round(param_count(copied) /
                                  param_count(model), 4),
               layers_kept_whole=len(kept),
               layers_prunable=len(after) - len(ignored_names),
               kept_whole_examples=kept[:10])
    try:
        with torch.no_grad():
            macs = conv_linear_macs(copied,
                                    lambda: copied(inputs, mode='tensor'))
        row.update(runs=True, macs_share=round(macs / whole_macs, 4))
    except Exception as error:  # noqa: BLE001
        row.update(runs=False, error=error_text(error))
    return row


def our_tracer(classifier: dict, size: int, seconds: int) -> dict:
    """pwkd_plugin's slimmable teacher, ``allow_mostly_whole=True``.

    Args:
        classifier (dict): The classifier config.
        size (int): Input size.
        seconds (int): Give up after this long.

    Returns:
        dict: ``whole_layers``, ``flops_share`` (width 0.25 over 1),
        ``seconds``; or ``refused`` / ``skipped``.
    """
    start = time.time()
    try:
        with time_box(seconds):
            teacher, _ = build_teacher(copy.deepcopy(classifier), size, True)
            teacher.eval()
            inputs = torch.rand(1, 3, size, size)
            macs = {}
            for width in (TRACER_WIDTH, 1.0):
                static = teacher.static_architecture(width)
                macs[width] = conv_linear_macs(
                    static, lambda: static(inputs, mode='tensor'))
    except TimeBox as error:
        return dict(skipped=f'tracer {error}',
                    seconds=round(time.time() - start, 1))
    except (UntraceableModelError, WidthForwardError) as error:
        if 'TimeBox' in str(error):  # wrapped by the tracer
            return dict(skipped=f'tracer over {seconds} s',
                        seconds=round(time.time() - start, 1))
        return dict(refused=error_text(error),
                    seconds=round(time.time() - start, 1))
    except Exception as error:  # noqa: BLE001
        return dict(refused=error_text(error), unexpected=True,
                    seconds=round(time.time() - start, 1))
    return dict(whole_layers=len(teacher.mutator.whole_layers),
                flops_share=round(macs[TRACER_WIDTH] / macs[1.0], 4),
                seconds=round(time.time() - start, 1))


def measure(name: str, path: str, size: int, tracer_timeout: int,
            log: Callable[[str], None] = print) -> dict:
    """One family's row.

    Args:
        name (str): Display name.
        path (str): ``mmpretrain::`` config name.
        size (int): Input size.
        tracer_timeout (int): Seconds before our tracer is skipped.
        log (Callable): Progress printer.

    Returns:
        dict: The row (see the module docstring).
    """
    row = dict(family=name, config=path)
    torch.manual_seed(0)
    classifier = classifier_config(path)
    start = time.time()
    with quiet_logger():
        model = build_classifier(classifier)
    model.eval()
    row['build_seconds'] = round(time.time() - start, 1)
    inputs = torch.rand(1, 3, size, size)
    layers = conv_linear_layers(model)
    with torch.no_grad():
        whole_macs = conv_linear_macs(model,
                                      lambda: model(inputs, mode='tensor'))
    row.update(conv_linear_layers=len(layers), macs=whole_macs,
               params=param_count(model))
    log(f'  built in {row["build_seconds"]} s, {len(layers)} conv/linear')
    row['depgraph'] = depgraph(model, inputs)
    log(f'  depgraph: {short_depgraph(row["depgraph"])}')
    if row['depgraph']['built']:
        row['pruned'] = prune_check(model, inputs, whole_macs)
        log(f'  pruned: {short_pruned(row["pruned"])}')
        if qkv_heads(model):
            row['pruned_with_num_heads'] = prune_check(
                model, inputs, whole_macs, with_heads=True)
            log('  pruned with num_heads: '
                f'{short_pruned(row["pruned_with_num_heads"])}')
    row['tracer'] = our_tracer(classifier, size, tracer_timeout)
    log(f'  tracer: {short_tracer(row["tracer"])}')
    return row


def short_depgraph(d: dict) -> str:
    """One table cell: DepGraph's build."""
    if not d.get('built'):
        return f'no: {d.get("error", "")[:150]}'
    bad = d.get('mismatched_groups')
    return (f'yes, {d["groups"]} groups, {d["seconds"]} s' +
            (f', {bad} group(s) with out-of-range indices' if bad else ''))


def short_pruned(p: Optional[dict]) -> str:
    """One table cell: the pruned copy."""
    if not p:
        return '-'
    if not p.get('pruned'):
        return f'pruning failed: {p.get("error", "")[:150]}'
    if not p.get('runs'):
        return f'no: {p.get("error", "")[:150]}'
    return f'yes, {p["macs_share"]:.3f} / {p["params_share"]:.3f}'


def short_tracer(t: dict) -> str:
    """One table cell: our tracer."""
    if 'skipped' in t:
        return f'skipped ({t["skipped"]})'
    if 'refused' in t:
        return f'refused: {t["refused"][:150]}'
    return f'{t["whole_layers"]} whole, {t["flops_share"]:.3f}'


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace('|', '\\|').replace('\n', ' ')


def table(rows: List[dict], size: int) -> str:
    """The Markdown report."""
    lines = [
        f'# DepGraph (torch-pruning) channel couplings vs our tracer, '
        f'input {size}x{size}', '',
        'Coverage: conv/linear layers whose output channels are in some '
        'DepGraph group (root or member) / all conv + linear layers but '
        'the final classifier. '
        'Unwrapped: per-channel `nn.Parameter`s outside known modules '
        '(in a group / all). Pruned: every group cut to 25 % of its '
        'channels (MetaPruner, magnitude, local, classifier ignored): '
        'whether it runs, conv+linear MACs / params share of the whole, '
        'prunable conv/linear layers that kept all output channels. '
        'Tracer: pwkd_plugin slimmable teacher (allow_mostly_whole=True): '
        'layers left whole, FLOPs share of width 0.25.', '',
        '| family | build s | DepGraph built | groups | coverage | '
        'unwrapped (in group / all) | qkv groups / heads | pruned to 25 % '
        'runs, MACs / params | layers kept whole (pruned) | our tracer |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for row in rows:
        if 'error' in row:
            lines.append(f'| {row["family"]} | | error: '
                         f'{md_cell(row["error"][:200])} | | | | | | | |')
            continue
        d = row['depgraph']
        p = row.get('pruned')
        if d.get('built'):
            cov = f'{d["coverage"][0]}/{d["coverage"][1]}'
            unw = f'{d["unwrapped_in_group"]}/{d["unwrapped_count"]}'
            att = d['attention']
            heads = (f'{att["qkv_in_group"]}/{att["qkv_layers"]} qkv, '
                     f'{att["attention_modules"]} attn'
                     if att['qkv_layers'] or att['attention_modules']
                     else '-')
            if 'pruned_with_num_heads' in row:
                heads += ('; given num_heads, pruned runs: ' +
                          short_pruned(row['pruned_with_num_heads']))
            groups = d['groups']
        else:
            cov = unw = heads = groups = '-'
        kept = (f'{p["layers_kept_whole"]}/{p["layers_prunable"]}'
                if p and p.get('pruned') else '-')
        lines.append(
            f'| {row["family"]} | {row["build_seconds"]} | '
            f'{md_cell(short_depgraph(d))} | {groups} | {cov} | {unw} | '
            f'{heads} | {md_cell(short_pruned(p))} | {kept} | '
            f'{md_cell(short_tracer(row["tracer"]))} '
            f'({row["tracer"].get("seconds", "-")} s) |')
    return '\n'.join(lines) + '\n'


def write_json(path: str, size: int, rows: List[dict]) -> None:
    """Write the rows so far."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as file:
        json.dump(dict(input_size=size, rows=rows), file, indent=2)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry.

    Args:
        argv (list[str] | None): Arguments; ``None``: ``sys.argv``.

    Returns:
        int: Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--families', nargs='*',
                        help=f'a subset, by name: {", ".join(FAMILIES)}')
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--tracer-timeout', type=int, default=180,
                        help='seconds before our tracer is skipped')
    parser.add_argument('--json', help='default: benchmarks/results/'
                        'depgraph_coupling_<size>.json')
    parser.add_argument('--md', help='default: benchmarks/results/'
                        'depgraph_coupling_<size>.md')
    args = parser.parse_args(argv)
    results = osp.join(BENCHMARKS, 'results')
    json_path = args.json or osp.join(
        results, f'depgraph_coupling_{args.input_size}.json')
    md_path = args.md or osp.join(
        results, f'depgraph_coupling_{args.input_size}.md')
    unknown = set(args.families or ()) - set(FAMILIES)
    if unknown:
        parser.error(f'unknown families: {sorted(unknown)}')
    names = [n for n in FAMILIES if not args.families or n in args.families]
    rows = []
    for name in names:
        print(f'# {name} ({FAMILIES[name]})', flush=True)
        start = time.time()
        try:
            row = measure(name, FAMILIES[name], args.input_size,
                          args.tracer_timeout,
                          log=lambda s: print(s, flush=True))
        except Exception as error:  # noqa: BLE001
            traceback.print_exc()
            row = dict(family=name, config=FAMILIES[name],
                       error=error_text(error))
        row['seconds'] = round(time.time() - start, 1)
        rows.append(row)
        write_json(json_path, args.input_size, rows)
        print(f'# {name}: {row["seconds"]} s', flush=True)
    text = table(rows, args.input_size)
    with open(md_path, 'w') as file:
        file.write(text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
