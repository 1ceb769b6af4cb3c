"""Unsupervised domain adaptation: labels from a source look, unlabelled images of the target look (notebook 11).

Six ways to get a model for the target images, each a function here
(the sixth in :mod:`~segtutor.semi.randomise`):

* :func:`source_only` trains on the labelled source images and hopes;
* :func:`adapt_batch_norm` (AdaBN, Li et al. 2016) keeps every weight of a
  source model and replaces each batch-normalization layer's moving mean and
  variance by the statistics of its inputs on the target images: no training,
  one pass per layer;
* :func:`self_train_on_target` continues training on the source labels plus
  confidence-filtered pseudo-labels of the target images (Lee 2013; the
  selection is :func:`~segtutor.semi.pseudo_labels.pseudo_label_targets`);
* :func:`mean_teacher_on_target` is self-ensembling (French, Mackiewicz and
  Fisher 2018): the mean teacher of :func:`~segtutor.semi.train_mean_teacher`
  with source labels and a consistency term on target images, counted only
  where the teacher is confident;
* :func:`~segtutor.semi.randomise.randomised_source` trains on the source
  images and copies of them under random cameras (domain randomisation,
  Tobin et al. 2017), so that the target's look is one the network has seen;
  AdaBN can follow it;
* :func:`oracle` trains on the target images *with* their labels, the
  ceiling the others are measured against.

:func:`domain_adaptation` runs them all on one :class:`~segtutor.semi.shift.ShiftData`
and scores each on the held-out target images.

Examples
--------
>>> from segtutor.semi import build_student, make_shift_data
>>> data = make_shift_data(2, 2, 1, size=32)
>>> model = adapt_batch_norm(build_student(depth=2, width=4), data.target.images)
>>> mean, var = batch_norm_statistics(model, data.target.images)[0][1:]
>>> bool(np.allclose(model.layers[2].moving_mean.numpy(), mean, atol=1e-5))
True
"""

from __future__ import annotations

import time

import numpy as np

from .. import _backend
from .._validate import check_bool, check_choice, check_in_range, check_positive_int
from ._checks import check_images, check_model_fits, check_seed, check_sequence, check_student
from .experiment import held_out_dice
from .mean_teacher import train_mean_teacher
from .randomise import randomised_source
from .self_training import self_training
from .training import copy_model, train_supervised

__all__ = ["SHIFT_METHODS", "FRENCH_CONFIDENCE", "adabn_normalise", "batch_norm_layers", "batch_norm_statistics",
           "adapt_batch_norm", "adapt_pretrained", "source_only", "oracle", "self_train_on_target",
           "mean_teacher_on_target", "domain_adaptation"]

#: Method names of :func:`domain_adaptation`, in the order of the notebook's table.
SHIFT_METHODS = ("source only", "AdaBN", "self-training", "self-training + AdaBN", "mean teacher",
                 "mean teacher + AdaBN", "randomised source", "randomised source + AdaBN", "oracle")

#: The teacher's confidence below which French et al. (2018) drop a target sample from the consistency loss.
FRENCH_CONFIDENCE = 0.968


