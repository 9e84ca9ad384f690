from . import (algorithms, architectures, backbones, distillers,  # noqa: F401
               dynamic_ops, losses, mutators, utils)
