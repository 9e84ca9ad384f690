"""The keys of a config block as one table: name, default and meaning.

Each block module lists its keys once, as :class:`BlockKey` rows; its
defaults dict is built from them (:func:`defaults_of`) and
``docs/config_blocks.md`` shows them as the tables :func:`markdown_table`
renders (``python tools/misc/block_key_tables.py --write`` rewrites them).
"""
from typing import Any, Dict, NamedTuple, Optional, Sequence


class BlockKey(NamedTuple):
    """One key of a config block.

    Args:
        name (str): The key.
        default (Any): The value a block without the key gets.
        meaning (str): What the key sets, in Markdown (one line, no ``|``).
        shown_default (str, optional): How the docs show the default where
            its value says less than words (``None`` standing for "the
            checkpoint's widths"). Defaults to None: the value's repr.
    """
    name: str
    default: Any
    meaning: str
    shown_default: Optional[str] = None


def defaults_of(keys: Sequence[BlockKey]) -> Dict[str, Any]:
    """The defaults dict of a block, in the order of its keys.

    Args:
        keys (Sequence[BlockKey]): The block's keys.

    Returns:
        dict: key name -> default.
    """
    return {key.name: key.default for key in keys}


def markdown_table(keys: Sequence[BlockKey]) -> str:
    """The keys as a Markdown table (key, default, meaning).

    Args:
        keys (Sequence[BlockKey]): The block's keys.

    Returns:
        str: The table, one line per key after the header, no trailing
        newline.
    """
    lines = ['| key | default | meaning |', '|---|---|---|']
    for key in keys:
        if '|' in key.meaning or '\n' in key.meaning:
            raise ValueError(f'the meaning of {key.name} must be one line '
                             'without "|"')
        default = (key.shown_default if key.shown_default is not None else
                   f'`{key.default!r}`')
        lines.append(f'| `{key.name}` | {default} | {key.meaning} |')
    return '\n'.join(lines)