def adabn_normalise(features, gamma, beta, epsilon: float = 1e-3) -> np.ndarray:
    """A batch-norm layer's output when its statistics are those of ``features``: AdaBN's swap, in NumPy.

    In inference a batch-norm layer computes ``gamma * (x - mean) / sqrt(var +
    epsilon) + beta`` with the moving mean and variance it kept from training
    (the *source* statistics). AdaBN (Li et al. 2016) uses the per-channel
    mean and variance of the *target* features instead, over every image and
    pixel (all axes but the last), with the population variance (``ddof=0``);
    ``gamma`` and ``beta`` stay as learned.

    Parameters
    ----------
    features : array_like, shape (..., C)
        A layer's inputs on target images, channels last (for example (N, H, W, C)), at least 2-D.
    gamma, beta : array_like, shape (C,)
        The layer's learned scale and offset.
    epsilon : float
        Added to the variance (Keras' default 1e-3), above 0.

    Returns
    -------
    ndarray of float64, the shape of ``features``

    Examples
    --------
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])            # two samples, two channels
    >>> adabn_normalise(x, np.ones(2), np.zeros(2), epsilon=1e-12).round(3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    from .._validate import as_array

    x = as_array(features, "features")
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"features should be real numbers, got dtype {x.dtype}.")
    if x.ndim < 2 or x.size == 0:
        raise ValueError(f"features should be a non-empty array (..., C) of at least 2 dimensions, got shape "
                         f"{x.shape}.")
    x = x.astype(np.float64)
    channels = x.shape[-1]
    params = []
    for name, value in (("gamma", gamma), ("beta", beta)):
        v = np.asarray(as_array(value, name), dtype=np.float64)
        if v.shape != (channels,):
            raise ValueError(f"{name} should hold one value per channel, shape ({channels},), got {v.shape}.")
        params.append(v)
    epsilon = check_in_range(epsilon, "epsilon", 0.0, 1.0)
    if epsilon == 0:
        raise ValueError("epsilon should be above 0: a channel that is constant on the target has variance 0.")
    if not (np.isfinite(x).all() and all(np.isfinite(v).all() for v in params)):
        raise ValueError("features, gamma and beta should be finite.")
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return params[0] * (x - mean) / np.sqrt(var + epsilon) + params[1]


def batch_norm_layers(model) -> list:
    """The ``BatchNormalization`` layers of a functional model, in the order the data meets them.

    Examples
    --------
    >>> from segtutor.semi import build_student
    >>> [layer.name for layer in batch_norm_layers(build_student(depth=2, width=4))][:2]
    ['enc1_bn1', 'enc1_bn2']
    """
    keras = _backend.keras()
    model = check_student(model)
    if any(isinstance(layer, keras.Model) for layer in model.layers):
        raise ValueError(f"model {model.name!r} holds a nested model; AdaBN here needs a flat functional model such "
                         "as build_student() or segtutor.models.pretrained.load_model().")
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _check_batch_size(batch_size):
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > 4096:
        raise ValueError(f"batch_size should be at most 4096, got {batch_size}.")
    return batch_size


def _input_moments(probe, x, batch_size):
    """Per-channel mean and (population) variance of ``probe``'s output over all images and pixels."""
    total = total_sq = 0.0
    count = 0
    for start in range(0, len(x), batch_size):
        a = np.asarray(probe(x[start:start + batch_size], training=False), dtype=np.float64)
        a = a.reshape(-1, a.shape[-1])
        total = total + a.sum(axis=0)
        total_sq = total_sq + (a * a).sum(axis=0)
        count += a.shape[0]
    mean = total / count
    return mean, np.maximum(total_sq / count - mean**2, 0.0)


def batch_norm_statistics(model, images, *, batch_size: int = 8) -> list:
    """What each batch-normalization layer of ``model`` sees on ``images``: the mean and variance of its inputs.

    The inputs of a layer are computed with the model as it is (every earlier
    layer in inference mode, with its current moving statistics).

    Parameters
    ----------
    model : keras.Model
        A flat functional segmentation model (:func:`batch_norm_layers`).
    images : array_like, shape (N, H, W) or (N, H, W, 1)
        Sides divisible by ``2**depth`` of the U-Net.
    batch_size : int
        Images per forward pass (memory, not the result).

    Returns
    -------
    list of (str, ndarray, ndarray)
        Per layer, in data order: its name, the per-channel mean and the
        population variance (``ddof=0``) over all images and pixels.

    Examples
    --------
    >>> from segtutor.semi import build_student
    >>> name, mean, var = batch_norm_statistics(build_student(depth=2, width=4), np.ones((1, 16, 16)))[0]
    >>> name, mean.shape, bool((var >= 0).all())
    ('enc1_bn1', (4,), True)
    """
    keras = _backend.keras()
    layers = batch_norm_layers(model)
    x = check_images(images)
    check_model_fits(model, x.shape[1], x.shape[2], "images")
    batch_size = _check_batch_size(batch_size)
    out = []
    for layer in layers:
        probe = keras.Model(model.input, layer.input)
        out.append((layer.name, *_input_moments(probe, x, batch_size)))
    return out


