"""docs/config_blocks.md holds the key tables the block modules give."""
import importlib.util
import os.path as osp

from pwkd_plugin.config_blocks import (FAST_TEACHER_DEFAULTS,
                                       LR_CYCLE_DEFAULTS, PWKD_DEFAULTS,
                                       SLIMMABLE_DEFAULTS)
from pwkd_plugin.config_blocks.block_keys import BlockKey

from ..conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'misc', 'block_key_tables.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('block_key_tables', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_tables_are_the_code_tables():
    tool = load_tool()
    with open(tool.DOCS_PAGE, encoding='utf-8') as f:
        text = f.read()
    stale = tool.stale_tables(text, tool.block_key_tables())
    assert not stale, (
        f'docs/config_blocks.md: the key tables of {stale} differ from the '
        f'block modules; regenerate them with `{tool.WRITE_COMMAND}`')


def test_every_key_of_every_block_is_documented():
    tables = load_tool().block_key_tables()
    for name, defaults in (('slimmable', SLIMMABLE_DEFAULTS),
                           ('pwkd', PWKD_DEFAULTS),
                           ('pwkd.lr_cycle', LR_CYCLE_DEFAULTS),
                           ('fast_teacher', FAST_TEACHER_DEFAULTS)):
        assert [key.name for key in tables[name]] == list(defaults), name


def test_a_changed_key_is_found_and_rewritten(tmp_path, capsys):
    tool = load_tool()
    page = tmp_path / 'config_blocks.md'
    page.write_text('# Blocks\n\n<!-- block-keys: demo -->\nold\n'
                    '<!-- end block-keys: demo -->\n\ntext after\n')
    tables = {'demo': (BlockKey('depth', 3, 'how deep'),
                       BlockKey('ckpt', None, 'a file', 'required'))}
    tool.block_key_tables = lambda: tables

    assert tool.main(['--docs', str(page)]) == 1
    assert 'demo differ' in capsys.readouterr().out
    assert tool.main(['--docs', str(page), '--write']) == 0
    assert page.read_text() == (
        '# Blocks\n\n<!-- block-keys: demo -->\n'
        '| key | default | meaning |\n|---|---|---|\n'
        '| `depth` | `3` | how deep |\n| `ckpt` | required | a file |\n'
        '<!-- end block-keys: demo -->\n\ntext after\n')
    assert tool.main(['--docs', str(page)]) == 0
