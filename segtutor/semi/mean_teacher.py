"""Mean teacher (Tarvainen and Valpola 2017): a student, its EMA teacher and a consistency loss (notebook 11)."""

from __future__ import annotations

import math

import numpy as np

from .. import _backend
from .._validate import as_array, check_bool, check_in_range, check_positive_int
from ._checks import (check_callbacks, check_images, check_probabilities, check_seed, check_student, check_targets,
                      check_training_args)
from .training import build_student, copy_model, masked_bce_dice, training_batches

__all__ = ["JITTER", "CUTMIX_AREA", "consistency_weight", "ema_update", "photometric_jitter", "cutmix_boxes", "cutmix",
           "MeanTeacher", "train_mean_teacher"]


def consistency_weight(step, rampup_steps, maximum) -> float:
    """The ramp-up of the consistency weight: ``maximum * exp(-5 (1 - s / rampup)^2)``, then ``maximum``.

    This sigmoid-shaped ramp-up (Laine and Aila 2017, used by Tarvainen and
    Valpola 2017) keeps the consistency term small while the teacher is
    still poor, and reaches ``maximum`` at ``rampup_steps``.

    Examples
    --------
    >>> [round(consistency_weight(s, 100, 10.0), 3) for s in (0, 50, 100, 500)]
    [0.067, 2.865, 10.0, 10.0]
    """
    step = check_positive_int(step, "step", minimum=0)
    rampup_steps = check_positive_int(rampup_steps, "rampup_steps", minimum=0)
    maximum = check_in_range(maximum, "maximum", 0.0, 1e6)
    if rampup_steps == 0 or step >= rampup_steps:
        return maximum
    return maximum * math.exp(-5.0 * (1.0 - step / rampup_steps) ** 2)


def ema_update(teacher, student, decay) -> list:
    """One exponential-moving-average step: ``teacher = decay * teacher + (1 - decay) * student``.

    Parameters
    ----------
    teacher, student : list of ndarray
        Weights of two models of one architecture (``model.get_weights()``).
    decay : float in [0, 1]
        Tarvainen and Valpola used 0.99 early and 0.999 later; 0 copies the
        student, 1 freezes the teacher.

    Returns
    -------
    list of ndarray
        The new teacher weights (the inputs are not modified).

    Examples
    --------
    >>> ema_update([np.array([1.0])], [np.array([3.0])], 0.75)
    [array([1.5])]
    """
    decay = check_in_range(decay, "decay", 0.0, 1.0)
    if not isinstance(teacher, (list, tuple)) or not isinstance(student, (list, tuple)):
        raise TypeError("teacher and student should be lists of arrays, as model.get_weights() returns; got "
                        f"{type(teacher).__name__} and {type(student).__name__}.")
    if len(teacher) != len(student) or not teacher:
        raise ValueError(f"teacher has {len(teacher)} weight arrays and student {len(student)}; they should be "
                         "two non-empty lists from models of one architecture.")
    out = []
    for i, (a, b) in enumerate(zip(teacher, student)):
        a, b = as_array(a, f"teacher[{i}]"), as_array(b, f"student[{i}]")
        if a.shape != b.shape:
            raise ValueError(f"teacher[{i}] has shape {a.shape} and student[{i}] {b.shape}; the models should "
                             "share one architecture.")
        if not (np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number)) or a.dtype.kind == "c":
            raise TypeError(f"teacher[{i}] and student[{i}] should be real arrays, got {a.dtype} and {b.dtype}.")
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError(f"teacher[{i}] or student[{i}] holds NaN or infinite weights; the training diverged.")
        out.append(decay * a + (1.0 - decay) * b)
    return out


#: Largest photometric changes of :func:`photometric_jitter` at ``strength=1``: they span what the
#: domain randomisation of ``make_nuclei(vary=True)`` varies between images once each is normalised.
JITTER = {"log_gain": 0.5, "log_gamma": 0.4, "offset": 0.15, "noise": 0.1, "blur": 1.5}


