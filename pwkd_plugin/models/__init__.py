from . import algorithms, backbones, mutators  # noqa: F401