def adapt_batch_norm(model, target_images):
    """AdaBN (Li et al. 2016): re-estimate every batch-norm layer's moving mean and variance on target images.

    A network trained on the source look normalises each layer's input with
    the source's statistics; on target images those inputs have another mean
    and spread, and every later layer sees features shifted from what it
    learned. AdaBN replaces each layer's moving mean and variance by the mean
    and (population) variance of that layer's inputs on the target images,
    computed with the earlier layers already adapted, so that each layer's
    output is standardised on the target. Nothing else changes: no weight, no
    scale (gamma) or offset (beta), no label needed.

    One forward pass does it: in training mode a batch-norm layer normalises
    with the statistics of its batch, so a pass over *all* target images as
    one batch gives every layer exactly its adapted input, layer after layer.
    A model with dropout (which that pass would apply) is adapted one layer at
    a time instead, each layer's inputs computed in inference mode with the
    earlier layers already adapted: the same statistics, one pass per layer.

    Parameters
    ----------
    model : keras.Model
        A flat functional model with ``BatchNormalization`` layers, trained on
        the source look (for example :func:`source_only`, or a shipped model of
        :func:`segtutor.models.pretrained.load_model`); changed in place.
    target_images : array_like, shape (N, H, W) or (N, H, W, 1)
        Unlabelled target images, normalised as for training; sides divisible
        by ``2**depth``. They go through the network as one batch (memory
        grows with N).

    Returns
    -------
    keras.Model
        ``model`` itself, its moving statistics those of the target.

    Examples
    --------
    >>> from segtutor.semi import build_student
    >>> images = np.random.default_rng(0).random((4, 16, 16))
    >>> model = adapt_batch_norm(build_student(depth=2, width=4), images)
    >>> bn = batch_norm_layers(model)[0]                 # the first layer sees the images' convolution
    >>> inputs = _backend.keras().Model(model.input, bn.input).predict(images[..., None], verbose=0)
    >>> bool(np.allclose(bn.moving_mean.numpy(), inputs.mean(axis=(0, 1, 2)), atol=1e-5))
    True
    """
    keras = _backend.keras()
    layers = batch_norm_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer, so AdaBN has nothing to adapt.")
    x = check_images(target_images, "target_images")
    check_model_fits(model, x.shape[1], x.shape[2], "target_images")
    if x.size > 2**24:
        raise ValueError(f"target_images has {x.size:,} pixels; AdaBN passes them as one batch, so use at most "
                         f"{2**24:,} (fewer or smaller images).")
    if any(isinstance(layer, keras.layers.Dropout) and getattr(layer, "rate", 0) > 0 for layer in model.layers):
        # A training-mode pass would drop features; measure each layer in inference mode, in data order.
        for layer in layers:
            mean, var = _input_moments(keras.Model(model.input, layer.input), x, 8)
            layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
            layer.moving_variance.assign(var.astype(layer.moving_variance.dtype))
        return model
    probe = keras.Model(model.input, [layer.input for layer in layers])
    inputs = probe(x, training=True)  # batch statistics at every layer: the target's
    for layer, a in zip(layers, inputs):
        a = np.asarray(a, dtype=np.float64).reshape(-1, layer.moving_mean.shape[0])
        layer.moving_mean.assign(a.mean(axis=0).astype(layer.moving_mean.dtype))
        layer.moving_variance.assign(a.var(axis=0).astype(layer.moving_variance.dtype))
    return model


