"""Checks shared by the plugin's config blocks; errors name the key."""
import importlib
import os.path as osp
import zipfile
from numbers import Real


def check_keys(block: dict, allowed: dict, name: str) -> None:
    """Refuse keys a block does not know."""
    unknown = sorted(set(block) - set(allowed))
    if unknown:
        raise ValueError(f'{name}: unknown key(s) {unknown}; the keys are '
                         f'{sorted(allowed)}')


def check_positive_int(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{key} must be a positive integer, got {value!r}')
    return value


def check_positive_number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
        raise ValueError(f'{key} must be a positive number, got {value!r}')
    return float(value)


def check_bool(value, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f'{key} must be True or False, got {value!r}')
    return value


def check_existing_file(value, key: str) -> str:
    if not isinstance(value, str) or not osp.isfile(value):
        raise ValueError(f'{key} must be an existing checkpoint file, got '
                         f'{value!r}')
    return value


#: The first byte of a pickle of protocol 2 or later: torch's legacy
#: (non-zip) checkpoint format starts with one.
_PICKLE_PROTO = 0x80


def check_checkpoint_file(value, key: str) -> str:
    """Refuse a checkpoint file that is missing, empty or truncated.

    Reads only the file's head and (for torch's zip format) its central
    directory, not the tensors, so a broken file is named before torch
    fails on it with a bare ``EOFError`` or a zip-reader error.

    Args:
        value: The path the config gives.
        key (str): The config key, for the message.

    Returns:
        str: The path.
    """
    check_existing_file(value, key)
    size = osp.getsize(value)
    if size == 0:
        raise ValueError(f'{key} {value} is empty (0 bytes): not a '
                         'checkpoint; was its writing interrupted?')
    with open(value, 'rb') as f:
        head = f.read(4)
    if head == b'PK\x03\x04':
        try:
            with zipfile.ZipFile(value) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            raise ValueError(
                f'{key} {value} is truncated ({size} bytes, the end of the '
                'archive is missing): its writing did not finish; give a '
                'complete checkpoint') from None
    elif head[0] != _PICKLE_PROTO:
        raise ValueError(f'{key} {value} is not a torch checkpoint (neither '
                         'a zip archive nor a pickle)')
    return value


#: Backbones that need a package outside the pinned stack: (module, extra).
OPTIONAL_BACKBONES = {'TIMMBackbone': ('timm', 'timm')}


def check_slimmable_backbone(classifier, key: str) -> None:
    """Refuse a classifier config whose backbone needs a missing package.

    A slimmable timm backbone (mmpretrain's ``TIMMBackbone``, e.g. the
    RegNetY teacher of mmrazor's DeiT config) needs timm for its layers
    (``BatchNormAct2d``) to be switchable.

    Args:
        classifier (dict): A classifier config (may be anything else, e.g.
            a ``cfg_path`` teacher, which is not checked here).
        key (str): The config key, for the message.
    """
    backbone = classifier.get('backbone') if isinstance(classifier,
                                                        dict) else None
    if not isinstance(backbone, dict):
        return
    name = str(backbone.get('type', '')).split('.')[-1]
    if name not in OPTIONAL_BACKBONES:
        return
    package, extra = OPTIONAL_BACKBONES[name]
    try:
        importlib.import_module(package)
    except ImportError:
        raise ValueError(
            f'{key}.backbone is a {name}, which needs {package}, and it is '
            f'not installed: pip install "pwkd_plugin[{extra}]"') from None
