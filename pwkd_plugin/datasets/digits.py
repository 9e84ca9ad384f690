"""The scikit-learn handwritten digits as a small, offline image data set."""
from typing import List, Optional, Sequence

import mmcv
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmrazor.registry import DATASETS
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .dataset_arguments import check_split_and_image_size


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """The handwritten digits shipped with scikit-learn, as an offline data
    set.

    The images come from :func:`sklearn.datasets.load_digits`: 1,797 grey
    images of 8x8 pixels with values in 0..16 and 10 classes (the digits
    ``0`` to ``9``). Every image is scaled to 0..255, repeated on 3 channels
    and, when ``image_size > 8``, resized once at load time, so that the data
    infos hold an ``img`` of shape ``(image_size, image_size, 3)`` and dtype
    ``uint8`` and an int ``gt_label``. They also hold ``source_idx``, the
    index of the image in the order of ``load_digits()``.

    The split is fixed: a stratified 80/20 split made with
    ``sklearn.model_selection.train_test_split(indices, test_size=0.2,
    random_state=0, stratify=labels)``. It gives 1,437 training images and
    360 test images; both splits hold all 10 classes and share no image.

    Args:
        split (str): The split, ``'train'`` or ``'test'``.
            Defaults to ``'train'``.
        image_size (int): The height and width of the returned images, at
            least 8. Defaults to 8 (the original size).
        interpolation (str): How images are resized when ``image_size`` is
            not 8, ``'nearest'`` or ``'bilinear'``. Defaults to ``'nearest'``.
        pipeline (Sequence): Processing pipeline. Defaults to ``()``.
        test_mode (bool): ``test_mode=True`` means in test phase.
            Defaults to False.
        **kwargs: Other keyword arguments of
            :class:`mmpretrain.datasets.BaseDataset` except ``ann_file``,
            ``data_root`` and ``data_prefix``, such as ``metainfo``,
            ``indices``, ``serialize_data`` or ``lazy_init``.
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}

    SPLITS = ('train', 'test')
    INTERPOLATIONS = ('nearest', 'bilinear')
    TEST_SIZE = 0.2
    SPLIT_SEED = 0
    MIN_IMAGE_SIZE = 8

    def __init__(self,
                 split: str = 'train',
                 image_size: int = 8,
                 interpolation: str = 'nearest',
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs):
        check_split_and_image_size(
            'DigitsDataset', split, self.SPLITS, image_size,
            self.MIN_IMAGE_SIZE,
            f': images are {self.MIN_IMAGE_SIZE}x{self.MIN_IMAGE_SIZE} and '
            'can only be upscaled')
        if interpolation not in self.INTERPOLATIONS:
            raise ValueError(
                f'Invalid interpolation={interpolation!r} for DigitsDataset, '
                f'allowed: {self.INTERPOLATIONS}.')

        self.split = split
        self.image_size = int(image_size)
        self.interpolation = interpolation
        super().__init__(
            ann_file='', pipeline=pipeline, test_mode=test_mode, **kwargs)

    @classmethod
    def split_indices(cls,
                      split: str,
                      labels: Optional[np.ndarray] = None) -> np.ndarray:
        """Indices (in ``load_digits()`` order) of the images of a split.

        Args:
            split (str): ``'train'`` or ``'test'``.
            labels (np.ndarray, optional): ``load_digits().target``, loaded
                when not given. Defaults to None.

        Returns:
            np.ndarray: The sorted indices of the split.
        """
        if split not in cls.SPLITS:
            raise ValueError(f'Invalid split={split!r} for DigitsDataset, '
                             f'allowed: {cls.SPLITS}.')
        if labels is None:
            labels = load_digits().target
        train_idx, test_idx = train_test_split(
            np.arange(len(labels)),
            test_size=cls.TEST_SIZE,
            random_state=cls.SPLIT_SEED,
            stratify=labels)
        return np.sort(train_idx if split == 'train' else test_idx)

    def _to_rgb(self, image: np.ndarray) -> np.ndarray:
        """Turn one 8x8 image with values in 0..16 into a uint8 RGB image.

        Args:
            image (np.ndarray): The grey image, shape ``(8, 8)``.

        Returns:
            np.ndarray: The image, shape ``(image_size, image_size, 3)``.
        """
        image = image.astype(np.float32) * (255.0 / 16.0)
        if self.image_size != image.shape[0]:
            image = mmcv.imresize(
                image, (self.image_size, self.image_size),
                interpolation=self.interpolation)
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        return np.repeat(image[..., None], 3, axis=2)

    def load_data_list(self) -> List[dict]:
        """Load the images and labels of the split.

        Returns:
            list[dict]: Data infos with ``img``, ``gt_label`` and
            ``source_idx``.
        """
        digits = load_digits()
        data_list = []
        for idx in self.split_indices(self.split, digits.target):
            data_list.append(
                dict(
                    img=self._to_rgb(digits.images[idx]),
                    gt_label=int(digits.target[idx]),
                    source_idx=int(idx)))
        return data_list

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Split: \t{self.split}',
            f'Image size: \t{self.image_size} ({self.interpolation})'
        ]
