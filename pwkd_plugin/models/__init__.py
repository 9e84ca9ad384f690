from . import algorithms, backbones, losses, mutators  # noqa: F401
