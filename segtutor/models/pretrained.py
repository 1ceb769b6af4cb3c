"""The course's trained segmentation models: load them, and segment a new image in one call.

The weights in ``segtutor/models/weights/`` were trained only on images from
:func:`segtutor.datasets.make_nuclei` (``vary=True``), by
``segtutor weights nuclei``; ``weights/README.md`` is their
data card. Each weights file has a JSON file beside it with the
architecture's arguments and how the images were normalised, so loading
never guesses.

Segment your own 2-D fluorescence image of nuclei::

    from segtutor.models.pretrained import segment_nuclei
    labels = segment_nuclei(image)                   # (H, W) int32, one label per nucleus
    mask = segment_nuclei(image, instances=False)    # (H, W) bool

The image may have any size and dtype (uint8, uint16, float); it is
normalised by its own 1st and 99th percentiles, as in training, and padded
to a multiple of the network's stride. Nuclei may have any size: the image
is rescaled to the models' scale from a given ``diameter=`` or from a size
estimate (:mod:`segtutor.models.scale`).
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

from .._validate import (
    as_array,
    check_bool,
    check_choice,
    check_finite,
    check_in_range,
    check_model,
    check_positive_int,
    describe,
)

__all__ = [
    "MODELS",
    "load_model",
    "model_card",
    "normalise_percentile",
    "pad_to_multiple",
    "predict_probability",
    "segment_nuclei",
    "segment_at_scale",
]

#: Trained models shipped with the course.
MODELS = ("unet", "deeplab")

_MAX_SIDE = 8192  # beyond this a laptop runs out of memory; tile the image instead


def normalise_percentile(image, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Scale an image so its ``low`` and ``high`` percentiles become 0 and 1.

    Microscopes differ in gain, exposure and bit depth; percentiles make two
    images of the same sample comparable, and a few saturated pixels cannot
    squash the rest (as dividing by the maximum would). The 99th percentile,
    not the 99.8th, because bright condensed (mitotic) nuclei can fill the top
    0.5 % of a real image and would push ordinary nuclei down to a quarter of
    the range. Values are clipped to [-0.5, 2] to bound what the network sees.

    Examples
    --------
    >>> x = np.arange(1000, dtype=np.uint16).reshape(25, 40)
    >>> y = normalise_percentile(x)
    >>> y.dtype, round(float(np.percentile(y, 1)), 6), round(float(np.percentile(y, 99)), 6)
    (dtype('float32'), 0.0, 1.0)
    """
    x = as_array(image, "image")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise TypeError(f"image should hold real numbers, got dtype {x.dtype}.")
    x = x.astype(np.float32)
    if x.size == 0:
        raise ValueError("image is empty.")
    if not np.isfinite(x).all():
        raise ValueError(
            "image contains NaN or infinite values; replace them first, for example np.nan_to_num(image)."
        )
    low = check_in_range(low, "low", 0.0, 100.0)
    high = check_in_range(high, "high", 0.0, 100.0)
    if low >= high:
        raise ValueError(f"low ({low}) should be below high ({high}).")
    lo, hi = np.percentile(x, [low, high])
    return np.clip((x - lo) / max(hi - lo, 1e-6), -0.5, 2.0).astype(np.float32)


