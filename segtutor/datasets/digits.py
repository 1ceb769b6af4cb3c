"""Real handwritten digits, bundled with scikit-learn, at MNIST's 28x28 size.

The images are the UCI "Optical Recognition of Handwritten Digits" test set
(Alpaydin and Kaynak 1998; 1,797 digits by 13 writers, 8x8 pixels of counts
0-16), which scikit-learn ships inside its wheel, so nothing is downloaded.
They are upsampled to 28x28 so that the course's classification models have
MNIST's input shape.

The train/test split is fixed: 80/20, stratified by digit, drawn with NumPy's
legacy ``RandomState``, whose stream NumPy promises never to change, so every
student on every machine gets the same split.

**Writers.** All 1,797 digits come from the same 13 writers, and the random
split puts every writer in both parts, so its test accuracy is that of
writers the model has seen. UCI publishes no writer ids. ``rule="file_end"``
is a fixed, documented alternative that reduces the overlap: the test split
is the last 20 % of the file (images 1,438-1,796) and the training split the
first 80 %. The file appears to keep each writer's digits together (held-out
contiguous blocks are consistently harder than random samples; see
``tests/test_datasets.py``), so most test writers are then unseen, but a
writer whose block straddles the cut is still in both parts.

Examples
--------
>>> from segtutor.datasets import load_digits
>>> images, labels = load_digits("test")
>>> images.shape, images.dtype, labels.shape
((359, 28, 28, 1), dtype('float32'), (359,))
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import check_choice, check_positive_int

__all__ = ["load_digits", "Digits", "DIGITS_SIZE", "SPLIT_SEED", "TEST_FRACTION", "SPLIT_RULES"]

#: Height and width of the returned images.
DIGITS_SIZE = 28
#: Seed of the fixed train/test split.
SPLIT_SEED = 20240
#: Fraction of each digit's images that goes to the test split.
TEST_FRACTION = 0.2
#: How the images are split: "random" (stratified by digit) or "file_end" (the last 20 % of the file).
SPLIT_RULES = ("random", "file_end")


class Digits(NamedTuple):
    """Images and labels; unpacks as ``images, labels = load_digits()``.

    Attributes
    ----------
    images : ndarray of float32, shape (N, 28, 28, 1)
        Ink intensity in [0, 1] (0 is paper, 1 is fully inked).
    labels : ndarray of int32, shape (N,)
        The digit, 0-9.
    """

    images: np.ndarray
    labels: np.ndarray


@lru_cache(maxsize=1)
def _all_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_digits
    from skimage.transform import resize

    bunch = sklearn_digits()
    small = bunch.images.astype(np.float32) / 16.0  # (N, 8, 8), counts of 16 pixels
    # Upsampling by 3.5 with bilinear interpolation: a smooth, alias-free
    # enlargement (anti-aliasing filters matter only when shrinking).
    big = resize(
        small.transpose(1, 2, 0),
        (DIGITS_SIZE, DIGITS_SIZE),
        order=1,
        mode="edge",
        anti_aliasing=False,
        preserve_range=True,
    )
    images = np.clip(big.transpose(2, 0, 1), 0.0, 1.0).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int32)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@lru_cache(maxsize=1)
def _split_indices() -> dict[str, np.ndarray]:
    """Indices into the 1,797 digits of the fixed, stratified split."""
    _, labels = _all_digits()
    rng = np.random.RandomState(SPLIT_SEED)  # legacy stream: stable across NumPy versions
    train, test = [], []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        members = members[rng.permutation(members.size)]
        n_test = int(round(TEST_FRACTION * members.size))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return _shuffled(rng, train, test)


def _shuffled(rng, train, test) -> dict[str, np.ndarray]:
    # Shuffle each split once, so that the first n images are a fair sample.
    out = {}
    for name, parts in (("train", train), ("test", test)):
        index = np.concatenate(parts)
        out[name] = index[rng.permutation(index.size)]
        out[name].setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _file_end_indices() -> dict[str, np.ndarray]:
    """Indices of the ``"file_end"`` split: the last TEST_FRACTION of the file is the test split."""
    _, labels = _all_digits()
    n_test = int(round(TEST_FRACTION * labels.size))
    order = np.arange(labels.size)
    rng = np.random.RandomState(SPLIT_SEED)
    return _shuffled(rng, [order[:-n_test]], [order[-n_test:]])


def load_digits(split: str = "train", n: int | None = None, *, rule: str = "random") -> Digits:
    """Load the handwritten digits at 28x28.

    Parameters
    ----------
    split : {"train", "test"}
        Which part of the fixed 80/20 stratified split: 1,438 training and
        359 test images.
    n : int, optional
        Return only the first ``n`` images of the split (they are already in
        a shuffled order, so any prefix is a fair sample).
    rule : {"random", "file_end"}
        ``"random"``: the stratified random split (every writer in both
        parts). ``"file_end"``: the last 20 % of the file is the test split,
        which keeps most test writers out of training (see the module notes).

    Returns
    -------
    Digits
        ``images`` (N, 28, 28, 1) float32 in [0, 1] and ``labels`` (N,)
        int32. Fresh arrays: change them freely.

    Raises
    ------
    ValueError
        For an unknown split, or ``n`` outside 1..size of the split.

    Examples
    --------
    >>> images, labels = load_digits("train", n=100)
    >>> images.shape
    (100, 28, 28, 1)
    >>> float(images.min()), float(images.max())
    (0.0, 1.0)
    """
    check_choice(split, "split", ("train", "test"))
    check_choice(rule, "rule", SPLIT_RULES)
    index = (_split_indices() if rule == "random" else _file_end_indices())[split]
    if n is not None:
        n = check_positive_int(n, "n")
        if n > index.size:
            raise ValueError(
                f"n={n} is more than the {index.size} images of the {split!r} split; "
                f"use n=None for all of them."
            )
        index = index[:n]
    images, labels = _all_digits()
    return Digits(images[index], labels[index])
