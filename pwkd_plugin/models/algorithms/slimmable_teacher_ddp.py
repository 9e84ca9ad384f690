"""DDP wrapper of :class:`SlimmableTeacher`."""
import os
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODEL_WRAPPERS

from .slimmable_teacher import train_widths_jointly


@MODEL_WRAPPERS.register_module()
class SlimmableTeacherDDP(MMDistributedDataParallel):
    """Runs :class:`SlimmableTeacher`'s joint step through DDP's forward.

    Every width's forward goes through the wrapper, so gradients are
    synchronised across ranks; they are reduced once per step, after the
    last width.
    """

    def __init__(self,
                 *,
                 device_ids: Optional[Union[List, int, torch.device]] = None,
                 **kwargs) -> None:
        if device_ids is None and torch.cuda.is_available() and \
                os.environ.get('LOCAL_RANK') is not None:
            device_ids = [int(os.environ['LOCAL_RANK'])]
        super().__init__(device_ids=device_ids, **kwargs)

    def train_step(self, data: List[dict],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """One joint step over every width."""
        data = self.module.data_preprocessor(data, True)
        return train_widths_jointly(self.module, self, data['inputs'],
                                    data['data_samples'], optim_wrapper)
