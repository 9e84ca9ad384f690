"""The package's imports flow one way: down its layers, without cycles.

Every import statement of every module (lazy ones inside functions too) is
read from the source; a module may import from its own layer and the layers
below it, never from one above. The two packages that only gather their
children (``pwkd_plugin`` and ``pwkd_plugin.models``) may import their own
descendants.
"""
import ast
import os
import os.path as osp
import subprocess
import sys

from .conftest import REPO_ROOT

PACKAGE = 'pwkd_plugin'

#: The layers, lowest first; a module belongs to the longest prefix that
#: names it.
LAYERS = (
    ('pwkd_plugin.version', 'pwkd_plugin.compat'),
    ('pwkd_plugin.checkpoints', ),
    ('pwkd_plugin.models.utils', ),
    ('pwkd_plugin.models.dynamic_ops', ),
    ('pwkd_plugin.models.backbones', 'pwkd_plugin.models.mutators'),
    ('pwkd_plugin.models.architectures', ),
    ('pwkd_plugin.models.losses', ),
    ('pwkd_plugin.models.distillers', ),
    ('pwkd_plugin.models.algorithms', ),
    ('pwkd_plugin.datasets', ),
    ('pwkd_plugin.engine', ),
    ('pwkd_plugin.config_blocks', ),
    ('pwkd_plugin.export', ),
    ('pwkd_plugin.apis', ),
    ('pwkd_plugin.testing', ),
)

#: Packages that only import their children, in no layer.
GATHERING_PACKAGES = ('pwkd_plugin', 'pwkd_plugin.models')


def package_modules() -> dict:
    """Module name -> (source path, whether it is a package's __init__)."""
    modules = {}
    root = osp.join(REPO_ROOT, PACKAGE)
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith('.py'):
                continue
            parts = osp.relpath(osp.join(folder, name[:-3]),
                                REPO_ROOT).split(os.sep)
            is_package = parts[-1] == '__init__'
            if is_package:
                parts = parts[:-1]
            modules['.'.join(parts)] = (osp.join(folder, name), is_package)
    return modules


def imported_modules(name: str, path: str, is_package: bool,
                     modules: dict) -> set:
    """The package's modules that module ``name`` imports."""
    tree = ast.parse(open(path).read(), path)
    base = name if is_package else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split('.')
                anchor = anchor[:len(anchor) - (node.level - 1)]
                source = '.'.join(anchor + ([node.module]
                                            if node.module else []))
            else:
                source = node.module
            # ``from package import module`` imports the module.
            targets = [
                f'{source}.{alias.name}'
                if f'{source}.{alias.name}' in modules else source
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets
                     if t == PACKAGE or t.startswith(PACKAGE + '.'))
    return found


def layer_of(name: str):
    """The index of the module's layer (None for a gathering package)."""
    best, index = '', None
    for position, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + '.')) and \
                    len(prefix) > len(best):
                best, index = prefix, position
    return index


def import_graph() -> dict:
    modules = package_modules()
    return {
        name: imported_modules(name, path, is_package, modules)
        for name, (path, is_package) in modules.items()
    }


def test_every_module_has_a_layer():
    unplaced = [
        name for name in package_modules()
        if layer_of(name) is None and name not in GATHERING_PACKAGES
    ]
    assert not unplaced, f'add these to LAYERS: {unplaced}'


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for name, imports in import_graph().items():
        own = layer_of(name)
        for target in imports:
            if own is None:  # a gathering package: its descendants only
                if not target.startswith(name + '.'):
                    upward.append(f'{name} -> {target}')
            elif layer_of(target) is None or layer_of(target) > own:
                upward.append(f'{name} -> {target}')
    assert not upward, 'imports from a layer above: ' + ', '.join(
        sorted(upward))


def test_there_is_no_import_cycle():
    graph = import_graph()
    state, stack, cycles = {}, [], []

    def visit(name):
        state[name] = 'open'
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 'open':
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 'done'

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, 'import cycles: ' + '; '.join(
        ' -> '.join(cycle) for cycle in cycles)


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(package_modules())
    code = ('import importlib, sys\n'
            f'for name in {names!r}:\n'
            '    importlib.import_module(name)\n')
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    result = subprocess.run([sys.executable, '-c', code],
                            cwd=REPO_ROOT,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
