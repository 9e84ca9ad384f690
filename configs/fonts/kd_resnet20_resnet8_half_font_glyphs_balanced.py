# Logit KD from ResNet20 to ResNet8 at half width on the balanced font glyphs
# (47 classes): kd_resnet20_resnet8_half_font_glyphs.py on the data of
# ../_base_/datasets/font_glyphs_balanced.py. teacher_ckpt: a checkpoint of
# configs/fonts/resnet20_font_glyphs_balanced.py, or the whole width exported
# from configs/pwkd/teachers/slimmable_resnet20_font_glyphs_balanced.py.
_base_ = ['./kd_resnet20_resnet8_half_font_glyphs.py']
character_set = 'balanced'
num_classes = 47
model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    architecture=dict(head=dict(num_classes=num_classes)),
    teacher=dict(head=dict(num_classes=num_classes)),
    teacher_ckpt='work_dirs/resnet20_font_glyphs_balanced/epoch_20.pth')
train_dataloader = dict(dataset=dict(character_set=character_set))
val_dataloader = dict(dataset=dict(character_set=character_set))
test_dataloader = val_dataloader