def adapt_pretrained(images, *, model: str = "deeplab", diameter=None):
    """A shipped nuclei model with AdaBN statistics of your own unlabelled images, for ``segment_nuclei``.

    Each image is prepared as :func:`segtutor.models.pretrained.segment_nuclei`
    prepares it (rescaled so that its nuclei are the models' trained size,
    normalised by its percentiles, padded to a multiple of 16), and the
    shipped model's batch-norm statistics are re-estimated on those pixels
    (:func:`adapt_batch_norm`). No label is used; the weights stay.

    Parameters
    ----------
    images : array_like (H, W), or a list of them
        Unlabelled 2-D images of one microscope (DNA stain). Several images
        are cropped to their common size after rescaling.
    model : {"deeplab", "unet"}
        The shipped model to adapt (:func:`segtutor.models.pretrained.load_model`).
    diameter : float, optional
        Typical nucleus diameter in pixels, for every image; None estimates
        it per image (:func:`segtutor.models.scale.estimate_diameter`).

    Returns
    -------
    keras.Model
        A fresh copy of the shipped model, adapted; pass it as
        ``segment_nuclei(image, model=adapted)`` (the shipped models share
        one trained nucleus size, so the size handling stays right).

    Examples
    --------
    >>> from segtutor.datasets import make_nuclei
    >>> adapted = adapt_pretrained(make_nuclei(1, size=64, seed=0).images[0], model="unet")  # doctest: +SKIP
    """
    from ..models import pretrained, scale

    model = check_choice(model, "model", pretrained.MODELS)
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("images should hold at least one image.")
        images = list(images)
    else:
        images = [images]
    prepared = []
    for i, image in enumerate(images):
        try:
            x = scale.as_gray_image(image)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"images[{i}]: {exc}") from None
        d = scale.estimate_diameter(x) if diameter is None else scale.check_diameter(diameter)
        if not np.isfinite(d):  # nothing stands out of the background: use the image as it is
            d = scale.TRAINED_DIAMETER[model]
        small = scale.rescale_image(x, scale.TRAINED_DIAMETER[model] / d)
        if min(small.shape) < 16:
            raise ValueError(f"images[{i}] is {small.shape[0]}x{small.shape[1]} pixels at the models' nucleus size; "
                             "use images with more nuclei across.")
        prepared.append(pretrained.pad_to_multiple(pretrained.normalise_percentile(small), 16)[0])
    h, w = min(p.shape[0] for p in prepared), min(p.shape[1] for p in prepared)
    stack = np.stack([p[:h, :w] for p in prepared])
    return adapt_batch_norm(pretrained.load_model(model), stack)


def source_only(source_images, source_masks, *, steps: int, **training):
    """Train on the labelled source images only: the baseline every adaptation must beat.

    Parameters
    ----------
    source_images, source_masks : array_like, (N, H, W[, 1])
    steps : int
    **training
        ``batch_size``, ``patch_size``, ``learning_rate``, ``seed``, ... of
        :func:`~segtutor.semi.training.train_supervised`.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from segtutor.semi import make_shift_data
    >>> d = make_shift_data(2, 1, 1, size=32)
    >>> source_only(d.source.images, d.source.masks, steps=1, patch_size=32).output_shape
    (None, None, None, 1)
    """
    return train_supervised(source_images, source_masks, steps=steps, **training)[0]


def oracle(target_images, target_masks, *, steps: int, **training):
    """Train on the target images *with their labels*: the ceiling, which no unlabelled method can have.

    The same recipe as :func:`source_only` on the other look; the distance
    from source only to the oracle is the *gap* a method closes.

    Examples
    --------
    >>> from segtutor.semi import make_shift_data
    >>> d = make_shift_data(1, 2, 1, size=32)
    >>> oracle(d.target.images, d.target.masks, steps=1, patch_size=32).output_shape
    (None, None, None, 1)
    """
    return train_supervised(target_images, target_masks, steps=steps, **training)[0]


def self_train_on_target(model, source_images, source_masks, target_images, *, steps: int, threshold: float = 0.9,
                         adabn: bool = True, **training):
    """Self-training for adaptation: pseudo-labels of the confident target pixels, plus the source labels.

    With ``adabn``, the model is first adapted (:func:`adapt_batch_norm`) so
    that its pseudo-labels come from target statistics, and adapted again after
    training, whose batches mixed both looks. The pseudo-labels keep a pixel
    when the model's confidence ``max(p, 1 - p)`` reaches ``threshold``
    (:func:`~segtutor.semi.pseudo_labels.pseudo_label_targets`).

    Parameters
    ----------
    model : keras.Model
        A source model (:func:`source_only`); it is not changed, a copy trains.
    source_images, source_masks : array_like, (N_s, H, W[, 1])
    target_images : array_like, (N_t, H, W[, 1])
    steps : int
        Training steps on source labels plus pseudo-labels.
    threshold : float in [0.5, 1]
    adabn : bool
    **training
        ``batch_size``, ``patch_size``, ``learning_rate``, ``seed`` of
        :func:`~segtutor.semi.self_training.self_training`.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from segtutor.semi import build_student, make_shift_data
    >>> d = make_shift_data(2, 2, 1, size=32)
    >>> m = self_train_on_target(build_student(depth=2, width=4), d.source.images, d.source.masks,
    ...                          d.target.images, steps=1, patch_size=32)
    >>> m.output_shape
    (None, None, None, 1)
    """
    student = copy_model(check_student(model))
    adabn = check_bool(adabn, "adabn")
    xt = check_images(target_images, "target_images")
    if adabn:
        adapt_batch_norm(student, xt)
    student = self_training(student, source_images, source_masks, xt, threshold=threshold, steps=steps,
                            **training)[0]
    return adapt_batch_norm(student, xt) if adabn else student


