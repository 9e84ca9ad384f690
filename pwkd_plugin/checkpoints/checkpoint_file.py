"""Whether a checkpoint file is whole, read from its head alone."""
import os.path as osp
import zipfile


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
