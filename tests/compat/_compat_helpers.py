"""Helpers of the compat tests: run Python code in a fresh interpreter.

The "without the fix" side of every compat test runs in a subprocess that does
not import :mod:`pwkd_plugin` (importing it applies every fix). Where a test
needs the other fixes in place to reach the breakage it is about, the
subprocess loads single fix modules from their files with :data:`LOAD_FIX`,
which does not run ``pwkd_plugin/__init__.py``.
"""
import json
import os
import os.path as osp
import subprocess
import sys

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
COMPAT_DIR = osp.join(REPO_ROOT, 'pwkd_plugin', 'compat')

#: Marks the line of a subprocess's stdout that holds its JSON result.
RESULT_MARK = '@@RESULT@@ '

#: Code that defines ``report(dict)`` (prints the result line),
#: ``outcome(fn)`` (``{'ok': value or type name}`` or
#: ``{'error': type name, 'msg': str, 'mro': [type names]}``) and
#: ``load_fix(name)`` (one fix module loaded from its file, standalone).
PRELUDE = f'''
import importlib.util as _ilu
import json as _json
import sys
import warnings
warnings.simplefilter('ignore')


def report(result):
    print({RESULT_MARK!r} + _json.dumps(result, default=repr), flush=True)


def outcome(fn):
    try:
        value = fn()
    except BaseException as e:  # noqa: B902
        return {{'error': type(e).__name__, 'msg': str(e),
                 'mro': [c.__name__ for c in type(e).__mro__]}}
    if not isinstance(value, (type(None), bool, int, float, str, list, dict)):
        value = type(value).__name__  # an object: its type is enough
    return {{'ok': value}}


def load_fix(name):
    spec = _ilu.spec_from_file_location(
        '_standalone_fix_' + name, {COMPAT_DIR!r} + '/' + name + '.py')
    module = _ilu.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
'''


def run_python(code: str, cwd: str, timeout: float = 180) -> dict:
    """Run ``PRELUDE + code`` in a fresh interpreter; return its report.

    Args:
        code (str): Python code that calls ``report(dict)`` once.
        cwd (str): Working directory of the subprocess.
        timeout (float): Seconds before the subprocess is killed.

    Returns:
        dict: What the code reported.
    """
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.pop('TORCH_FORCE_WEIGHTS_ONLY_LOAD', None)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (HERE, env.get('PYTHONPATH')) if p)
    proc = subprocess.run([sys.executable, '-c', PRELUDE + code],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    lines = [
        line for line in proc.stdout.splitlines()
        if line.startswith(RESULT_MARK)
    ]
    assert proc.returncode == 0 and len(lines) == 1, (
        f'subprocess failed (rc={proc.returncode})\n'
        f'--- stdout ---\n{proc.stdout[-4000:]}\n'
        f'--- stderr ---\n{proc.stderr[-6000:]}')
    return json.loads(lines[0][len(RESULT_MARK):])
