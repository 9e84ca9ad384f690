"""Mixed-precision training in bf16, on a GPU or on the CPU."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from mmrazor.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward runs under bf16 autocast.

    bf16 has fp32's exponent range, so unlike fp16 it needs no loss scaling;
    mmengine's ``AmpOptimWrapper`` keeps a scaler and asserts a GPU for it.
    This one trains on any device autocast knows (``tools/train.py --amp
    bf16``); on a CUDA GPU without bf16 mmengine's ``autocast`` refuses it.
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The base context (gradient accumulation) under bf16 autocast.

        Args:
            model (nn.Module): The trained model.
        """
        with super().optim_context(model), autocast(dtype=torch.bfloat16):
            yield
