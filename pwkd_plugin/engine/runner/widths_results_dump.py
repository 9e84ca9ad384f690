"""``tools/test.py --out`` of a slimmable model: every width's predictions."""
from typing import Optional, Sequence

from mmengine.evaluator import DumpResults
from mmengine.fileio import dump
from mmengine.logging import print_log

from ...models.utils import width_tag


class DumpWidthsResults(DumpResults):
    """Dump the predictions of every width into one pickle file.

    ``WidthsTestLoop`` evaluates the widths one after another, in the order
    of ``widths``; the file holds a dict ``{'width_0.25': [...], ...}``,
    rewritten after each width.

    Args:
        out_file_path (str): The ``.pkl`` file.
        widths (Sequence[float]): The widths in the loop's order.
        collect_device (str): As :class:`DumpResults`. Defaults to 'cpu'.
        collect_dir (str, optional): As :class:`DumpResults`.
    """

    def __init__(self,
                 out_file_path: str,
                 widths: Sequence[float],
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(out_file_path, collect_device, collect_dir)
        self.tags = [width_tag(float(width)) for width in widths]
        self.dumped = {}

    def compute_metrics(self, results: list) -> dict:
        tag = self.tags[len(self.dumped)]
        self.dumped[tag] = results
        dump(self.dumped, self.out_file_path)
        print_log(f'predictions of {tag} saved to {self.out_file_path}',
                  logger='current')
        return {}