def _jitter_ops(x, seeds, strength):
    """Per-image random gain, gamma, offset, Gaussian blur and noise, in Keras ops (batches (N, H, W, 1))."""
    keras = _backend.keras()
    ops = keras.ops

    n = ops.shape(x)[0]

    def uniform(half):
        return keras.random.uniform((n, 1, 1, 1), -half * strength, half * strength, seed=seeds)

    gain, gamma, offset = ops.exp(uniform(JITTER["log_gain"])), ops.exp(uniform(JITTER["log_gamma"])), \
        uniform(JITTER["offset"])
    x = ops.sign(x) * ops.power(ops.abs(x) + 1e-6, gamma) * gain + offset
    # One blur width per batch (a separable 5-tap Gaussian), applied to a random half of the images.
    sigma = ops.maximum(keras.random.uniform((), 0.0, JITTER["blur"] * strength, seed=seeds), 1e-3)
    taps = ops.exp(-ops.convert_to_tensor(np.arange(-2.0, 3.0, dtype="float32")) ** 2 / (2.0 * sigma**2))
    taps = taps / ops.sum(taps)
    blurred = ops.conv(x, ops.reshape(taps, (5, 1, 1, 1)), padding="same")
    blurred = ops.conv(blurred, ops.reshape(taps, (1, 5, 1, 1)), padding="same")
    x = ops.where(keras.random.uniform((n, 1, 1, 1), seed=seeds) < 0.5, blurred, x)
    noise_sd = keras.random.uniform((n, 1, 1, 1), 0.0, JITTER["noise"] * strength, seed=seeds)
    return x + noise_sd * keras.random.normal(ops.shape(x), seed=seeds)


def photometric_jitter(images, *, strength: float = 1.0, seed: int = 0) -> np.ndarray:
    """The strong, label-preserving perturbation that the mean-teacher student sees.

    Each image gets its own random gain (x0.61 to x1.65 at ``strength=1``),
    gamma (0.67 to 1.5), offset (+-0.15), with probability 1/2 a Gaussian
    blur (one width per batch, sigma up to 1.5 pixels), and Gaussian noise
    (standard deviation up to 0.1): the looks that the domain randomisation
    of ``make_nuclei(vary=True)`` varies, and nothing that moves a nucleus,
    so the label of every pixel stays the same. FixMatch (Sohn et al. 2020)
    gives the student such a *strong* view and the teacher a *weak* one.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 1)
        Normalised grey images.
    strength : float in [0, 4]
        Scales every range; 0 returns the images unchanged.
    seed : int

    Returns
    -------
    ndarray of float32, shape (N, H, W, 1)

    Examples
    --------
    >>> x = np.full((2, 16, 16), 0.5, "float32")
    >>> photometric_jitter(x).shape, bool(np.allclose(photometric_jitter(x, strength=0), 0.5, atol=1e-5))
    ((2, 16, 16, 1), True)
    """
    x = check_images(images)
    strength = check_in_range(strength, "strength", 0.0, 4.0)
    keras = _backend.keras()
    out = _jitter_ops(keras.ops.convert_to_tensor(x), keras.random.SeedGenerator(check_seed(seed)), strength)
    return np.asarray(keras.ops.convert_to_numpy(out), np.float32)


#: Area of the CutMix box as a fraction of the patch: French et al. (2020) paste half of one image into another.
CUTMIX_AREA = 0.5


