"""``pwkd.feature_strategy='per_stage'`` under DDP (one process, gloo).

The connectors of the stages not running are trainable parameters without
a gradient in that stage; DDP must be told to look for unused parameters,
or the second iteration fails with "Expected to have finished reduction".
"""
import os.path as osp

from .launch_helpers import dist_train, rank_records, write_config

FITNET = 'demo/fitnet_resnet20_resnet8_digits.py'


def test_per_stage_connectors_train_under_ddp(digits_slimmable_teacher_ckpt,
                                               tmp_path):
    config = write_config(
        str(tmp_path / 'per_stage.py'), FITNET,
        f'pwkd = dict(teacher_ckpt={digits_slimmable_teacher_ckpt!r}, '
        "widths=[0.5, 1.0], stage_lengths=[1, 1], "
        "feature_strategy='per_stage')\n")
    work_dir = str(tmp_path / 'run')
    output = dist_train(config, work_dir, nproc=1)
    assert 'PWKD stage 2/2: teacher width 1 from epoch 2' in output
    # 32 images in batches of 8: 4 iterations per epoch on one rank.
    records = rank_records(work_dir)[0]
    assert [r['iter'] for r in records] == list(range(8))
    assert [r['width'] for r in records] == [0.5] * 4 + [1.0] * 4
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
