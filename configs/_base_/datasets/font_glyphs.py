# The digits and capitals (36 classes) of the installed typefaces, rendered
# once at 16x16 and cached; split by typeface family, so the test set holds
# only typefaces never seen in training. The typefaces come from the Debian
# packages listed in pwkd_plugin/datasets/font_glyphs.py (FONT_PACKAGES).
dataset_type = 'mmrazor.FontGlyphs'
image_size = 16
data_preprocessor = dict(
    num_classes=36,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        split='train',
        image_size=image_size,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=252,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        split='test',
        image_size=image_size,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