def pad_to_multiple(image, multiple: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Pad an (H, W, ...) image at the bottom and right, by reflection, to a multiple of ``multiple``.

    Returns
    -------
    padded : ndarray
    crop : tuple of slice
        ``prediction[crop]`` cuts a prediction on ``padded`` back to (H, W).

    Examples
    --------
    >>> padded, crop = pad_to_multiple(np.zeros((30, 17)), 16)
    >>> padded.shape, padded[crop].shape
    ((32, 32), (30, 17))
    """
    x = check_finite(as_array(image, "image"), "image")
    multiple = check_positive_int(multiple, "multiple")
    if multiple > 4096:
        raise ValueError(f"multiple should be at most 4096, got {multiple:,}; models downsample by 8-64.")
    if x.ndim < 2:
        raise ValueError(f"image should be at least 2-D (H, W), got shape {x.shape}.")
    h, w = x.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (x.ndim - 2)
    mode = "reflect" if ph < h and pw < w else "symmetric"
    return np.pad(x, pad, mode=mode), (slice(0, h), slice(0, w))


def _weights_dir():
    return resources.files("segtutor.models") / "weights"


def model_card(name: str = "unet") -> dict:
    """The JSON card of a shipped model: architecture arguments, normalisation, training record."""
    name = check_choice(name, "name", MODELS)
    card = _weights_dir() / f"{name}_nuclei.json"
    if not card.is_file():
        raise FileNotFoundError(
            f"the trained {name} is missing from the package ({card}); reinstall segtutor, or make it with "
            "`segtutor weights nuclei`."
        )
    return json.loads(card.read_text())


def load_model(name: str = "unet"):
    """Build a shipped model and load its trained weights.

    Parameters
    ----------
    name : {"unet", "deeplab"}

    Returns
    -------
    keras.Model
        Accepts (N, H, W, 1) images normalised with :func:`normalise_percentile`.
    """
    from . import deeplab, unet

    card = model_card(name)
    build = unet.build_unet if name == "unet" else deeplab.build_deeplab
    model = build((None, None, 1), **card["architecture"])
    with resources.as_file(_weights_dir() / f"{name}_nuclei.weights.h5") as path:
        try:
            model.load_weights(path)
        except (ValueError, OSError) as exc:
            raise ValueError(
                f"the weights file {path.name} does not match the {name} architecture in its card ({exc}). "
                "Make both again with `segtutor weights nuclei`."
            ) from exc
    return model


def predict_probability(model, image, *, stride: int | None = None, test_time_augmentation: bool = True) -> np.ndarray:
    """Foreground probability of every pixel of one 2-D image.

    Parameters
    ----------
    model : keras.Model
        A one-class (sigmoid) segmentation model such as :func:`load_model` returns.
    image : array_like, shape (H, W)
        Raw intensities, any dtype; normalised here.
    stride : int, optional
        Total downsampling of the model (default: 16, enough for the course's
        U-Net of depth 4 and DeepLabv3+ at output stride 16).
    test_time_augmentation : bool
        Average the predictions on the 8 flips and quarter turns of the image
        (each mapped back): 8 times the compute for a steadier map, since the
        network was trained on all 8 orientations.

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    check_model(model)
    x = check_finite(as_array(image, "image"), "image")
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 2:
        raise ValueError(
            f"image should be one 2-D grayscale image (H, W), got shape {x.shape}. For RGB, pick the nuclear "
            "channel (image[..., 2] for a blue DAPI stain); for a stack, call this once per plane."
        )
    if max(x.shape) > _MAX_SIDE:
        raise ValueError(f"image is {x.shape[0]}x{x.shape[1]}; split images larger than {_MAX_SIDE} px into tiles.")
    if min(x.shape) < 8:
        raise ValueError(f"image is only {x.shape[0]}x{x.shape[1]} pixels; nuclei need at least 8x8.")
    stride = 16 if stride is None else check_positive_int(stride, "stride")
    if stride > 1024:
        raise ValueError(f"stride should be at most 1024, got {stride:,}; the course's models downsample by 16.")
    if stride & (stride - 1):  # the models halve the image at every stage, so only powers of two line up
        raise ValueError(f"stride should be a power of two (the model's total downsampling, 16 for the course's "
                         f"models), got {stride}.")
    augment = check_bool(test_time_augmentation, "test_time_augmentation")
    padded, crop = pad_to_multiple(normalise_percentile(x), stride)
    views = [(k, flip) for k in range(4) for flip in (False, True)] if augment else [(0, False)]
    batch = [np.rot90(np.fliplr(padded) if flip else padded, k) for k, flip in views]
    # One view at a time: the same numbers as one batch of eight (inference mode normalises each image alone) for
    # an eighth of the activations' memory (a 662-pixel view through the DeepLabv3+: 1.3 GB peak instead of 4.3 GB),
    # and quarter turns of a non-square image change its shape anyway.
    outputs = [np.asarray(model(v[None, ..., None], training=False))[0, ..., 0] for v in batch]
    back = [np.rot90(out, -k) for out, (k, _) in zip(outputs, views)]
    back = [np.fliplr(b) if flip else b for b, (_, flip) in zip(back, views)]
    return np.mean(back, axis=0)[crop].astype(np.float32)


def segment_nuclei(image, *, model="deeplab", diameter=None, threshold: float = 0.5, instances: bool = True,
                   return_diameter: bool = False):
    """Segment the nuclei of a 2-D fluorescence image with a course model, in one call, at any nucleus size.

    The models were trained on nuclei of about 20 pixels across
    (:data:`segtutor.models.scale.TRAINED_DIAMETER`); much larger nuclei get
    split into pieces, much smaller ones merged. So the image is first
    rescaled so that its nuclei come out at that size, segmented there,
    and the labels are mapped back to the image's own size by nearest
    neighbour (ids kept). The instance split (watershed seeds, ``h``,
    smoothing, the smallest object) then works at the scale it was tuned
    at, so it follows the nucleus size too.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A DNA-stained (DAPI, Hoechst) widefield image, any size and dtype.
    model : {"deeplab", "unet"} or keras.Model
        A shipped model's name, or a one-class model you trained (taken to
        know the same scale as the shipped ones). The DeepLabv3+ is the
        default because it scored higher on a real expert-labelled image
        (instance F1 0.930 and Dice 0.929, the U-Net 0.882 and 0.919;
        ``weights/README.md``).
        The nuclei Mask R-CNN has the same call with the same size handling:
        :func:`segtutor.maskrcnn.nuclei.segment_nuclei`.
    diameter : float, optional
        Typical nucleus diameter in pixels (the equivalent-disc diameter
        :math:`2\\sqrt{A/\\pi}`, as in Cellpose). None (default): estimated
        from the image with :func:`segtutor.models.scale.estimate_diameter`;
        if nothing stands out of the background (a flat image), the image is
        segmented unscaled and the models' own diameter is reported.
        Outside 8-80 px a :class:`~segtutor.models.scale.NucleusSizeWarning`
        is issued once, since the size handling was not checked there.
    threshold : float
        Probability above which a pixel is nucleus (U-Net and DeepLabv3+).
    instances : bool
        True: split touching nuclei (:func:`segtutor.instances.split_instances`)
        and return labels; False: return the boolean mask.
    return_diameter : bool
        Also return the diameter used (given or estimated), in pixels.

    Returns
    -------
    labels_or_mask : ndarray
        (H, W) int32 labels 0..K, or (H, W) bool.
    diameter : float
        Only with ``return_diameter=True``.

    Raises
    ------
    TypeError
        If ``diameter`` is not a number (or None).
    ValueError
        If ``diameter`` is not between 2 and 2,000 pixels, or the image is
        not one 2-D image.

    Examples
    --------
    >>> from segtutor.datasets import make_nuclei
    >>> data = make_nuclei(1, size=192, mean_radius=24, density=1.5, seed=4)
    >>> labels, d = segment_nuclei(data.images[0], return_diameter=True)   # doctest: +SKIP
    >>> labels.shape, 35 < d < 60                                           # doctest: +SKIP
    ((192, 192), True)
    """
    from ..instances import split_instances
    from . import scale

    threshold = check_in_range(threshold, "threshold", 1e-6, 1 - 1e-6)
    instances = check_bool(instances, "instances")
    if isinstance(model, str):
        if model == "maskrcnn":
            raise ValueError("the nuclei Mask R-CNN has its own call with the same size handling: "
                             "segtutor.maskrcnn.nuclei.segment_nuclei(image).")
        model = check_choice(model, "model", MODELS)
    else:
        check_model(model)
    known = model if isinstance(model, str) else "deeplab"

    def segment(small):
        net = load_model(model) if isinstance(model, str) else model
        prob = predict_probability(net, small)
        return split_instances(prob, threshold) if instances else prob > threshold

    return segment_at_scale(image, segment, trained_diameter=scale.TRAINED_DIAMETER[known], diameter=diameter,
                            return_diameter=return_diameter)


def segment_at_scale(image, segment, *, trained_diameter: float, diameter=None, return_diameter: bool = False):
    """Run ``segment`` on ``image`` rescaled so that its nuclei are ``trained_diameter`` pixels across.

    The size handling behind :func:`segment_nuclei`, for any segmenter: the
    nucleus diameter is taken from ``diameter`` or estimated
    (:func:`segtutor.models.scale.estimate_diameter`), a diameter outside
    the checked range warns once, the image is rescaled by
    ``trained_diameter / diameter``, segmented, and the result mapped back to
    the image's size by nearest neighbour (instance ids kept, renumbered
    1..K when a nucleus shrank below a pixel).

    Parameters
    ----------
    image : array_like, shape (H, W)
        One gray image.
    segment : callable
        ``segment(small)`` takes the rescaled (h, w) float image and returns
        (h, w) int labels or a bool mask.
    trained_diameter : float
        The nucleus diameter, in pixels, at which ``segment`` works best.
    diameter : float, optional
        The image's nucleus diameter in pixels; None estimates it.
    return_diameter : bool
        Also return the diameter used.

    Returns
    -------
    labels_or_mask : ndarray, shape (H, W)
        What ``segment`` returned, at the image's size.
    diameter : float
        Only with ``return_diameter=True``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((64, 64)); image[20:40, 20:40] = 1
    >>> mask = segment_at_scale(image, lambda small: small > 0.5, trained_diameter=11.0, diameter=22.0)
    >>> mask.shape, int(mask.sum())
    ((64, 64), 400)
    """
    from . import scale

    if not callable(segment):
        raise TypeError(f"segment should be a function of the rescaled image, got {describe(segment)}.")
    trained_diameter = check_in_range(trained_diameter, "trained_diameter", 1.0, 2000.0)
    return_diameter = check_bool(return_diameter, "return_diameter")
    x = scale.as_gray_image(image)
    if diameter is None:
        diameter = scale.estimate_diameter(x)
        estimated = True
        if not np.isfinite(diameter):
            # Nothing stands out of the background: segment as is, the size does not matter.
            diameter = trained_diameter
    else:
        diameter = scale.check_diameter(diameter)
        estimated = False
    scale.warn_if_unusual(diameter, estimated=estimated)
    factor = trained_diameter / diameter
    small = scale.rescale_image(x, factor)
    if min(small.shape) < 8:
        small = scale.rescale_image(x, 8 / min(x.shape))
    result = np.asarray(segment(small))
    if result.shape != x.shape:
        result = scale.resize_labels(result, x.shape)
        if result.dtype != bool:
            from skimage.segmentation import relabel_sequential

            result = relabel_sequential(result)[0].astype(np.int32)  # a nucleus shrunk below a pixel leaves a gap
    return (result, float(diameter)) if return_diameter else result
