"""The accuracy benchmark's tasks: the data sets and configs each uses."""
import os.path as osp
from typing import NamedTuple, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The folder the tasks' config paths are relative to.
CONFIGS = osp.join(REPO, 'configs')


class Task(NamedTuple):
    """A benchmark task: its configs, defaults and how the report names it."""
    title: str
    teacher_config: str
    student_configs: dict
    #: The size of the student's training set, the bound of
    #: ``--train-samples`` (None: not fixed, it depends on the fonts).
    train_images: Optional[int]
    #: Defaults of --epochs, --teacher-epochs, --seeds, --train-samples
    #: (None: the config's whole training set).
    epochs: int
    teacher_epochs: int
    seeds: int
    train_samples: Optional[int]
    description: str
    #: Whether the default ablations hold the teacher precision cases
    #: (``--precision-only`` and ``--cases`` run them on any task).
    precision_ablations: bool


TASKS = dict(
    digits=Task(
        title='the digits data',
        teacher_config='pwkd/teachers/slimmable_resnet20_digits.py',
        student_configs=dict(
            scratch='demo/resnet8_digits.py',
            KD='demo/kd_resnet20_resnet8_digits.py',
            DKD='demo/dkd_resnet20_resnet8_digits.py',
            FitNet='demo/fitnet_resnet20_resnet8_digits.py'),
        train_images=1437, epochs=20, teacher_epochs=20, seeds=5,
        train_samples=180,
        description='Student ResNet8; teacher slimmable ResNet20 on all '
        '1437 training images; top-1 (%) on the 360 test images.',
        precision_ablations=True),
    font_glyphs=Task(
        title='the font glyphs',
        teacher_config='pwkd/teachers/slimmable_resnet20_font_glyphs.py',
        student_configs=dict(
            scratch='fonts/resnet8_half_font_glyphs.py',
            KD='fonts/kd_resnet20_resnet8_half_font_glyphs.py',
            DKD='fonts/dkd_resnet20_resnet8_half_font_glyphs.py',
            FitNet='fonts/fitnet_resnet20_resnet8_half_font_glyphs.py'),
        train_images=None, epochs=16, teacher_epochs=4, seeds=8,
        train_samples=None,
        description='36 classes (0-9, A-Z) at 16x16. Student ResNet8 at half '
        'width on one training typeface in eight; teacher slimmable ResNet20 '
        'on every training typeface; top-1 (%) on the test typefaces, '
        'families never seen in training.',
        precision_ablations=False),
    font_glyphs_balanced=Task(
        title='the balanced font glyphs',
        teacher_config='pwkd/teachers/'
        'slimmable_resnet20_font_glyphs_balanced.py',
        student_configs=dict(
            scratch='fonts/resnet8_half_font_glyphs_balanced.py',
            KD='fonts/kd_resnet20_resnet8_half_font_glyphs_balanced.py',
            DKD='fonts/dkd_resnet20_resnet8_half_font_glyphs_balanced.py',
            FitNet='fonts/fitnet_resnet20_resnet8_half_font_glyphs_balanced'
            '.py'),
        train_images=None, epochs=16, teacher_epochs=4, seeds=8,
        train_samples=None,
        description='47 classes (0-9, A-Z, abdefghnqrt: EMNIST Balanced) at '
        '16x16, typefaces that draw capitals for lowercase left out. Student '
        'ResNet8 at half width on one training typeface in eight; teacher '
        'slimmable ResNet20 on every training typeface; top-1 (%) on the '
        'test typefaces, families never seen in training.',
        precision_ablations=False),
)
