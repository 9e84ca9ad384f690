"""``benchmarks/depgraph_coupling.py`` runs and its figures make sense.

ResNet-50 at a toy input: every coupling of a ResNet is a residual add,
which both DepGraph and our tracer follow, so DepGraph covers every conv
layer, its pruned copy runs with every layer pruned, and our tracer leaves
no layer whole.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'benchmarks', 'depgraph_coupling.py')


def test_resnet50_couplings(tmp_path):
    json_path, md_path = tmp_path / 'dg.json', tmp_path / 'dg.md'
    result = subprocess.run(
        [sys.executable, SCRIPT, '--input-size', '64', '--families',
         'ResNet-50', '--json', str(json_path), '--md', str(md_path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(json_path) as file:
        figures = json.load(file)
    assert figures['input_size'] == 64
    [row] = figures['rows']
    assert row['family'] == 'ResNet-50' and 'error' not in row
    assert row['conv_linear_layers'] == 54  # 53 convs and the classifier
    assert row['build_seconds'] >= 0 and row['macs'] > 0

    graph = row['depgraph']
    assert graph['built'] is True
    # 1 stem + 16 blocks x 2 inner convs + 4 stages' residual groups + 1.
    assert 30 <= graph['groups'] <= 45
    assert graph['coverage'] == [53, 53]  # all convs; the head is ignored
    assert graph['uncovered'] == []
    assert graph['unwrapped_count'] == 0
    assert graph['attention']['qkv_layers'] == 0
    assert graph['attention']['num_heads_automatic'] is False

    pruned = row['pruned']
    assert pruned['pruned'] is True and pruned['runs'] is True
    assert pruned['layers_kept_whole'] == 0
    assert pruned['layers_prunable'] == 53
    # 25 % of the channels on both sides of most layers: about 1/16.
    assert 0.04 < pruned['macs_share'] < 0.12
    assert 0.04 < pruned['params_share'] < 0.15

    tracer = row['tracer']
    assert tracer['whole_layers'] == 0
    assert tracer['flops_share'] == pytest.approx(pruned['macs_share'],
                                                  abs=0.03)
    table = md_path.read_text()
    assert '| ResNet-50 |' in table and '53/53' in table