def mean_teacher_on_target(model, source_images, source_masks, target_images, *, steps: int,
                           confidence: float | None = FRENCH_CONFIDENCE, consistency: float = 3.0,
                           adabn: bool = True, **training):
    """Self-ensembling for adaptation (French et al. 2018): a mean teacher on source labels and target images.

    The student starts from ``model``; each step it learns the source labels
    and, on a target batch, to match its EMA teacher's prediction (squared
    difference) on a differently perturbed view, where the teacher is
    confident (``max(p, 1 - p) > confidence``, French et al.'s 0.968; the
    other pixels count 0 in a mean over all pixels). Source and target
    batches go through the student separately, so each batch is normalised by
    its own look's statistics, as French et al. did, and the teacher
    normalises each target batch by that batch's statistics too (their
    teacher runs in training mode; with the student's moving statistics,
    which average both looks, the teacher's targets drift and the student
    learns to see no nucleus on the target). With ``adabn``, the
    starting model is adapted (:func:`adapt_batch_norm`), so that the teacher's
    first targets come from target statistics, and the final teacher again
    (its moving statistics averaged both looks during training).

    Parameters
    ----------
    model : keras.Model
        A source model (:func:`source_only`); it is not changed.
    source_images, source_masks : array_like, (N_s, H, W[, 1])
    target_images : array_like, (N_t, H, W[, 1])
    steps : int
    confidence : float in [0.5, 1) or None
        None counts every pixel (Tarvainen and Valpola's mean teacher).
    consistency : float
        Weight of the consistency term (French et al. used 3), reached at
        once when ``confidence`` is set (they dropped the ramp-up with the
        threshold) and ramped up over 40 % of the steps otherwise.
    adabn : bool
    **training
        ``strength``, ``cutmix``, ``decay``, ``teacher_batch_statistics``
        (default True here), ``batch_size``, ``patch_size``,
        ``learning_rate``, ``seed`` of :func:`~segtutor.semi.train_mean_teacher`.

    Returns
    -------
    keras.Model
        The teacher.

    Notes
    -----
    What differs from French et al. (2018): their class-balance loss pulls the
    mean predicted class distribution of a batch towards uniform, which suits
    balanced classification benchmarks but not nuclei covering about a fifth
    of the pixels, so it is not used; their augmentations (translation,
    flips, intensity, noise) are replaced by the course's strong view
    (CutMix, photometric jitter, a flip undone on the output).

    Examples
    --------
    >>> from segtutor.semi import build_student, make_shift_data
    >>> d = make_shift_data(2, 2, 1, size=32)
    >>> t = mean_teacher_on_target(build_student(depth=2, width=4), d.source.images, d.source.masks,
    ...                            d.target.images, steps=1, patch_size=32)
    >>> t.output_shape
    (None, None, None, 1)
    """
    student = copy_model(check_student(model))
    adabn = check_bool(adabn, "adabn")
    xt = check_images(target_images, "target_images")
    if confidence is not None:
        confidence = check_in_range(confidence, "confidence", 0.5, 1.0)
    if adabn:
        adapt_batch_norm(student, xt)
    rampup = training.pop("rampup_steps", 0 if confidence is not None else None)
    batch_statistics = training.pop("teacher_batch_statistics", True)
    teacher = train_mean_teacher(source_images, source_masks, xt, steps=steps, student=student,
                                 consistency=consistency, confidence=confidence, rampup_steps=rampup,
                                 teacher_batch_statistics=batch_statistics, **training)[0]
    teacher = copy_model(teacher)  # a plain model, free of the training wrapper
    return adapt_batch_norm(teacher, xt) if adabn else teacher