def _box_ops(n, height, width, seeds, area):
    """(n, H, W, 1) float 0/1 boxes of ``area`` of the patch, aspect ratio 1/2 to 2, inside it, in Keras ops.

    As French et al. (2020): the whole box lies inside the patch, so each covers ``area`` of it (up to rounding;
    less when ``area > 0.5`` and a side would be longer than the patch, which clips it).
    """
    keras = _backend.keras()
    ops = keras.ops

    h, w = ops.cast(height, "float32"), ops.cast(width, "float32")
    ratio = ops.exp(keras.random.uniform((n, 1, 1, 1), -math.log(2.0), math.log(2.0), seed=seeds))
    box_h, box_w = ops.sqrt(area * ratio) * h, ops.sqrt(area / ratio) * w
    box_h, box_w = ops.minimum(box_h, h), ops.minimum(box_w, w)
    centre_y = box_h / 2 + keras.random.uniform((n, 1, 1, 1), seed=seeds) * (h - box_h)
    centre_x = box_w / 2 + keras.random.uniform((n, 1, 1, 1), seed=seeds) * (w - box_w)
    rows = ops.reshape(ops.cast(ops.arange(height), "float32"), (1, -1, 1, 1)) + 0.5
    cols = ops.reshape(ops.cast(ops.arange(width), "float32"), (1, 1, -1, 1)) + 0.5
    inside = (ops.abs(rows - centre_y) < box_h / 2) & (ops.abs(cols - centre_x) < box_w / 2)
    return ops.cast(inside, "float32")


def _cutmix_ops(images, targets, boxes):
    """Inside box i, image (and target) i; outside it, image i - 1 of the batch (the batch rolled by one)."""
    ops = _backend.keras().ops

    return tuple(boxes * t + (1.0 - boxes) * ops.roll(t, 1, axis=0) for t in (images, targets))


def cutmix_boxes(n, height, width, *, area: float = CUTMIX_AREA, seed: int = 0) -> np.ndarray:
    """Random boxes for :func:`cutmix`: each lies inside the image and covers ``area`` of it.

    Parameters
    ----------
    n, height, width : int
        Number of boxes and the image size.
    area : float in (0, 1]
        Box area as a fraction of the image; French et al. (2020) use 0.5.
        Above 0.5 a box of aspect ratio near 1/2 or 2 is clipped to the
        image, so it covers less.
    seed : int

    Returns
    -------
    ndarray of bool, shape (n, height, width)
        True inside each box.

    Examples
    --------
    >>> boxes = cutmix_boxes(200, 64, 64, seed=0)
    >>> boxes.shape, round(float(boxes.mean()), 1)
    ((200, 64, 64), 0.5)
    """
    n = check_positive_int(n, "n")
    height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
    if n * height * width > 50_000_000:
        raise ValueError(f"n * height * width should be at most 50 million pixels, got {n * height * width:,}; "
                         "draw the boxes in smaller batches.")
    area = check_in_range(area, "area", 0.0, 1.0)
    if area == 0:
        raise ValueError("area should be above 0: a box of no area mixes nothing.")
    keras = _backend.keras()
    boxes = _box_ops(n, height, width, keras.random.SeedGenerator(check_seed(seed)), area)
    return np.asarray(keras.ops.convert_to_numpy(boxes), bool)[..., 0]


def cutmix(images, targets, *, area: float = CUTMIX_AREA, seed: int = 0):
    """CutMix (Yun et al. 2019) for segmentation: paste a box of each image into its neighbour, target and all.

    Image ``i`` of the result is image ``i`` inside a random box and image
    ``i - 1`` (the last, for ``i = 0``) outside it; the targets are mixed with
    the same boxes, so every pixel keeps its own label. French et al. (2020)
    found that this *varied, strong* perturbation is what makes consistency
    training work for segmentation, where photometric noise alone does little:
    the mean teacher's student sees the mixed image, and its target is the
    teacher's predictions on the two unmixed images, mixed the same way.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 1)
    targets : array_like, shape of ``images``
        Masks or probabilities, one per image.
    area : float in (0, 1]
        Of :func:`cutmix_boxes`.
    seed : int

    Returns
    -------
    mixed_images, mixed_targets : ndarray of float32, shape (N, H, W, 1)
    boxes : ndarray of bool, shape (N, H, W)
        Where each mixed image shows its own image.

    Examples
    --------
    >>> x = np.stack([np.zeros((8, 8)), np.ones((8, 8))])
    >>> mixed, mixed_targets, boxes = cutmix(x, x, seed=0)
    >>> bool((mixed[1, ..., 0] == boxes[1]).all() and (mixed_targets == mixed).all())
    True
    """
    x = check_images(images)
    y = check_probabilities(targets, "targets")
    if y.ndim == 4 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != x.shape[:3]:
        # Either may be the wrong one: name both.
        raise ValueError(f"targets should have shape (N, H, W) = {x.shape[:3]}, one per image of images; "
                         f"got {y.shape}. Check that images and targets come from the same batch.")
    y = y.astype(np.float32)[..., None]
    boxes = cutmix_boxes(len(x), x.shape[1], x.shape[2], area=area, seed=seed)
    keras = _backend.keras()
    mixed = _cutmix_ops(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y),
                        keras.ops.convert_to_tensor(boxes[..., None].astype(np.float32)))
    return tuple(np.asarray(keras.ops.convert_to_numpy(m), np.float32) for m in mixed) + (boxes,)


