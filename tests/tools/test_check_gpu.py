"""tools/check_gpu.sh as far as a machine without a GPU can check it: its
syntax, its refusals, and every flag it passes to our Python tools."""
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'check_gpu.sh')
#: Each value the script's loops give a flag.
LOOP_VALUES = {'"$precision"': ('fp16', 'bf16')}


def tool_calls():
    """``[(script path, [arguments])]`` of every call of a Python tool of
    this repository in the script (continuation lines joined)."""
    with open(SCRIPT) as f:
        text = f.read().replace('\\\n', ' ')
    calls = []
    for line in text.splitlines():
        match = re.search(r'\b((?:benchmarks|tools)/\w+\.py)\b(.*)', line)
        if match:
            calls.append((match.group(1), shlex.split(match.group(2),
                                                       posix=False)))
    return calls


def help_text(path, monkeypatch, capsys):
    """What ``path --help`` prints (its argparse parser, in this process)."""
    folder, name = osp.split(osp.join(REPO_ROOT, path))
    monkeypatch.syspath_prepend(folder)
    module = __import__(name[:-3])
    monkeypatch.setattr(sys, 'argv', [name, '--help'])
    with pytest.raises(SystemExit):
        module.parse_args()
    return capsys.readouterr().out


def test_the_script_parses():
    result = subprocess.run(['bash', '-n', SCRIPT], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_every_flag_it_passes_exists(monkeypatch, capsys):
    calls = tool_calls()
    assert sorted({path for path, _ in calls}) == [
        'benchmarks/fidelity.py', 'benchmarks/speed.py',
        'benchmarks/teacher_cost.py']
    for path, args in calls:
        usage = help_text(path, monkeypatch, capsys)
        for index, arg in enumerate(args):
            if not arg.startswith('--'):
                continue
            assert re.search(rf'(?<![\w-]){re.escape(arg)}(?![\w-])',
                             usage), f'{path} has no {arg}'
            value = args[index + 1] if index + 1 < len(args) else ''
            for choice in LOOP_VALUES.get(value, ()):
                assert re.search(rf'{re.escape(arg)} {{[^}}]*\b{choice}\b',
                                 usage), f'{path} {arg} refuses {choice}'
        assert '--device' in args and args[args.index('--device') + 1] == \
            'cuda', path


def test_it_runs_the_cuda_tier_within_its_time():
    with open(SCRIPT) as f:
        text = f.read()
    assert 'PWKD_TEST_CUDA=1' in text and '-m cuda' in text
    limits = [int(n) for n in re.findall(r'^\s*step [\w"$]+ (\d+) ', text,
                                         re.M)]
    fidelity_runs = 2  # the fidelity step runs once per precision
    assert len(limits) == 6
    total = sum(limits) + limits[4] * (fidelity_runs - 1)
    assert total <= 8 * 60 - 30, total  # set-up checks fit in the rest


@pytest.mark.parametrize('args, message', [
    ([], 'usage:'),
    (['{tmp}/none', '{tmp}/out'], 'WHEELS: no folder'),
    (['{tmp}', '{tmp}/out'], 'WHEELS: no mmengine wheel'),
])
def test_it_refuses_without_its_wheels(tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    result = subprocess.run(['bash', SCRIPT, *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / 'out').exists()
