"""Generated tables kept in Markdown pages between marker comments::

    <!-- KIND: NAME -->
    ...
    <!-- end KIND: NAME -->

``KIND`` says which command writes the table (``block-keys``: the config
blocks' key tables; ``regimes``: the regime study's report), ``NAME`` which
table it is. The markers stay; only what lies between them is rewritten.
"""
import re
from typing import Dict, List


def marked_part(kind: str, name: str) -> 're.Pattern':
    kind, name = re.escape(kind), re.escape(name)
    return re.compile(rf'(<!-- {kind}: {name} -->\n)(.*?)'
                      rf'(<!-- end {kind}: {name} -->)', re.DOTALL)


def regenerate(text: str, kind: str, tables: Dict[str, str]) -> str:
    """The page with every marked part holding its table.

    Args:
        text (str): The page.
        kind (str): The markers' kind.
        tables (dict): Table name -> its Markdown (no final newline).

    Returns:
        str: The page, marked parts rewritten.

    Raises:
        ValueError: A table's markers are missing.
    """
    for name, table in tables.items():
        pattern = marked_part(kind, name)
        if not pattern.search(text):
            raise ValueError(
                f'the page has no markers for the {name} table: '
                f'"<!-- {kind}: {name} -->" and '
                f'"<!-- end {kind}: {name} -->" on lines of their own')
        text = pattern.sub(lambda m: m.group(1) + table + '\n' + m.group(3),
                           text)
    return text


def stale_tables(text: str, kind: str, tables: Dict[str, str]) -> List[str]:
    """The names of the tables whose marked part differs from ``tables``
    (or that the page does not hold)."""
    return [name for name in tables
            if not marked_part(kind, name).search(text) or
            regenerate(text, kind, {name: tables[name]}) != text]
