import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample

from pwkd_plugin.datasets import FontGlyphs, font_glyphs
from pwkd_plugin.datasets.font_glyphs import (
    APT_COMMAND, CHARACTER_SETS, CHARACTERS, FONT_PACKAGES, build_font_glyphs,
    draws_capitals_for_lowercase, family_key, find_font_files, is_test_family,
    load_font_glyphs, render_font_glyphs)

# Lower bounds met with the packages of FONT_PACKAGES (Debian bookworm):
# 883 usable typefaces of 360 families, 701 (288 families) for training and
# 182 (72 families) for testing.
MIN_TRAIN_FONTS, MIN_TEST_FONTS, MIN_FAMILIES = 650, 160, 320
DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    if not find_font_files():
        # As the Slurm test: .ci/run installs them; a machine without root
        # says what to install.
        pytest.skip('No font under /usr/share/fonts: install the typefaces '
                    f'of the benchmark with: {APT_COMMAND}')
    return str(tmp_path_factory.mktemp('font_glyphs_cache'))


@pytest.fixture(scope='module')
def glyphs(cache_dir):
    glyphs = load_font_glyphs(cache_dir=cache_dir)
    num_test = int(glyphs['is_test'].sum())
    num_train = len(glyphs['is_test']) - num_test
    if num_train < MIN_TRAIN_FONTS or num_test < MIN_TEST_FONTS:
        pytest.skip(f'Only {num_train} training and {num_test} test '
                    'typefaces are usable, install the typefaces of the '
                    f'benchmark with: {APT_COMMAND}')
    return glyphs


@pytest.fixture(scope='module')
def train_set(glyphs, cache_dir):
    return FontGlyphs(split='train', cache_dir=cache_dir)


@pytest.fixture(scope='module')
def test_set(glyphs, cache_dir):
    return FontGlyphs(split='test', cache_dir=cache_dir)


def font_files_of(dataset):
    return [dataset.get_data_info(i)['font_file'] for i in range(len(dataset))]


def test_sizes(glyphs, train_set, test_set):
    num_fonts = len(glyphs['font_files'])
    assert glyphs['images'].shape == (num_fonts, 36, 32, 32)
    assert len(train_set) + len(test_set) == 36 * num_fonts
    assert len(set(font_files_of(train_set))) >= MIN_TRAIN_FONTS
    assert len(set(font_files_of(test_set))) >= MIN_TEST_FONTS
    assert len(set(glyphs['family_keys'])) >= MIN_FAMILIES
    # about 20% of the typefaces, though the families differ in size
    assert 0.1 < len(test_set) / (len(train_set) + len(test_set)) < 0.35


def test_split_is_disjoint_by_family(glyphs, train_set, test_set):
    train_files = set(font_files_of(train_set))
    test_files = set(font_files_of(test_set))
    assert train_files.isdisjoint(test_files)
    assert train_files | test_files == set(glyphs['font_files'])
    key_of = dict(zip(glyphs['font_files'], glyphs['family_keys']))
    train_keys = {key_of[f] for f in train_files}
    test_keys = {key_of[f] for f in test_files}
    assert train_keys.isdisjoint(test_keys)
    assert all(is_test_family(k) for k in test_keys)
    assert not any(is_test_family(k) for k in train_keys)


def test_split_is_stable():
    # Fixed by the SHA-1 of the family key: these must never change.
    assert [
        is_test_family(k)
        for k in ('cmu', 'open', 'accanthis', 'humor', 'cousine')
    ] == [True] * 5
    assert not any(
        is_test_family(k)
        for k in ('deja', 'liberation', 'free', 'switzera', 'go', 'arimo'))


def test_split_of_a_font_does_not_depend_on_the_others(glyphs):
    some = [f for f in glyphs['font_files'] if '/cmu/' in f or '/dejavu/' in f]
    assert some
    alone = build_font_glyphs(some[::4], 32)
    full = dict(zip(glyphs['font_files'], glyphs['is_test']))
    for path, is_test in zip(alone['font_files'], alone['is_test']):
        assert full[path] == is_test


@pytest.mark.parametrize('name, key', [
    ('Liberation Sans Narrow', 'liberation'),
    ('FreeSerif', 'free'),
    ('BetecknaGS', 'beteckna'),
    ('STIXGeneral', 'stix'),
    ('CMU Typewriter Text', 'cmu'),
    ('Oxygen-Sans', 'oxygen'),
    ('Blankenburg_UNZ1A', 'blankenburg'),
    ('[F500]', 'f'),
    ('', ''),
])
def test_family_key(name, key):
    assert family_key(name) == key


