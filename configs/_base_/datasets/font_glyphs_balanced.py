# font_glyphs.py with the 47 classes of EMNIST Balanced (0-9, A-Z and the
# lowercase abdefghnqrt, whose shapes differ from their capitals'); the
# typefaces that draw capitals for lowercase letters are left out. See
# pwkd_plugin/datasets/font_glyphs.py (CHARACTER_SETS).
_base_ = ['./font_glyphs.py']
character_set = 'balanced'
data_preprocessor = dict(num_classes=47)

train_dataloader = dict(dataset=dict(character_set=character_set))
val_dataloader = dict(dataset=dict(character_set=character_set))
test_dataloader = val_dataloader
