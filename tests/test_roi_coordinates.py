"""Notebooks 09 and 10: the coordinates figure and RoIPool as the text describes it."""

import numpy as np
import pytest

from segtutor.maskrcnn.coordinates import bin_sample_coordinates, coordinates_figure

tf = pytest.importorskip("tensorflow")

from segtutor.maskrcnn.roi_align import crop_at_bin_centres, roi_pool_single  # noqa: E402


def test_coordinates_of_the_notebook_box():
    c = bin_sample_coordinates(0.0, 20.0, n_bins=4, stride=8, n_cells=4)
    np.testing.assert_allclose(c["pixel"], [2.5, 7.5, 12.5, 17.5])
    np.testing.assert_allclose(c["index"], np.array([2.5, 7.5, 12.5, 17.5]) / 8 - 0.5)
    np.testing.assert_allclose(c["padded"], c["index"] + 1)
    assert c["rule"].tolist() == ["clamped", "inside", "inside", "inside"]
    np.testing.assert_allclose(c["read"], [0.0, 0.4375, 1.0625, 1.6875])


@pytest.mark.parametrize("box", [(0.0, 20.0), (-20.0, 12.0), (3.0, 31.0), (10.0, 50.0), (-30.0, 70.0)])
@pytest.mark.parametrize("n_bins", [1, 4, 7])
def test_coordinates_agree_with_the_model_crop(box, n_bins):
    """The index each sample reads, by the figure's rule, is what crop_at_bin_centres reads on a ramp."""
    stride, n = 8, 4
    c = bin_sample_coordinates(*box, n_bins=n_bins, stride=stride, n_cells=n)
    # value = row index + 1, so a sample that reads 0 is told apart from one clamped onto row 0
    ramp = np.tile((np.arange(n, dtype="float32") + 1)[:, None], (1, 3))[None, :, :, None]
    cells = np.array([[box[0] / stride, 0.0, box[1] / stride, 3.0]], "float32")
    crop = crop_at_bin_centres(ramp, cells, tf.constant([0]), n_bins).numpy()[0, :, 0, 0]
    expected = np.where(c["rule"] == "zero", 0.0, c["read"] + 1)
    np.testing.assert_allclose(crop, expected, atol=1e-5)
    assert set(c["rule"]) <= {"inside", "clamped", "zero"}


def test_coordinates_check_their_arguments():
    with pytest.raises(ValueError, match="y2 > y1"):
        bin_sample_coordinates(5.0, 5.0, n_bins=2, stride=8, n_cells=4)
    with pytest.raises(ValueError, match="n_bins"):
        bin_sample_coordinates(0.0, 5.0, n_bins=0, stride=8, n_cells=4)
    with pytest.raises(ValueError, match="stride"):
        bin_sample_coordinates(0.0, 5.0, n_bins=2, stride=0, n_cells=4)
    with pytest.raises(ValueError, match="n_cells"):
        coordinates_figure(0.0, 5.0, n_bins=2, stride=8, n_cells=100)


def test_coordinates_figure_draws_the_samples():
    fig = coordinates_figure(0.0, 20.0, n_bins=4, stride=8, n_cells=4)
    ax = fig.axes[0]
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 3  # one row of samples per coordinate system
    for line in crosses:
        np.testing.assert_allclose(line.get_xdata(), [2.5, 7.5, 12.5, 17.5])
    assert ax.get_xlabel() == "image pixels"


def _roi_pool_as_described(feature, box, output_size, sampling_ratio):
    """Notebook 10's words, literally: round the box to whole cells, split it into bins, read the cell that
    contains each of sampling_ratio**2 sub-bin centres, keep each bin's maximum."""
    h, w = feature.shape[:2]
    y1, x1, y2, x2 = np.round(box)
    y2, x2 = max(y2, y1 + 1), max(x2, x1 + 1)
    m = output_size * sampling_ratio
    ys = y1 + (np.arange(m) + 0.5) * (y2 - y1) / m
    xs = x1 + (np.arange(m) + 0.5) * (x2 - x1) / m
    rows = np.clip(np.floor(ys).astype(int), 0, h - 1)
    cols = np.clip(np.floor(xs).astype(int), 0, w - 1)
    samples = feature[rows][:, cols]                      # (m, m, C)
    # The one quirk notebook 10 states: a sample beyond the outer cell centres (index < 0 or > size - 1, the outer
    # half of a border cell or outside the map) reads crop_and_resize's extrapolation value, 0.
    outside = ((ys - 0.5 < 0) | (ys - 0.5 > h - 1))[:, None] | ((xs - 0.5 < 0) | (xs - 0.5 > w - 1))[None, :]
    samples = np.where(outside[..., None], 0.0, samples)
    r = sampling_ratio
    return samples.reshape(output_size, r, output_size, r, -1).max(axis=(1, 3))


# Odd rounded heights and widths: no sub-bin centre lands exactly on a cell edge, where "the cell that contains
# it" would depend on how a tie is broken.
BOXES = np.array([[1.3, 2.7, 8.4, 9.9], [0.2, 0.4, 2.6, 5.4], [4.6, 1.4, 10.4, 6.2]], "float32")


@pytest.mark.parametrize("sampling_ratio", [1, 2])
def test_roi_pool_is_what_notebook_10_says(sampling_ratio):
    rng = np.random.default_rng(0)
    feature = rng.normal(size=(1, 12, 12, 3)).astype("float32")
    got = roi_pool_single(feature, BOXES, tf.zeros(len(BOXES), tf.int32), 7, sampling_ratio).numpy()
    for box, crop in zip(BOXES, got):
        np.testing.assert_allclose(crop, _roi_pool_as_described(feature[0], box, 7, sampling_ratio), atol=1e-6)


def test_roi_pool_rounds_the_box_and_roi_align_does_not():
    """A shift of the box by less than half a cell leaves RoIPool unchanged (the rounding of notebooks 09 and 10:
    each edge moves by up to half a cell, stride / 2 pixels) but changes RoIAlign's crop."""
    rng = np.random.default_rng(1)
    feature = rng.normal(size=(1, 12, 12, 2)).astype("float32")
    box = np.array([[2.0, 3.0, 7.0, 9.0]], "float32")
    shifted = box + 0.45
    index = tf.zeros(1, tf.int32)
    np.testing.assert_array_equal(roi_pool_single(feature, box, index, 7, 2).numpy(),
                                  roi_pool_single(feature, shifted, index, 7, 2).numpy())
    assert not np.allclose(crop_at_bin_centres(feature, box, index, 7).numpy(),
                           crop_at_bin_centres(feature, shifted, index, 7).numpy())
    # past half a cell the rounding jumps a whole cell
    moved = roi_pool_single(feature, box + 0.55, index, 7, 2).numpy()
    assert not np.allclose(moved, roi_pool_single(feature, box, index, 7, 2).numpy())


def test_coordinates_figure_passes_the_figure_audit():
    from segtutor._figure_audit import figure_problems

    fig = coordinates_figure(3.0, 29.0, n_bins=7, stride=4, n_cells=8)
    fig.canvas.draw()
    assert figure_problems(fig) == []
