"""A ``tf.data`` input pipeline that augments an image and its mask together.

Augmentation for segmentation has one rule that classification does not: any
*geometric* change (flip, rotation, crop) must be applied identically to the
image and to its mask, or the labels stop matching the pixels. Photometric
changes (brightness, contrast) apply to the image only. Masks are resized
with nearest-neighbour interpolation, so they keep whole class ids.

Every element gets its own seed, and every random choice is made with a
*stateless* TensorFlow op from that seed, so the image and the mask see the
same flip, rotation and crop. The seeds come from
``tf.data.Dataset.random(seed, rerandomize_each_iteration=True)``: each epoch
draws new augmentations, yet two runs with the same ``seed`` are identical.

That stream has a history: its shuffle buffer and its random stream are
wherever the previous batches left them, so batch ``s`` cannot be made
without making batches ``0 .. s-1`` first. A training run that stops and
resumes at step ``s`` (``segtutor train --resume``) needs more: with
``start_step``, batch ``s`` is a pure function of ``(seed, s)``. Its items
are the positions ``s * batch_size ..`` of an endless walk through the data
in a fresh order each epoch (``tf.random.experimental.index_shuffle``, keyed
on the seed and the epoch), and each item's augmentation is keyed on the
seed and its position, so a stream started at ``s`` begins with the batch
that a stream started at 0 makes ``s`` batches later.

TensorFlow is imported inside :func:`segmentation_dataset`, so importing
:mod:`segtutor.datasets` stays quick.

Examples
--------
>>> import numpy as np
>>> from segtutor.datasets import make_shapes, segmentation_dataset
>>> data = make_shapes(8, size=64)
>>> ds = segmentation_dataset(data.images, data.semantic_masks(), batch_size=4)
>>> images, masks = next(iter(ds))
>>> tuple(images.shape), tuple(masks.shape), masks.dtype.name
((4, 64, 64, 3), (4, 64, 64), 'int32')

Batch 5 of a resumable stream, made without batches 0 to 4:

>>> late = segmentation_dataset(data.images, data.semantic_masks(), batch_size=4, start_step=5, steps=1)
>>> early = segmentation_dataset(data.images, data.semantic_masks(), batch_size=4, start_step=0, steps=6)
>>> np.array_equal(next(iter(late))[1], list(early)[5][1])
True
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .._validate import as_array, check_bool, check_mask, check_positive_int, check_seed

__all__ = ["segmentation_dataset", "AUGMENTATIONS", "DEFAULT_AUGMENTATIONS"]

#: The augmentations ``augment`` can name; ``augment=True`` means :data:`DEFAULT_AUGMENTATIONS`.
AUGMENTATIONS = ("flip", "rotate", "crop", "colour", "intensity")
DEFAULT_AUGMENTATIONS = ("flip", "rotate", "crop", "colour")

CROP_SCALE = (0.6, 1.0)  # side of the random crop, as a fraction of the image side
BRIGHTNESS_DELTA = 0.1
CONTRAST_RANGE = (0.8, 1.2)
# "intensity": microscopes differ in gain, exposure and the stain's response,
# so a nucleus that is bright in one image is dim in the next.
GAIN_RANGE = (0.35, 1.4)  # multiplies the image (log-uniform)
GAMMA_RANGE = (0.67, 1.5)  # |x| ** gamma, sign kept (log-uniform)
OFFSET_DELTA = 0.1
MAX_STEP = 10**12  # start_step and steps: far beyond any run, and item positions stay inside int64


def _check_augment(augment) -> tuple[str, ...]:
    if isinstance(augment, np.bool_):
        augment = bool(augment)
    if augment is True:
        return DEFAULT_AUGMENTATIONS
    if augment is False or augment is None:
        return ()
    if not isinstance(augment, (str, list, tuple)):
        raise TypeError(f"augment should be True, False, or a sequence of names from {AUGMENTATIONS}, "
                        f"got {type(augment).__name__}.")
    names = (augment,) if isinstance(augment, str) else tuple(augment)
    unknown = [a for a in names if a not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation(s) {unknown}; expected True, False, or names from {AUGMENTATIONS}, "
            "for example augment=('flip', 'rotate')."
        )
    return names


def _check_arrays(images, masks):
    images = as_array(images, "images")
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3, 4)):
        raise ValueError(
            f"images should have shape (N, H, W) or (N, H, W, C) with C in 1, 3, 4; got {images.shape}. "
            "For a single image, add a batch axis: image[None]."
        )
    if not np.issubdtype(images.dtype, np.number) and images.dtype != bool:
        raise ValueError(f"images should be numeric, got dtype {images.dtype}.")
    masks = check_mask(masks, "masks", ndim=(3, 4), nonnegative=True)
    if masks.ndim == 4 and masks.shape[-1] != 1:
        raise ValueError(
            f"masks should have shape (N, H, W) or (N, H, W, 1), got {masks.shape}. "
            "For one-hot masks, convert to class ids first: masks.argmax(-1)."
        )
    if images.shape[:3] != masks.shape[:3]:
        raise ValueError(
            f"images {images.shape} and masks {masks.shape} should agree on (N, H, W). "
            "Check that both come from the same data set and neither was transposed."
        )
    if images.shape[0] == 0:
        raise ValueError("images is empty (N = 0); expected at least one image.")
    if np.issubdtype(images.dtype, np.floating) and not np.isfinite(images).all():
        bad = int((~np.isfinite(images)).reshape(len(images), -1).any(axis=1).sum())
        raise ValueError(
            f"images contain NaN or infinite values ({bad} of {len(images)} images); a network trained on them "
            "learns NaN. Find where they come from, or replace them: np.nan_to_num(images)."
        )
    return images, masks


def segmentation_dataset(
    images,
    masks,
    *,
    batch_size: int,
    augment=True,
    seed: int = 0,
    shuffle: bool = True,
    patch_size: int | None = None,
    repeat: bool = False,
    start_step: int | None = None,
    steps: int | None = None,
):
    """Build a batched ``tf.data.Dataset`` of (image, mask) pairs.

    Parameters
    ----------
    images : array, shape (N, H, W) or (N, H, W, C)
        Images, usually float in [0, 1]. Gray images without a channel axis
        get one.
    masks : array of int or bool, shape (N, H, W) or (N, H, W, 1)
        Class ids (or booleans) per pixel.
    batch_size : int
        Images per batch; the last batch may be smaller.
    augment : bool or sequence of str
        ``True`` for ``("flip", "rotate", "crop", "colour")``, ``False``
        for none, or a selection from :data:`AUGMENTATIONS`. ``flip``: left-right and up-down, each with
        probability 1/2. ``rotate``: a multiple of 90 degrees (only 0 or 180
        for non-square images, so shapes stay fixed). ``crop``: a random
        crop of 60-100 % of the side, resized back (image bilinear, mask
        nearest-neighbour). ``colour``: brightness +-0.1 and contrast x0.8 to
        x1.2, image only. ``intensity`` (not in ``True``; for fluorescence
        images normalised by percentiles): gain x0.35 to x1.4, gamma 0.67 to
        1.5 and an offset of +-0.1, image only, unclipped.
    seed : int
        Makes shuffling and augmentation reproducible. The default stream
        also depends on TensorFlow's global seed (``tf.random.set_seed``, set
        by :func:`segtutor.seed_everything`), which ``tf.data`` combines with
        ``seed``; a stream with ``start_step`` depends on ``seed`` alone.
    shuffle : bool
        Shuffle the whole data set anew each epoch.
    patch_size : int, optional
        Cut a random patch_size x patch_size window from each (augmented)
        image and mask: training on patches is cheaper per step, and a fully
        convolutional network then runs on whole images.
    repeat : bool
        Repeat the data set forever (for ``fit`` with ``steps_per_epoch``).
    start_step : int, optional
        Make a resumable stream that begins at batch ``start_step``: every
        batch is then a pure function of ``(seed, step)`` (see the module
        docstring), batches run on across epoch ends (every item once per
        epoch, in a fresh order each epoch when ``shuffle``) and all are full.
        ``None`` (the default) makes the stream described above.
    steps : int, optional
        With ``start_step``: how many batches to make (default: endless).

    Returns
    -------
    tf.data.Dataset
        Yields ``(images, masks)`` batches: images (B, H, W, C) float32,
        masks with the input's trailing shape and dtype.

    Raises
    ------
    ValueError
        For mismatched shapes, a non-integer mask, unknown augmentations,
        ``steps`` without ``start_step``, or ``repeat`` with ``start_step``.

    Notes
    -----
    Images whose values all lie in [0, 1] are clipped back to [0, 1] after
    the colour changes; other ranges (for example standardised images) are
    left unclipped.

    Examples
    --------
    See the module docstring.
    """
    images, masks = _check_arrays(images, masks)
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    chosen = _check_augment(augment)
    shuffle = check_bool(shuffle, "shuffle")
    repeat = check_bool(repeat, "repeat")
    if start_step is not None:
        start_step = check_positive_int(start_step, "start_step", minimum=0)
        if start_step > MAX_STEP:
            raise ValueError(f"start_step should be at most {MAX_STEP:.0e}, got {start_step}.")
        if repeat:
            raise ValueError("repeat=True and start_step: a start_step stream already runs on across epochs; "
                             "leave repeat=False and give steps (or none, for an endless stream).")
        if steps is not None:
            steps = check_positive_int(steps, "steps")
            if steps > MAX_STEP:
                raise ValueError(f"steps should be at most {MAX_STEP:.0e}, got {steps}.")
    elif steps is not None:
        raise ValueError(f"steps={steps!r} counts the batches of a resumable stream; give start_step too "
                         "(start_step=0 for the first batch), or use dataset.take(steps).")

    tf = _backend.tensorflow()
    image_array = images.astype(np.float32, copy=False)
    if image_array.ndim == 3:
        image_array = image_array[..., None]
    mask_dtype = masks.dtype
    squeeze_mask = masks.ndim == 3
    mask_array = masks.astype(np.int32, copy=False)
    if squeeze_mask:
        mask_array = mask_array[..., None]
    n, height, width, channels = image_array.shape
    if patch_size is not None:
        patch_size = check_positive_int(patch_size, "patch_size")
        if patch_size > min(height, width):
            raise ValueError(
                f"patch_size={patch_size} is larger than the {height}x{width} images; "
                f"use at most {min(height, width)}, or None for whole images."
            )
    clip = bool(image_array.min() >= 0.0 and image_array.max() <= 1.0)
    square = height == width

    def augment_pair(image, mask, element_seed):
        seeds = tf.random.experimental.stateless_split(
            tf.stack([element_seed, tf.constant(seed, tf.int64)]), num=13
        )

        def coin(i):
            return tf.random.stateless_uniform([], seeds[i]) < 0.5

        if "flip" in chosen:
            flip_lr, flip_ud = coin(0), coin(1)
            image = tf.cond(flip_lr, lambda: tf.reverse(image, [1]), lambda: image)
            mask = tf.cond(flip_lr, lambda: tf.reverse(mask, [1]), lambda: mask)
            image = tf.cond(flip_ud, lambda: tf.reverse(image, [0]), lambda: image)
            mask = tf.cond(flip_ud, lambda: tf.reverse(mask, [0]), lambda: mask)
        if "rotate" in chosen:
            quarter_turns = tf.random.stateless_uniform([], seeds[2], 0, 4, dtype=tf.int32)
            if not square:
                quarter_turns = 2 * (quarter_turns // 2)  # 0 or 180 degrees keep H x W
            image = tf.image.rot90(image, quarter_turns)
            mask = tf.image.rot90(mask, quarter_turns)
        if "crop" in chosen:
            scale = tf.random.stateless_uniform([], seeds[3], *CROP_SCALE)
            crop_h = tf.maximum(tf.cast(tf.round(scale * height), tf.int32), 1)
            crop_w = tf.maximum(tf.cast(tf.round(scale * width), tf.int32), 1)
            top = tf.random.stateless_uniform([], seeds[4], 0, height - crop_h + 1, dtype=tf.int32)
            left = tf.random.stateless_uniform([], seeds[5], 0, width - crop_w + 1, dtype=tf.int32)
            image = tf.image.resize(image[top : top + crop_h, left : left + crop_w], (height, width), "bilinear")
            mask = tf.image.resize(mask[top : top + crop_h, left : left + crop_w], (height, width), "nearest")
        if "colour" in chosen:
            image = tf.image.stateless_random_brightness(image, BRIGHTNESS_DELTA, seeds[6])
            image = tf.image.stateless_random_contrast(image, *CONTRAST_RANGE, seeds[7])
            if clip:
                image = tf.clip_by_value(image, 0.0, 1.0)
        if "intensity" in chosen:
            log_uniform = lambda i, bounds: tf.exp(  # noqa: E731
                tf.random.stateless_uniform([], seeds[i], *np.log(bounds).astype(np.float32)))
            gamma = log_uniform(8, GAMMA_RANGE)
            image = tf.sign(image) * tf.abs(image) ** gamma * log_uniform(9, GAIN_RANGE)
            image += tf.random.stateless_uniform([], seeds[10], -OFFSET_DELTA, OFFSET_DELTA)
        image.set_shape((height, width, channels))
        mask.set_shape((height, width, 1))
        if patch_size is not None:
            top = tf.random.stateless_uniform([], seeds[11], 0, height - patch_size + 1, dtype=tf.int32)
            left = tf.random.stateless_uniform([], seeds[12], 0, width - patch_size + 1, dtype=tf.int32)
            image = image[top:top + patch_size, left:left + patch_size]
            mask = mask[top:top + patch_size, left:left + patch_size]
        return image, mask

    def finish(image, mask):
        if squeeze_mask:
            mask = mask[..., 0]
        return image, tf.cast(mask, mask_dtype)

    if start_step is not None:
        return _resumable(tf, image_array, mask_array, augment_pair if chosen or patch_size is not None else None,
                          finish, batch_size=batch_size, seed=seed, shuffle=shuffle, start_step=start_step,
                          steps=steps)
    dataset = tf.data.Dataset.from_tensor_slices((image_array, mask_array))
    if shuffle:
        dataset = dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    if chosen or patch_size is not None:
        randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip((dataset, randoms)).map(
            lambda pair, r: augment_pair(pair[0], pair[1], r), num_parallel_calls=tf.data.AUTOTUNE
        )
    dataset = dataset.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _resumable(tf, image_array, mask_array, augment_pair, finish, *, batch_size, seed, shuffle, start_step, steps):
    """Batches ``start_step ..`` of the resumable stream.

    Item ``p`` of the endless walk (batch ``s`` holds ``p = s * batch_size ..``) is a pure function of
    ``(seed, p)``, so no batch needs an earlier one.
    """
    n = len(image_array)
    images, masks = tf.constant(image_array), tf.constant(mask_array)
    first = start_step * batch_size
    if steps is None:
        positions = tf.data.Dataset.counter(first)
    else:
        positions = tf.data.Dataset.range(first, first + steps * batch_size)

    def item(position):
        epoch, index = position // n, position % n
        if shuffle:  # a fresh permutation of the n items each epoch, keyed on (seed, epoch)
            index = tf.random.experimental.index_shuffle(
                index, tf.stack([tf.constant(seed, tf.int64), epoch]), tf.constant(n - 1, tf.int64))
        image, mask = tf.gather(images, index), tf.gather(masks, index)
        if augment_pair is not None:  # its augmentations are keyed on (seed, position)
            image, mask = augment_pair(image, mask, position)
        return finish(image, mask)

    return positions.map(item, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)