def _mean_teacher_class():
    keras = _backend.keras()
    ops = keras.ops

    class MeanTeacher(keras.Model):
        """A student and its EMA teacher (Tarvainen and Valpola 2017); see :func:`train_mean_teacher`.

        ``fit`` takes batches ``((labelled images, targets), unlabelled images)``.
        Each step: supervised :func:`masked_bce_dice` on the labelled batch,
        plus ``weight * MSE`` between the student's probabilities on a
        *strong* view of the unlabelled batch and the teacher's on the *weak*
        view (the batch as the data pipeline augmented it), as in FixMatch
        (Sohn et al. 2020). The strong view: with ``cutmix``, each image with a
        box of its neighbour pasted in (:func:`cutmix`; the teacher's
        predictions are mixed with the same boxes, French et al. 2020), then
        :func:`photometric_jitter`, and a left-right flip that is undone on the
        output so the pixels line up. Then the teacher's weights (batch-norm
        statistics included) move towards the student's by EMA. Calling the
        model runs the teacher, the one to keep.
        """

        def __init__(self, student, *, consistency: float = 10.0, rampup_steps: int = 100, decay: float = 0.99,
                     strength: float = 1.0, cutmix: bool = True, confidence: float | None = None,
                     teacher_batch_statistics: bool = False, seed: int = 0, **kwargs):
            super().__init__(**kwargs)
            self.student = check_student(student, "student")
            self.teacher = copy_model(student)
            self.batch_statistics = check_bool(teacher_batch_statistics, "teacher_batch_statistics")
            # Keras runs a frozen BatchNormalization layer in inference mode whatever `training` says, so a
            # teacher that normalises by its batch stays trainable; only the student's variables get gradients.
            self.teacher.trainable = self.batch_statistics
            self.max_weight = check_in_range(consistency, "consistency", 0.0, 1e6)
            self.rampup_steps = check_positive_int(rampup_steps, "rampup_steps", minimum=0)
            self.decay = check_in_range(decay, "decay", 0.0, 1.0)
            self.strength = check_in_range(strength, "strength", 0.0, 4.0)
            self.cutmix = check_bool(cutmix, "cutmix")
            self.confidence = None if confidence is None else check_in_range(confidence, "confidence", 0.5, 1.0)
            self.seeds = keras.random.SeedGenerator(check_seed(seed))

        def call(self, images, training=False):
            return self.teacher(images, training=False)

        def weight(self):
            if self.rampup_steps == 0:
                return ops.convert_to_tensor(self.max_weight)
            progress = ops.minimum(ops.cast(self.optimizer.iterations, "float32") / self.rampup_steps, 1.0)
            return self.max_weight * ops.exp(-5.0 * (1.0 - progress) ** 2)

        def train_step(self, data):
            tf = _backend.tensorflow()

            (x_l, y_l), x_u = data
            weight = self.weight()
            flip = keras.random.uniform((), seed=self.seeds) < 0.5
            p_teacher = ops.stop_gradient(self.teacher(x_u, training=self.batch_statistics))
            strong = x_u
            if self.cutmix:
                shape = ops.shape(x_u)
                boxes = _box_ops(shape[0], shape[1], shape[2], self.seeds, CUTMIX_AREA)
                strong, p_teacher = _cutmix_ops(x_u, p_teacher, boxes)
            with tf.GradientTape() as tape:
                supervised = ops.mean(masked_bce_dice(y_l, self.student(x_l, training=True)))
                strong = _jitter_ops(strong, self.seeds, self.strength)
                strong = ops.where(flip, ops.flip(strong, 2), strong)
                p_student = self.student(strong, training=True)
                p_student = ops.where(flip, ops.flip(p_student, 2), p_student)
                squared = (p_student - p_teacher) ** 2
                if self.confidence is not None:
                    # French et al. (2018): only pixels the teacher is sure of count, in a mean over all pixels.
                    sure = ops.maximum(p_teacher, 1.0 - p_teacher) > self.confidence
                    squared = squared * ops.cast(sure, squared.dtype)
                consistency = ops.mean(squared)
                loss = supervised + weight * consistency
            variables = self.student.trainable_variables
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            # Tarvainen and Valpola's warm-up of the EMA: an average over the steps so far, at most `decay`.
            step = ops.cast(self.optimizer.iterations, "float32")
            decay = ops.minimum(1.0 - 1.0 / (step + 1.0), self.decay)
            for t, s in zip(self.teacher.weights, self.student.weights):
                t.assign(decay * t + (1.0 - decay) * ops.cast(s, t.dtype))
            return {"loss": loss, "supervised": supervised, "consistency": consistency, "weight": weight}

    return MeanTeacher


