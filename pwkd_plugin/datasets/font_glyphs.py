"""Letters and digits rendered from installed typefaces, an offline data
set harder than the digits (in the manner of notMNIST)."""
import hashlib
import os
import os.path as osp
import re
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmrazor.registry import DATASETS
from PIL import Image, ImageDraw, ImageFont

from .dataset_arguments import check_split_and_image_size

#: The classes of each character set, in label order.
#:
#: - ``digits_capitals`` (36 classes): ``0``-``9``, ``A``-``Z``.
#: - ``balanced`` (47 classes, the class set of EMNIST Balanced): the 36 and
#:   the 11 lowercase letters whose shape differs from their capital. Once a
#:   glyph is scaled to its bounding box, the other 15 (``c``/``C``,
#:   ``o``/``O``, ``s``/``S``, ...) look the same as their capital in most
#:   typefaces.
CHARACTER_SETS = {
    'digits_capitals': '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    'balanced': '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt',
}
DEFAULT_CHARACTER_SET = 'digits_capitals'
#: The classes of the default character set.
CHARACTERS = CHARACTER_SETS[DEFAULT_CHARACTER_SET]
#: A lowercase glyph whose correlation with its capital's image is above
#: this is drawn as a capital.
SAME_AS_CAPITAL_CORRELATION = 0.9

#: The Debian packages (bookworm) that give the typefaces of the benchmark.
FONT_PACKAGES = (
    'fonts-adf-accanthis', 'fonts-adf-baskervald', 'fonts-adf-berenis',
    'fonts-adf-gillius', 'fonts-adf-ikarius', 'fonts-adf-irianis',
    'fonts-adf-libris', 'fonts-adf-mekanus', 'fonts-adf-oldania',
    'fonts-adf-romande', 'fonts-adf-switzera', 'fonts-adf-tribun',
    'fonts-adf-universalis', 'fonts-adf-verana', 'fonts-aenigma',
    'fonts-anonymous-pro',
    'fonts-averia-gwf', 'fonts-averia-sans-gwf', 'fonts-averia-serif-gwf',
    'fonts-bebas-neue', 'fonts-beteckna', 'fonts-blankenburg', 'fonts-breip',
    'fonts-cabin', 'fonts-cantarell', 'fonts-cmu', 'fonts-comic-neue',
    'fonts-croscore', 'fonts-crosextra-caladea', 'fonts-crosextra-carlito',
    'fonts-dejavu-core', 'fonts-dkg-handwriting', 'fonts-dustin',
    'fonts-ebgaramond', 'fonts-engadget', 'fonts-f500', 'fonts-femkeklaver',
    'fonts-freefont-ttf', 'fonts-gfs-artemisia', 'fonts-gfs-didot',
    'fonts-gfs-neohellenic', 'fonts-go', 'fonts-goudybookletter', 'fonts-hack',
    'fonts-humor-sans', 'fonts-inconsolata', 'fonts-isabella', 'fonts-jura',
    'fonts-kristi', 'fonts-league-spartan', 'fonts-liberation',
    'fonts-lobster', 'fonts-lobstertwo', 'fonts-noto-mono', 'fonts-okolaks',
    'fonts-oldstandard', 'fonts-open-sans', 'fonts-oxygen', 'fonts-prociono',
    'fonts-quattrocento', 'fonts-radisnoir', 'fonts-rufscript',
    'fonts-sil-gentium', 'fonts-staypuft', 'fonts-summersby',
    'fonts-tlwg-purisa', 'fonts-tuffy', 'fonts-yanone-kaffeesatz')

APT_COMMAND = ('apt-get install -y --no-install-recommends ' +
               ' '.join(FONT_PACKAGES))

#: Bump when anything below changes the images or the split.
PROCEDURE_VERSION = 1
FONT_EXTENSIONS = ('.ttf', '.otf')
DEFAULT_FONT_DIRS = ('/usr/share/fonts', )
DEFAULT_CACHE_DIR = osp.join('~', '.cache', 'pwkd_plugin', 'font_glyphs')
#: A code point that no typeface maps (the last private use code point of
#: plane 16), so it draws the font's ``.notdef`` glyph.
ABSENT_CHARACTER = '\U0010FFFD'
#: Glyphs are drawn this many times larger than the image, then scaled down.
OVERSAMPLING = 3
#: 1 in ``TEST_MODULUS`` families (by the hash of their name) is for testing.
TEST_MODULUS = 5


