"""Check or rewrite the key tables of docs/config_blocks.md.

The tables of the ``slimmable``, ``pwkd`` (and ``pwkd.lr_cycle``) and
``fast_teacher`` blocks are generated from the ``*_KEYS`` rows of the block
modules, between marker comments::

    <!-- block-keys: pwkd -->
    ...
    <!-- end block-keys: pwkd -->

Without ``--write`` the tool checks that the page holds the tables the code
gives (exit status 1 naming the tables that differ); with ``--write`` it
rewrites the marked parts.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import marked_tables  # noqa: E402
from pwkd_plugin.config_blocks.block_keys import BlockKey, markdown_table  # noqa: E402

DOCS_PAGE = osp.join(REPO_ROOT, 'docs', 'config_blocks.md')
WRITE_COMMAND = 'python tools/misc/block_key_tables.py --write'
KIND = 'block-keys'


def block_key_tables() -> Dict[str, Sequence[BlockKey]]:
    """Every documented table: its name in the markers -> its keys."""
    from pwkd_plugin.config_blocks.fast_teacher_block import FAST_TEACHER_KEYS
    from pwkd_plugin.config_blocks.pwkd_block import LR_CYCLE_KEYS, PWKD_KEYS
    from pwkd_plugin.config_blocks.slimmable_block import SLIMMABLE_KEYS
    return {
        'slimmable': SLIMMABLE_KEYS,
        'pwkd': PWKD_KEYS,
        'pwkd.lr_cycle': LR_CYCLE_KEYS,
        'fast_teacher': FAST_TEACHER_KEYS,
    }


def _tables_text(tables: Dict[str, Sequence[BlockKey]]) -> Dict[str, str]:
    return {name: markdown_table(keys) for name, keys in tables.items()}


def regenerate(text: str, tables: Dict[str, Sequence[BlockKey]]) -> str:
    """The page with every marked part holding its generated table.

    Args:
        text (str): The page.
        tables (dict): Table name -> keys.

    Returns:
        str: The page, marked parts rewritten.

    Raises:
        ValueError: A table's markers are missing.
    """
    return marked_tables.regenerate(text, KIND, _tables_text(tables))


def stale_tables(text: str,
                 tables: Dict[str, Sequence[BlockKey]]) -> List[str]:
    """The names of the tables whose marked part differs from the code's."""
    return marked_tables.stale_tables(text, KIND, _tables_text(tables))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--write', action='store_true',
                        help='rewrite the marked tables instead of checking')
    parser.add_argument('--docs', default=DOCS_PAGE,
                        help='the page (default: docs/config_blocks.md)')
    args = parser.parse_args(argv)
    with open(args.docs, encoding='utf-8') as f:
        text = f.read()
    tables = block_key_tables()
    if args.write:
        new_text = regenerate(text, tables)
        if new_text != text:
            with open(args.docs, 'w', encoding='utf-8') as f:
                f.write(new_text)
        print(f'{args.docs}: key tables written')
        return 0
    stale = stale_tables(text, tables)
    if stale:
        print(f'{args.docs}: the key tables of {", ".join(stale)} differ '
              f'from the code; regenerate them with `{WRITE_COMMAND}`')
        return 1
    print(f'{args.docs}: key tables match the code')
    return 0


if __name__ == '__main__':
    sys.exit(main())
