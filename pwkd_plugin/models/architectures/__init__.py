from . import connectors  # noqa: F401
