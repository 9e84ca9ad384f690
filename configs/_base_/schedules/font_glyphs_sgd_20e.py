# The font glyph benchmarks' schedule: SGD momentum 0.9, weight decay 5e-4,
# lr 0.1 on a cosine down to 1e-3 over 20 epochs (the students' configs
# shorten it to 16).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-3)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=5)
val_cfg = dict()
test_cfg = dict()