def find_font_files(font_dirs: Sequence[str] = DEFAULT_FONT_DIRS) -> List[str]:
    """All TrueType and OpenType files under some folders, sorted.

    Args:
        font_dirs (Sequence[str]): Folders searched recursively.
            Defaults to ``('/usr/share/fonts',)``.

    Returns:
        list[str]: The real paths of the font files, sorted and unique.
    """
    found = set()
    for font_dir in font_dirs:
        for root, _, names in os.walk(font_dir):
            for name in names:
                if name.lower().endswith(FONT_EXTENSIONS):
                    found.add(osp.realpath(osp.join(root, name)))
    return sorted(found)


def family_key(family_name: str) -> str:
    """The key that keeps a typeface family in one split.

    It is the first word of the family name, where words are separated by
    anything that is not a letter or digit and by lower-to-upper case
    changes, case-folded. So ``'Liberation Sans Narrow'``, ``'FreeSerif'``,
    ``'BetecknaGS'`` and ``'STIXGeneral'`` give ``'liberation'``, ``'free'``,
    ``'beteckna'`` and ``'stix'``: related designs of one foundry stay
    together.

    Args:
        family_name (str): The family name stored in the font file.

    Returns:
        str: The family key (``''`` for a name without letters or digits).
    """
    words = re.findall(r'[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+', family_name)
    return words[0].casefold() if words else ''


def is_test_family(key: str) -> bool:
    """Whether a family belongs to the test split.

    The rule depends on the family alone, so installing more typefaces
    never moves a family from one split to the other.

    Args:
        key (str): A key given by :func:`family_key`.

    Returns:
        bool: True for about 1 family in :data:`TEST_MODULUS`.
    """
    digest = hashlib.sha1(key.encode('utf-8')).digest()
    return int.from_bytes(digest[:8], 'big') % TEST_MODULUS == 0


def _draw(font: ImageFont.FreeTypeFont, char: str) -> Optional[np.ndarray]:
    """Draw one character and crop it to its ink.

    Returns:
        np.ndarray | None: The grey crop, or None when nothing is drawn.
    """
    left, top, right, bottom = font.getbbox(char)
    pad = font.size
    canvas = Image.new('L', (right - left + 2 * pad, bottom - top + 2 * pad))
    ImageDraw.Draw(canvas).text((pad - left, pad - top),
                                char,
                                fill=255,
                                font=font)
    box = canvas.getbbox()
    return None if box is None else np.asarray(canvas.crop(box))


