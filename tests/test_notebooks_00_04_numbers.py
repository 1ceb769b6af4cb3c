"""Numbers and promises that the text of notebooks 00-04 states (issue 27).

Each test pins one claim a student reads: what an outline error of half a
pixel costs on the coins, which return types exercise 1.2 accepts, the
shapes exercise 3.6's check passes, the gradient of softmax cross-entropy,
that the NumPy softmax regression of notebook 03 and Keras's ``Dense`` with
``SGD`` take the same steps, and what the package's docstrings promise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segtutor.exercises import check, get_exercise

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def notebook_text(stem: str) -> str:
    nb = json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def flat(text: str) -> str:
    return " ".join(text.split())


# -- notebook 02: what half a pixel of outline error costs -------------------------------------------

@pytest.fixture(scope="module")
def coin_outlines():
    """The 24 ground-truth polygons (x, y) and a rasteriser on the coins' grid."""
    from pycocotools import mask as mask_utils

    from segtutor.datasets.coins import coins_annotation_path

    coco = json.loads(coins_annotation_path().read_text(encoding="utf-8"))
    height, width = coco["images"][0]["height"], coco["images"][0]["width"]
    polygons = [np.array(a["segmentation"][0], float).reshape(-1, 2) for a in coco["annotations"]]

    def raster(points):
        rle = mask_utils.merge(mask_utils.frPyObjects([points.ravel().tolist()], height, width))
        return mask_utils.decode(rle).astype(bool)

    return polygons, raster


def grown(points, amount):
    """Move every vertex ``amount`` px away from the centre (negative: towards it)."""
    centre = points.mean(axis=0)
    offset = points - centre
    return centre + offset * (1 + amount / np.linalg.norm(offset, axis=1, keepdims=True))


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def mean_iou_cost(coin_outlines, change):
    polygons, raster = coin_outlines
    return 1 - np.mean([iou(raster(p), raster(change(p))) for p in polygons])


def test_growing_or_shrinking_an_outline_by_half_a_pixel_costs_about_0_045(coin_outlines):
    assert len(coin_outlines[0]) == 24
    for amount in (0.5, -0.5):
        assert 0.040 < mean_iou_cost(coin_outlines, lambda p: grown(p, amount)) < 0.050
    for amount in (1.0, -1.0):
        assert 0.080 < mean_iou_cost(coin_outlines, lambda p: grown(p, amount)) < 0.095


def test_shifting_an_outline_by_half_a_pixel_costs_about_0_03(coin_outlines):
    for step in ([0.5, 0], [0, 0.5]):
        assert 0.025 < mean_iou_cost(coin_outlines, lambda p: p + step) < 0.035
    for step in ([1.0, 0], [0, 1.0]):
        assert 0.050 < mean_iou_cost(coin_outlines, lambda p: p + step) < 0.065
    # A shift keeps the area, a change of size does not: shifting is the cheaper error.
    assert mean_iou_cost(coin_outlines, lambda p: p + [0.5, 0]) < mean_iou_cost(coin_outlines, lambda p: grown(p, 0.5))


def test_the_foreground_iou_ceiling_is_0_96(coin_outlines):
    polygons, raster = coin_outlines
    truth = np.any([raster(p) for p in polygons], axis=0)
    for amount in (0.5, -0.5):
        off = np.any([raster(grown(p, amount)) for p in polygons], axis=0)
        assert round(float(iou(truth, off)), 2) == 0.96


def test_notebook_02_states_the_measured_costs_and_one_ceiling():
    text = flat(notebook_text("02_classical_segmentation"))
    assert "grown or shrunk** by 0.5 px all round lowers a coin's IoU by about 0.045" in text
    assert "shifted** sideways by 0.5 px costs less, about 0.03" in text
    assert "mean IoU above about 0.95" not in text          # the old, second ceiling
    assert text.count("0.96") >= 3


def test_marker_watershed_removes_objects_under_100_px_as_the_table_says():
    from segtutor import classical
    from segtutor.datasets import load_coins

    image = load_coins().image
    labels = classical.segment(image, "marker_watershed")
    assert np.bincount(labels.ravel())[1:].min() >= 100
    assert "objects < 100 px removed" in classical.METHODS["marker_watershed"][1]
    kept = classical.label_components(classical.clean_mask(classical.marker_watershed_mask(image), 0, True, 0))
    assert kept.max() > labels.max()        # without the removal, specks survive: the step does something


# -- notebook 01: exercise 1.2's return type ---------------------------------------------------------