def MeanTeacher(student, *, consistency: float = 10.0, rampup_steps: int = 100, decay: float = 0.99,
                strength: float = 1.0, cutmix: bool = True, confidence: float | None = None,
                teacher_batch_statistics: bool = False, seed: int = 0):
    """A ``keras.Model`` that trains ``student`` and keeps an EMA *teacher* (Tarvainen and Valpola 2017).

    Parameters
    ----------
    student : keras.Model
        A one-channel sigmoid segmentation model, such as :func:`build_student`.
    consistency : float
        Largest weight of the consistency (MSE) term.
    rampup_steps : int
        Steps over which the weight ramps up (:func:`consistency_weight`).
    decay : float in [0, 1]
        EMA decay of the teacher's weights.
    strength : float in [0, 4]
        Of the student's strong view (:func:`photometric_jitter`); the
        teacher sees the unlabelled batch as it comes.
    cutmix : bool
        Mix a box of each unlabelled image into its neighbour before the
        student sees it (:func:`cutmix`, French et al. 2020); False leaves
        only the photometric view and the flip.
    confidence : float in [0.5, 1], optional
        Count a pixel in the consistency term only where the teacher's
        confidence ``max(p, 1 - p)`` is above this (French et al. 2018 used
        0.968); the others add 0 to the mean over all pixels. Default: all.
    teacher_batch_statistics : bool
        False: the teacher predicts in inference mode, its batch-norm layers
        using their moving statistics (EMAs of the student's). True: it
        normalises each unlabelled batch by that batch's own statistics, as in
        French et al.'s (2018) domain adaptation, where the student's moving
        statistics average two looks and fit neither.
    seed : int

    Returns
    -------
    keras.Model
        Compile it with an optimizer only (``mt.compile(optimizer=...)``) and
        ``fit`` it on ``((labelled images, targets), unlabelled images)``
        batches; ``mt.teacher`` and ``mt.student`` are the two networks, and
        calling ``mt`` runs the teacher.

    Examples
    --------
    >>> mt = MeanTeacher(build_student(depth=2, width=4))
    >>> mt.teacher is not mt.student
    True
    """
    return _mean_teacher_class()(student, consistency=consistency, rampup_steps=rampup_steps, decay=decay,
                                 strength=strength, cutmix=cutmix, confidence=confidence,
                                 teacher_batch_statistics=teacher_batch_statistics, seed=seed)


def _images_only(images, _targets):
    # A named function: AutoGraph cannot read a lambda's source in some notebooks and warns in the output.
    return images


