"""Finding installed packages for ``pkg::path`` configs without pkg_resources.

mmengine 0.10.7 resolves ``mmpretrain::...`` and ``mmrazor::...`` config paths
with ``pkg_resources``, which setuptools >= 81 no longer ships, so every such
path fails there (FileNotFoundError or ModuleNotFoundError, depending on
what is left of ``pkg_resources``). The replacements below use
:mod:`importlib.metadata` and :mod:`importlib.util` and work with any
setuptools.
"""
import importlib.metadata
import importlib.util
import os.path as osp

def _module_of_distribution(package: str) -> str:
    """Module name of an installed distribution (``mmcv-lite`` -> ``mmcv``)."""
    dist = importlib.metadata.distribution(package)
    top_level = dist.read_text('top_level.txt')
    if top_level and top_level.split():
        return top_level.split()[0]
    return package.replace('-', '_')


def is_installed(package: str) -> bool:
    """Whether a distribution or an importable module named ``package`` exists.

    Args:
        package (str): Distribution or module name.

    Returns:
        bool: True if it is installed.
    """
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """Folder of an installed package's module.

    Args:
        package (str): Distribution or module name.

    Returns:
        str: The folder that holds the package's ``__init__.py``.
    """
    try:
        module = _module_of_distribution(package)
    except importlib.metadata.PackageNotFoundError:
        module = package
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise importlib.metadata.PackageNotFoundError(package)
    if spec.origin is None:
        raise RuntimeError(f'{package} is a namespace package, which is '
                           'invalid for `get_installed_path`')
    return osp.dirname(spec.origin)


def patch_mmengine_package_lookup() -> bool:
    """Make mmengine use the lookups above everywhere it imported its own.

    Returns:
        bool: True (the patch is always applicable).
    """
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils

    for module in (package_utils, utils_module, config_module, hub_module):
        if hasattr(module, 'is_installed'):
            module.is_installed = is_installed
        module.get_installed_path = get_installed_path
    return True