def box_as_array(mask):
    rows, cols = np.nonzero(np.any(mask, axis=1))[0], np.nonzero(np.any(mask, axis=0))[0]
    if rows.size == 0:
        return np.zeros(4, dtype=int)
    return np.array([rows[0], cols[0], rows[-1] + 1, cols[-1] + 1])


@pytest.mark.parametrize("convert", [lambda b: b, tuple, list], ids=["int array", "tuple", "list"])
def test_exercise_1_2_accepts_what_its_text_promises(convert):
    result = check("bounding_box", lambda m: convert(box_as_array(m)), verbose=False, seed=0)
    assert result.passed, result.report


def test_exercise_1_2_rejects_a_box_with_the_wrong_number_of_values():
    assert not check("bounding_box", lambda m: box_as_array(m)[:3], verbose=False, seed=0).passed


def test_exercise_1_2_text_names_one_type():
    text = flat(notebook_text("01_images_as_arrays"))
    assert "Return it as a NumPy array of 4 integers" in text
    assert "return `np.zeros(4, dtype=int)`" in text
    assert "a tuple or list of four integers passes too" in text


# -- notebook 03: the shapes of exercise 3.6 and the gradient of softmax cross-entropy -----------------

def test_exercise_3_6_check_passes_the_shapes_the_text_names():
    w, x, y, rate = get_exercise("gradient_step").fixed[0].args
    assert w.shape == (1,) and x.shape == (3, 1) and y.shape == (3,) and rate == 0.05
    text = flat(notebook_text("03_convolution_basics"))
    assert "the check always passes `w` as an array of shape (D,) and `x` as (N, D), even when D = 1" in text


def test_softmax_cross_entropy_gradient_is_p_minus_one_hot():
    from segtutor import learning

    rng = np.random.default_rng(0)
    z, label, h = rng.normal(size=5), 3, 1e-6

    def loss(scores):
        return -np.log(learning.softmax(scores)[label])

    numeric = np.array([(loss(z + h * e) - loss(z - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(numeric, learning.softmax(z) - np.eye(5)[label], atol=1e-6)


def test_numpy_softmax_regression_and_keras_sgd_take_the_same_steps():
    """Notebook 03, 7.7-7.8: zero weights, full batch, the same rate: the same weights."""
    import keras

    from segtutor import learning
    from segtutor.datasets import load_digits

    images, labels = load_digits("train", n=64)
    x = images.reshape(len(images), -1).astype(np.float64)
    w, b = np.zeros((784, 10)), np.zeros(10)
    one_hot = np.eye(10)[labels]
    for _ in range(5):
        g = (learning.softmax(x @ w + b) - one_hot) / len(x)
        w -= 0.5 * x.T @ g
        b -= 0.5 * g.sum(axis=0)

    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras.layers.Dense(10, kernel_initializer="zeros")(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, labels, batch_size=len(x), epochs=5, shuffle=False, verbose=0)
    w_keras, b_keras = model.layers[-1].get_weights()
    assert np.abs(w).max() > 1e-3                     # the loop really moved the weights
    np.testing.assert_allclose(w_keras, w, atol=1e-4)
    np.testing.assert_allclose(b_keras, b, atol=1e-4)


def test_notebook_03_counts_match_the_data():
    from segtutor.datasets import load_digits
    from segtutor.models import cnn

    x, y = load_digits("train")
    (x_fit, _), (x_val, _) = cnn.split_validation(x, y, 0.1)
    n_test = len(load_digits("test")[0])
    assert (len(x), len(x_fit), len(x_val), n_test) == (1438, 1294, 144, 359)
    assert -(-len(x_fit) // 32) == 41
    text = flat(notebook_text("03_convolution_basics"))
    for claim in ("1,438 training and 359 test images", "1,294 images", "an epoch is 41 steps"):
        assert claim in text
    assert "about 1,300" not in text and "about 1,400" not in text


# -- notebook 04: match_kernels' presets ---------------------------------------------------------------

def test_match_kernels_docstring_names_every_3x3_preset():
    from segtutor import interpret
    from segtutor.convolution import KERNEL_PRESETS

    three_by_three = [n for n, v in KERNEL_PRESETS.items() if np.shape(v) == (3, 3)]
    doc = flat(interpret.match_kernels.__doc__)
    for name in three_by_three:
        short = name.split(" (")[0]
        assert short in doc, short
    # The box blur is flat once its mean is removed: it never matches (itself included), so six can win.
    winners = {interpret.match_kernels(np.array(v, float)[..., None])[0][0]
               for n, v in KERNEL_PRESETS.items() if np.shape(v) == (3, 3)}
    assert len(three_by_three) == 7
    assert winners == set(three_by_three) - {"box blur 3×3"} | {"flat"}
