"""Validation and test loops that evaluate a slimmable model at every width."""
from typing import Dict

from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, ValLoop
from mmrazor.registry import LOOPS

from ...models.utils import width_tag


class _EveryWidthMixin:
    """Runs the loop's data once per width; metrics get the width's tag."""

    stage = 'val'

    def run(self) -> Dict[str, float]:
        model = self.runner.model
        mutator = (model.module if is_model_wrapper(model) else model).mutator
        self.runner.call_hook(f'before_{self.stage}')
        self.runner.call_hook(f'before_{self.stage}_epoch')
        model.eval()
        previous = mutator.current_width
        metrics = dict()
        for width in mutator.widths:
            mutator.set_width(width)
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
            width_metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
            metrics.update({
                f'{width_tag(width)}/{key}': value
                for key, value in width_metrics.items()
            })
        mutator.set_width(previous)
        self.runner.call_hook(f'after_{self.stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{self.stage}')
        return metrics


@LOOPS.register_module()
class WidthsValLoop(_EveryWidthMixin, ValLoop):
    """Validate a slimmable model at every width.

    Metrics are reported per width, e.g. ``width_0.25/accuracy/top1``.
    """

    stage = 'val'


@LOOPS.register_module()
class WidthsTestLoop(_EveryWidthMixin, TestLoop):
    """Test a slimmable model at every width (``tools/test.py``).

    Metrics are reported per width, e.g. ``width_0.25/accuracy/top1``.
    """

    stage = 'test'
