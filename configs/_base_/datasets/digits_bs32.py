# scikit-learn's digits (1,797 real 8x8 grey images, 10 classes), upscaled to
# 16x16 once at load time; fixed stratified split 1437 train / 360 test.
dataset_type = 'mmrazor.DigitsDataset'
image_size = 16
data_preprocessor = dict(
    num_classes=10,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        split='train',
        image_size=image_size,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        split='test',
        image_size=image_size,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