def domain_adaptation(data, *, methods=SHIFT_METHODS, steps: int, adapt_steps: int, threshold: float = 0.9,
                      confidence: float | None = FRENCH_CONFIDENCE, consistency: float = 3.0,
                      adapt_learning_rate: float = 1e-3, batch_size: int = 8, patch_size: int = 64, seed: int = 0,
                      log=None) -> tuple[list[dict], dict]:
    """Every method of :data:`SHIFT_METHODS` on one :class:`~segtutor.semi.shift.ShiftData`, scored on its test set.

    Source only, the randomised source (:func:`~segtutor.semi.randomise.randomised_source`)
    and the oracle train ``steps`` steps from the same random weights; AdaBN,
    self-training and mean teacher start from the source-only model (so they
    need its ``steps`` too) and the last two train ``adapt_steps`` more;
    ``"randomised source + AdaBN"`` adapts the randomised-source model.

    Parameters
    ----------
    data : ShiftData
        From :func:`~segtutor.semi.shift.make_shift_data`.
    methods : sequence of str
        From :data:`SHIFT_METHODS`.
    steps, adapt_steps : int
    threshold : float
        Of self-training's pseudo-labels.
    confidence, consistency : float
        Of :func:`mean_teacher_on_target`.
    adapt_learning_rate : float
        Adam's starting rate of the adapted methods (they fine-tune; source
        only and the oracle start at 2e-3).
    batch_size, patch_size, seed : int
    log : callable, optional
        Called with a line of text after each method.

    Returns
    -------
    rows : list of dict
        ``method``, ``dice`` (pooled over the held-out target images) and
        ``seconds`` (wall clock of the method's own work, without the shared
        source-only training, or the randomised-source training for its
        "+ AdaBN") and ``cpu_seconds`` (the process's CPU time
        over the same work, which depends less on what else the machine runs).
    models : dict
        The model of each method, by name.
    """
    methods = tuple(check_sequence(methods, "methods"))
    for m in methods:
        if m not in SHIFT_METHODS:
            raise ValueError(f"methods should be chosen from {SHIFT_METHODS}, got {m!r}.")
    if not all(hasattr(data, a) for a in ("source", "target", "test")):
        raise TypeError(f"data should be a ShiftData from make_shift_data(), got {type(data).__name__}.")
    steps = check_positive_int(steps, "steps")
    adapt_steps = check_positive_int(adapt_steps, "adapt_steps")
    seed = check_seed(seed)
    if log is not None and not callable(log):
        raise TypeError(f"log should be a function such as print, got {type(log).__name__}.")
    common = dict(batch_size=batch_size, patch_size=patch_size, seed=seed)
    tune = dict(common, learning_rate=check_in_range(adapt_learning_rate, "adapt_learning_rate", 1e-8, 10.0))
    xs, ys = data.source.images, data.source.masks
    xt, test = data.target.images, data.test
    rows, models = [], {}

    def timed(method, fit):
        start, cpu = time.perf_counter(), time.process_time()
        model = fit()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        models[method] = model
        if method in methods:
            rows.append({"method": method, "dice": held_out_dice(model, test.images, test.masks),
                         "seconds": seconds, "cpu_seconds": cpu_seconds})
            if log is not None:
                log(f"{method:22s} target Dice {rows[-1]['dice']:.3f}  {seconds:6.1f} s")
        return model

    base = timed("source only", lambda: source_only(xs, ys, steps=steps, **common))
    if "AdaBN" in methods:
        timed("AdaBN", lambda: adapt_batch_norm(copy_model(base), xt))
    for adabn in (False, True):
        suffix = " + AdaBN" if adabn else ""
        if f"self-training{suffix}" in methods:
            timed(f"self-training{suffix}", lambda: self_train_on_target(
                base, xs, ys, xt, steps=adapt_steps, threshold=threshold, adabn=adabn, **tune))
        if f"mean teacher{suffix}" in methods:
            timed(f"mean teacher{suffix}", lambda: mean_teacher_on_target(
                base, xs, ys, xt, steps=adapt_steps, confidence=confidence, consistency=consistency, adabn=adabn,
                **tune))
    if any(m.startswith("randomised source") for m in methods):
        randomised = timed("randomised source", lambda: randomised_source(xs, ys, steps=steps, **common))
        if "randomised source + AdaBN" in methods:
            timed("randomised source + AdaBN", lambda: adapt_batch_norm(copy_model(randomised), xt))
    if "oracle" in methods:
        timed("oracle", lambda: oracle(xt, data.target.masks, steps=steps, **common))
    rows.sort(key=lambda r: SHIFT_METHODS.index(r["method"]))  # the table's order, whatever the training order
    return rows, models