def train_mean_teacher(labelled_images, labelled_masks, unlabelled_images, *, steps: int, student=None,
                       consistency: float = 10.0, rampup_steps: int | None = None, decay: float = 0.99,
                       strength: float = 1.0, cutmix: bool = True, confidence: float | None = None,
                       teacher_batch_statistics: bool = False, batch_size: int = 8, patch_size: int = 64,
                       learning_rate: float = 2e-3, seed: int = 0, epochs: int = 1, callbacks=()):
    """Train a :func:`MeanTeacher` and return its teacher.

    Each step takes ``batch_size`` labelled patches and ``batch_size``
    unlabelled patches, both with the course's augmentations
    (:data:`~segtutor.semi.training.AUGMENT`, exactly those of
    :func:`~segtutor.semi.training.train_supervised`, so that a labelled-only
    model trained as long sees the same labelled batches).

    Parameters
    ----------
    labelled_images, labelled_masks : array_like, (N_l, H, W[, 1])
    unlabelled_images : array_like, (N_u, H, W[, 1])
    steps : int
    student : keras.Model, optional
        Start from this model (for example one trained on the labelled images);
        default a fresh :func:`build_student`.
    consistency, decay, strength : float
        See :func:`MeanTeacher`.
    cutmix : bool
        See :func:`MeanTeacher`.
    confidence : float, optional
        See :func:`MeanTeacher`.
    teacher_batch_statistics : bool
        See :func:`MeanTeacher`.
    rampup_steps : int, optional
        Default: 40 % of ``steps``.

    Returns
    -------
    teacher : keras.Model
    history : keras.callbacks.History
        ``loss``, ``supervised``, ``consistency`` and ``weight`` per epoch.

    Notes
    -----
    What differs from Tarvainen and Valpola (2017): they trained from random
    weights with dropout and input noise on image classification (as
    :func:`label_efficiency` does here, for as many steps as the other
    methods, at a class-time budget); the perturbations are
    CutMix (:func:`cutmix`, as in French et al. 2020, who showed that
    segmentation needs such strong, varied perturbations), photometric
    changes (:func:`photometric_jitter`) and a flip that is undone on the
    output, so that the two predictions compare pixel by pixel; and, as in
    FixMatch (Sohn et al. 2020), only the student's view is strongly
    perturbed while the teacher sees the weakly augmented one. Segmentation
    needs the flip undone and the teacher's target mixed like the images
    (Perone and Cohen-Adad 2018 transform the consistency target the same way).
    """
    keras = _backend.keras()
    steps, batch_size, patch_size, learning_rate, seed = check_training_args(steps, batch_size, patch_size, learning_rate, seed)
    epochs = check_positive_int(epochs, "epochs")
    if steps % epochs:
        raise ValueError(f"steps ({steps}) should be a multiple of epochs ({epochs}).")
    xl = check_images(labelled_images, "labelled_images")
    yl = check_targets(labelled_masks, xl, "labelled_masks")
    xu = check_images(unlabelled_images, "unlabelled_images")
    if patch_size > min(xl.shape[1:3]) or patch_size > min(xu.shape[1:3]):
        raise ValueError(f"patch_size={patch_size} is larger than the images.")
    rampup_steps = int(0.4 * steps) if rampup_steps is None else check_positive_int(rampup_steps, "rampup_steps",
                                                                                    minimum=0)
    student = build_student(seed=seed) if student is None else check_student(student, "student")
    mt = MeanTeacher(student, consistency=consistency, rampup_steps=rampup_steps, decay=decay, strength=strength,
                     cutmix=cutmix, confidence=confidence, teacher_batch_statistics=teacher_batch_statistics,
                     seed=seed)
    labelled = training_batches(xl, yl, batch_size=batch_size, patch_size=patch_size, seed=seed)
    unlabelled = training_batches(xu, np.zeros(xu.shape[:3], np.uint8), batch_size=batch_size, patch_size=patch_size,
                          seed=seed + 7).map(_images_only)
    tf = _backend.tensorflow()

    data = tf.data.Dataset.zip((labelled, unlabelled))
    mt.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
               jit_compile=False)
    history = mt.fit(data, epochs=epochs, steps_per_epoch=steps // epochs, verbose=0,
                     callbacks=check_callbacks(callbacks))
    return mt.teacher, history