def _fit(crop: np.ndarray, image_size: int) -> np.ndarray:
    """Scale a glyph crop into a square image, centred, with a margin.

    The longest side becomes ``image_size - 2 * margin`` pixels, where
    ``margin = max(1, image_size // 16)``; the aspect ratio is kept.
    """
    margin = max(1, image_size // 16)
    box = image_size - 2 * margin
    height, width = crop.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    glyph = Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS)
    image = Image.new('L', (image_size, image_size))
    image.paste(glyph,
                ((image_size - size[0]) // 2, (image_size - size[1]) // 2))
    return np.asarray(image)


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    """The Pearson correlation of the pixels of two images."""
    first = first.astype(np.float64) - first.mean()
    second = second.astype(np.float64) - second.mean()
    norm = np.sqrt((first * first).sum() * (second * second).sum())
    return float((first * second).sum() / norm) if norm else 1.0


def draws_capitals_for_lowercase(images: np.ndarray, characters: str) -> bool:
    """Whether a font draws capitals for most of its lowercase letters.

    All-caps and small-caps typefaces do: their ``a`` scaled to its bounding
    box is an ``A``, which would be a wrong label. A letter counts as drawn
    as a capital when the correlation of its image with its capital's is
    above :data:`SAME_AS_CAPITAL_CORRELATION`; one or two such letters
    (``f``/``F`` in some typefaces) are kept, as their shapes are the
    font's.

    Args:
        images (np.ndarray): The images of ``characters``, in order.
        characters (str): The characters drawn.

    Returns:
        bool: True when more than half of the lowercase letters of
        ``characters`` that have their capital in ``characters`` look like
        it (False when there are none).
    """
    pairs = [(images[i], images[characters.index(char.upper())])
             for i, char in enumerate(characters)
             if char.islower() and char.upper() in characters]
    same = sum(
        _correlation(lower, upper) > SAME_AS_CAPITAL_CORRELATION
        for lower, upper in pairs)
    return same > len(pairs) // 2 if pairs else False


def render_font_glyphs(
        path: str,
        image_size: int,
        characters: str = CHARACTERS
) -> Optional[Tuple[np.ndarray, str, str]]:
    """Render some characters of one font file.

    A font is skipped when it cannot be read, when one of the characters
    draws nothing or draws the same as :data:`ABSENT_CHARACTER` (the
    ``.notdef`` box of a font that lacks the glyph), or when it draws
    capitals for its lowercase letters (see
    :func:`draws_capitals_for_lowercase`).

    Args:
        path (str): The font file.
        image_size (int): The height and width of the images.
        characters (str): The characters, in label order.
            Defaults to :data:`CHARACTERS`.

    Returns:
        tuple | None: ``(images, family_name, style_name)`` with ``images`` of
        shape ``(len(characters), image_size, image_size)`` and dtype
        ``uint8`` (white ink on black), or None when the font is skipped.
    """
    try:
        font = ImageFont.truetype(
            path,
            OVERSAMPLING * image_size,
            layout_engine=ImageFont.Layout.BASIC)
        family, style = font.getname()
        notdef = _draw(font, ABSENT_CHARACTER)
        images = []
        for char in characters:
            crop = _draw(font, char)
            if crop is None or (notdef is not None
                                and np.array_equal(crop, notdef)):
                return None
            images.append(_fit(crop, image_size))
    except (OSError, ValueError):
        return None
    images = np.stack(images)
    if draws_capitals_for_lowercase(images, characters):
        return None
    return images, family or '', style or ''


def _cache_key(font_files: Sequence[str], image_size: int,
               characters: str) -> str:
    """A hash of the font files, the rendering settings and the renderer."""
    digest = hashlib.sha1()
    digest.update(f'v{PROCEDURE_VERSION} size={image_size} '
                  f'characters={characters} '
                  f'pillow={Image.__version__} '
                  f'freetype={ImageFont.core.freetype2_version}\n'.encode())
    for path in font_files:
        digest.update(f'{path} {osp.getsize(path)}\n'.encode())
    return digest.hexdigest()[:16]


def build_font_glyphs(font_files: Sequence[str],
                      image_size: int,
                      characters: str = CHARACTERS) -> Dict[str, np.ndarray]:
    """Render every font and assign each to a split.

    Fonts are taken in the given order; one whose images equal those of an
    earlier font (the same face shipped twice) is dropped.

    Args:
        font_files (Sequence[str]): The font files.
        image_size (int): The height and width of the images.
        characters (str): The characters, in label order.
            Defaults to :data:`CHARACTERS`.

    Returns:
        dict[str, np.ndarray]: ``images`` ``(F, C, S, S)`` uint8 (``C``
        characters), and per
        font ``font_files``, ``families``, ``styles``, ``family_keys`` (str)
        and ``is_test`` (bool).
    """
    fonts = []
    seen = set()
    for path in font_files:
        rendered = render_font_glyphs(path, image_size, characters)
        if rendered is None:
            continue
        images, family, style = rendered
        fingerprint = hashlib.sha1(images.tobytes()).digest()
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        key = family_key(family) or family_key(osp.basename(path))
        fonts.append((images, path, family, style, key, is_test_family(key)))
    images, paths, families, styles, keys, is_test = (
        list(zip(*fonts)) if fonts else [()] * 6)
    empty = np.zeros((0, len(characters), image_size, image_size), np.uint8)
    return dict(
        images=np.stack(images) if fonts else empty,
        font_files=np.array(paths, dtype=str),
        families=np.array(families, dtype=str),
        styles=np.array(styles, dtype=str),
        family_keys=np.array(keys, dtype=str),
        is_test=np.array(is_test, dtype=bool))


def load_font_glyphs(
        font_dirs: Sequence[str] = DEFAULT_FONT_DIRS,
        image_size: int = 32,
        cache_dir: str = DEFAULT_CACHE_DIR,
        characters: str = CHARACTERS) -> Dict[str, np.ndarray]:
    """The rendered glyphs of the installed fonts, from the cache if there.

    The cache file is ``glyphs-<key>.npz`` in ``cache_dir``, where ``key``
    hashes the font files found (paths and sizes), ``image_size``,
    ``characters``, :data:`PROCEDURE_VERSION` and the Pillow and FreeType
    versions.

    Args:
        font_dirs (Sequence[str]): Folders searched for fonts.
            Defaults to ``('/usr/share/fonts',)``.
        image_size (int): The height and width of the images.
            Defaults to 32.
        cache_dir (str): The cache folder.
            Defaults to ``~/.cache/pwkd_plugin/font_glyphs``.
        characters (str): The characters, in label order.
            Defaults to :data:`CHARACTERS`.

    Returns:
        dict[str, np.ndarray]: As :func:`build_font_glyphs` returns.
    """
    font_files = find_font_files(font_dirs)
    if not font_files:
        raise FileNotFoundError(
            f'FontGlyphs found no .ttf or .otf file under {list(font_dirs)}. '
            f'Install the typefaces with: {APT_COMMAND}')
    cache_dir = osp.expanduser(cache_dir)
    key = _cache_key(font_files, image_size, characters)
    cache_file = osp.join(cache_dir, f'glyphs-{key}.npz')
    if osp.isfile(cache_file):
        with np.load(cache_file) as cached:
            return {name: cached[name] for name in cached.files}
    glyphs = build_font_glyphs(font_files, image_size, characters)
    os.makedirs(cache_dir, exist_ok=True)
    # Written aside and renamed, so parallel loaders never read half a file.
    fd, tmp_file = tempfile.mkstemp(suffix='.npz', dir=cache_dir)
    try:
        with os.fdopen(fd, 'wb') as stream:
            np.savez_compressed(stream, **glyphs)
        os.chmod(tmp_file, 0o644)
        os.replace(tmp_file, cache_file)
    except BaseException:
        if osp.exists(tmp_file):
            os.remove(tmp_file)
        raise
    return glyphs


@DATASETS.register_module()
class FontGlyphs(BaseDataset):
    """The digits and letters of the installed typefaces.

    Every usable ``.ttf`` or ``.otf`` file under ``font_dirs`` gives one
    image of each class of ``character_set`` (see :data:`CHARACTER_SETS`:
    by default the 36 classes ``0``-``9``, ``A``-``Z``): the glyph is
    drawn by FreeType at 3 times the image size, cropped to its ink, scaled
    (aspect kept) so that its longest side fills the image less a margin of
    ``max(1, image_size // 16)`` pixels on each side, and centred, as white
    ink on black. Fonts that lack one of the glyphs, fonts that draw
    capitals for most lowercase letters of the set (all-caps and small-caps
    typefaces, see :func:`draws_capitals_for_lowercase`), and exact repeats
    of an earlier font, are left out. The images are rendered once and
    cached (see :func:`load_font_glyphs`).

    The split is by typeface family, so the test set measures how well a
    model reads typefaces it has never seen: a family (see
    :func:`family_key`) is in the test split when the SHA-1 of its key,
    as an integer, is divisible by 5 (about 20% of the families), otherwise
    in the training split. The typefaces come from :data:`FONT_PACKAGES`
    (install them with :data:`APT_COMMAND`).

    Data infos hold an ``img`` of shape ``(image_size, image_size, 3)`` and
    dtype ``uint8``, an int ``gt_label``, and ``font_file`` and ``family``
    (the font's path and family name).

    Args:
        split (str): The split, ``'train'`` or ``'test'``.
            Defaults to ``'train'``.
        image_size (int): The height and width of the images, at least 8.
            Defaults to 32.
        font_dirs (Sequence[str]): Folders searched for fonts.
            Defaults to ``('/usr/share/fonts',)``.
        cache_dir (str): The cache folder.
            Defaults to ``~/.cache/pwkd_plugin/font_glyphs``.
        character_set (str): A key of :data:`CHARACTER_SETS`, the classes.
            Defaults to ``'digits_capitals'``.
        font_step (int): Keep one font in ``font_step`` of the split (the
            1st, the ``font_step + 1``-th, ... in the sorted order of the
            font files), every class of each kept font: a smaller set of
            typefaces spread over all the packages. Defaults to 1 (all).
        pipeline (Sequence): Processing pipeline. Defaults to ``()``.
        test_mode (bool): ``test_mode=True`` means in test phase.
            Defaults to False.
        **kwargs: Other keyword arguments of
            :class:`mmpretrain.datasets.BaseDataset` except ``ann_file``,
            ``data_root`` and ``data_prefix``, such as ``metainfo``,
            ``indices``, ``serialize_data`` or ``lazy_init``.
    """

    METAINFO = {'classes': tuple(CHARACTERS)}

    SPLITS = ('train', 'test')
    MIN_IMAGE_SIZE = 8

    def __init__(self,
                 split: str = 'train',
                 image_size: int = 32,
                 font_dirs: Sequence[str] = DEFAULT_FONT_DIRS,
                 cache_dir: str = DEFAULT_CACHE_DIR,
                 character_set: str = DEFAULT_CHARACTER_SET,
                 font_step: int = 1,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs):
        check_split_and_image_size('FontGlyphs', split, self.SPLITS,
                                   image_size, self.MIN_IMAGE_SIZE)
        if isinstance(font_dirs, str):
            font_dirs = (font_dirs, )
        if isinstance(font_step, bool) or not isinstance(font_step, int) \
                or font_step < 1:
            raise ValueError(
                f'FontGlyphs font_step must be a positive int, got '
                f'{font_step!r}')
        if character_set not in CHARACTER_SETS:
            raise ValueError(
                f'FontGlyphs character_set must be one of '
                f'{sorted(CHARACTER_SETS)}, got {character_set!r}')

        self.split = split
        self.image_size = int(image_size)
        self.font_dirs = tuple(font_dirs)
        self.cache_dir = cache_dir
        self.character_set = character_set
        self.font_step = font_step
        metainfo = dict(classes=tuple(CHARACTER_SETS[character_set]))
        metainfo.update(kwargs.pop('metainfo', None) or {})
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            pipeline=pipeline,
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the images and labels of the split.

        Returns:
            list[dict]: Data infos with ``img``, ``gt_label``, ``font_file``
            and ``family``.
        """
        glyphs = load_font_glyphs(self.font_dirs, self.image_size,
                                  self.cache_dir,
                                  CHARACTER_SETS[self.character_set])
        fonts = np.flatnonzero(
            glyphs['is_test'] == (self.split == 'test'))[::self.font_step]
        if len(fonts) == 0:
            raise RuntimeError(
                f'FontGlyphs split {self.split!r} is empty: the '
                f'{len(glyphs["font_files"])} usable fonts under '
                f'{list(self.font_dirs)} are all of the other split. Install '
                f'the typefaces with: {APT_COMMAND}')
        data_list = []
        for font in fonts:
            for label, image in enumerate(glyphs['images'][font]):
                data_list.append(
                    dict(
                        img=np.repeat(image[..., None], 3, axis=2),
                        gt_label=label,
                        font_file=str(glyphs['font_files'][font]),
                        family=str(glyphs['families'][font])))
        return data_list

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Split: \t{self.split}',
            f'Image size: \t{self.image_size}',
            f'Character set: \t{self.character_set}',
            f'Font folders: \t{list(self.font_dirs)}',
            f'Font step: \t{self.font_step}',
        ]