def test_images_and_labels(train_set, test_set):
    assert FontGlyphs.METAINFO['classes'] == tuple(CHARACTERS)
    assert train_set.CLASSES == tuple(CHARACTERS)
    for dataset in (train_set, test_set):
        labels = dataset.get_gt_labels()
        counts = np.bincount(labels, minlength=36)
        assert len(counts) == 36 and counts.min() == counts.max()
        np.testing.assert_array_equal(labels[:36], np.arange(36))
    info = test_set.get_data_info(len(test_set) // 2)
    img = info['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert isinstance(info['gt_label'], int)
    assert isinstance(info['family'], str) and info['family']
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    assert img.max() > 200


def test_glyphs_are_centred_with_a_margin(glyphs):
    images = glyphs['images'].reshape(-1, 32, 32)
    ink = images > 0
    assert not ink[:, 0].any() and not ink[:, -1].any()
    assert not ink[:, :, 0].any() and not ink[:, :, -1].any()
    extents = []
    for rows_or_cols in (ink.any(axis=2), ink.any(axis=1)):
        first = rows_or_cols.argmax(axis=1)
        last = 31 - rows_or_cols[:, ::-1].argmax(axis=1)
        assert np.abs((first + last) - 31).max() <= 3
        extents.append(last - first + 1)
    # the longest side fills the 28-pixel box (give or take resampling)
    extent = np.maximum(*extents)
    assert extent.min() >= 26 and extent.max() <= 30


def test_cache_is_reused(glyphs, cache_dir, monkeypatch):
    files = glob.glob(osp.join(cache_dir, 'glyphs-*.npz'))
    assert len(files) == 1
    mtime = osp.getmtime(files[0])

    def no_render(*args, **kwargs):
        raise AssertionError('rendered again instead of using the cache')

    monkeypatch.setattr(font_glyphs, 'render_font_glyphs', no_render)
    again = load_font_glyphs(cache_dir=cache_dir)
    FontGlyphs(split='test', cache_dir=cache_dir)
    np.testing.assert_array_equal(again['images'], glyphs['images'])
    np.testing.assert_array_equal(again['font_files'], glyphs['font_files'])
    assert glob.glob(osp.join(cache_dir, 'glyphs-*.npz')) == files
    assert osp.getmtime(files[0]) == mtime


def test_cache_key_follows_the_fonts_and_the_size(glyphs, tmp_path):
    small = FontGlyphs(
        split='train',
        image_size=16,
        font_dirs=DEJAVU_DIR,
        cache_dir=str(tmp_path))
    assert small.get_data_info(0)['img'].shape == (16, 16, 3)
    FontGlyphs(
        split='train',
        image_size=16,
        font_dirs=[DEJAVU_DIR, DEJAVU_DIR],
        cache_dir=str(tmp_path))
    assert len(glob.glob(str(tmp_path / 'glyphs-*.npz'))) == 1
    FontGlyphs(
        split='train',
        image_size=24,
        font_dirs=DEJAVU_DIR,
        cache_dir=str(tmp_path))
    assert len(glob.glob(str(tmp_path / 'glyphs-*.npz'))) == 2


def test_rendering_is_deterministic(glyphs):
    path = str(glyphs['font_files'][0])
    first, family, style = render_font_glyphs(path, 32)
    second, _, _ = render_font_glyphs(path, 32)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, glyphs['images'][0])
    assert family == glyphs['families'][0] and style == glyphs['styles'][0]


def test_fonts_without_the_glyphs_are_skipped(glyphs, tmp_path):
    # Balker and Winks (fonts-dustin) draw letters but no digits.
    lacking = [
        f for f in find_font_files()
        if osp.basename(f) in ('Balker.ttf', 'Winks.ttf')
    ]
    assert lacking, f'fonts-dustin is missing: {APT_COMMAND}'
    for path in lacking:
        assert render_font_glyphs(path, 32) is None
        assert path not in glyphs['font_files']
    broken = tmp_path / 'broken.ttf'
    broken.write_bytes(b'not a font')
    assert render_font_glyphs(str(broken), 32) is None


def test_no_font_names_the_packages(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        FontGlyphs(font_dirs=str(tmp_path), cache_dir=str(tmp_path))
    message = str(error.value)
    assert str(tmp_path) in message
    assert 'apt-get install -y --no-install-recommends' in message
    assert 'fonts-dejavu-core' in message and 'fonts-cmu' in message


def test_empty_split_names_the_packages(glyphs, tmp_path):
    with pytest.raises(RuntimeError, match="split 'test' is empty.*apt-get"):
        FontGlyphs(split='test', font_dirs=DEJAVU_DIR, cache_dir=str(tmp_path))


def test_build_from_config(test_set, cache_dir):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(
            dict(
                type='mmrazor.FontGlyphs',
                split='test',
                cache_dir=cache_dir,
                test_mode=True,
                pipeline=[
                    dict(type='RandomCrop', crop_size=32, padding=2),
                    dict(type='PackInputs'),
                ]))
    assert isinstance(dataset, FontGlyphs)
    out = dataset[40]
    assert out['inputs'].shape == (3, 32, 32)
    assert out['inputs'].dtype == torch.uint8
    assert isinstance(out['data_samples'], DataSample)
    assert out['data_samples'].gt_label.tolist() == [4]


def test_font_step_keeps_one_font_in_n(train_set, cache_dir):
    fonts = list(dict.fromkeys(font_files_of(train_set)))
    quarter = FontGlyphs(split='train', font_step=4, cache_dir=cache_dir)
    kept = list(dict.fromkeys(font_files_of(quarter)))
    assert kept == fonts[::4]
    assert len(quarter) == 36 * len(kept)


def test_character_sets():
    assert CHARACTERS == CHARACTER_SETS['digits_capitals']
    balanced = CHARACTER_SETS['balanced']
    assert len(CHARACTERS) == 36 and len(balanced) == 47
    assert balanced[:36] == CHARACTERS and len(set(balanced)) == 47
    # EMNIST Balanced keeps the lowercase letters unlike their capital.
    assert balanced[36:] == 'abdefghnqrt'


def test_draws_capitals_for_lowercase():
    rng = np.random.default_rng(0)
    characters = 'ABab'
    images = rng.integers(0, 256, (4, 16, 16), dtype=np.uint8)
    assert not draws_capitals_for_lowercase(images, characters)
    # One lowercase letter in two drawn as its capital is the font's shape.
    one = images.copy()
    one[2] = one[0]
    assert not draws_capitals_for_lowercase(one, characters)
    # Both: an all-caps face (small capitals scale to the same image).
    both = one.copy()
    both[3] = both[1]
    assert draws_capitals_for_lowercase(both, characters)
    assert not draws_capitals_for_lowercase(both[:2], 'AB')


def test_balanced_set_leaves_out_all_caps_typefaces(glyphs, tmp_path):
    path = str(tmp_path)
    fonts = [DEJAVU_DIR, '/usr/share/fonts/opentype/bebas-neue']
    capitals = load_font_glyphs(fonts, 16, path)
    balanced = load_font_glyphs(fonts, 16, path, CHARACTER_SETS['balanced'])
    # Two renderings, two cache files.
    assert len(glob.glob(osp.join(path, 'glyphs-*.npz'))) == 2
    assert capitals['images'].shape[1] == 36
    assert balanced['images'].shape[1] == 47
    bebas = [f for f in capitals['font_files'] if 'BebasNeue' in f]
    assert len(bebas) == 5, f'fonts-bebas-neue is missing: {APT_COMMAND}'
    kept = list(balanced['font_files'])
    assert not any('BebasNeue' in f for f in kept)
    assert kept == [f for f in capitals['font_files'] if f not in bebas]
    # The 36 first classes of a kept font are the same images in both sets.
    rows = [list(capitals['font_files']).index(f) for f in kept]
    np.testing.assert_array_equal(balanced['images'][:, :36],
                                  capitals['images'][rows])


def test_balanced_data_set(glyphs, cache_dir):
    dataset = FontGlyphs(split='test',
                         image_size=16,
                         character_set='balanced',
                         cache_dir=cache_dir)
    assert dataset.CLASSES == tuple(CHARACTER_SETS['balanced'])
    labels = np.array(
        [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))])
    counts = np.bincount(labels)
    assert len(counts) == 47 and counts.min() == counts.max()
    # Fewer typefaces than the 36 classes have (all-caps ones left out),
    # still more than a hundred.
    assert 100 < counts[0] < int(glyphs['is_test'].sum())
    assert 'Character set: \tbalanced' in repr(dataset)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split='val'.*train.*test"):
        FontGlyphs(split='val')
    with pytest.raises(ValueError, match='image_size=4'):
        FontGlyphs(image_size=4)
    with pytest.raises(TypeError, match='image_size'):
        FontGlyphs(image_size=32.0)
    for step in (0, 2.0, True):
        with pytest.raises(ValueError, match='font_step'):
            FontGlyphs(font_step=step)
    with pytest.raises(ValueError,
                       match="character_set.*'balanced'.*got 'lowercase'"):
        FontGlyphs(character_set='lowercase')


def test_ci_installs_the_packages_the_data_set_names():
    with open(osp.join(REPO_ROOT, '.ci', 'run')) as file:
        text = file.read()
    line = next(line for line in text.splitlines()
                if line.startswith('FONT_PACKAGES='))
    assert tuple(line.split('=', 1)[1].strip('"').split()) == FONT_PACKAGES
