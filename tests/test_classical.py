"""Tests for segtutor.classical: synthetic cases with known answers, then coins."""

import numpy as np
import pytest
from skimage.data import coins as skimage_coins
from skimage.filters import threshold_otsu

from segtutor import classical


def _disks(centres, radius, shape=(60, 100)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, bool)
    for cy, cx in centres:
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
    return mask


def _brute_force_otsu(image):
    """Otsu (1979) from its definition: maximise the between-class variance over every cut."""
    values = image.ravel().astype(float)
    best, best_t = -1.0, None
    for t in range(255):
        low, high = values[values <= t], values[values > t]
        if low.size == 0 or high.size == 0:
            continue
        w0, w1 = low.size / values.size, high.size / values.size
        between = w0 * w1 * (low.mean() - high.mean()) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def test_otsu_matches_definition_and_skimage():
    image = skimage_coins()
    t = classical.otsu_threshold(image)
    assert t == threshold_otsu(image)
    # Same partition of the pixels as the brute-force definition.
    assert (image > t).sum() == (image > _brute_force_otsu(image)).sum()


def test_otsu_on_bimodal_image_and_constant_image():
    rng = np.random.default_rng(0)
    image = np.concatenate([rng.normal(60, 5, 500), rng.normal(180, 5, 500)]).clip(0, 255).astype(np.uint8).reshape(20, 50)
    t = classical.otsu_threshold(image)
    # Any cut in the empty gap between the modes is optimal; all give the same partition.
    np.testing.assert_array_equal(image > t, image > 120)
    with pytest.raises(ValueError, match="single value"):
        classical.otsu_threshold(np.full((4, 4), 7, np.uint8))


def test_threshold_mask_rejects_rgb_with_advice():
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        classical.threshold_mask(np.zeros((4, 4, 3)), 0.5)


def test_local_threshold_follows_a_ramp():
    # A bright square on a strong left-to-right ramp: no global threshold isolates it.
    ramp = np.tile(np.linspace(0, 200, 120), (80, 1))
    image = ramp.copy()
    image[30:50, 90:110] += 40
    image[30:50, 10:30] += 40
    mask = classical.local_threshold_mask(image, block_size=61, offset=-20)
    assert mask[40, 20] and mask[40, 100]
    assert not mask[5, 100] and not mask[70, 20]
    assert not (image > classical.otsu_threshold(image))[40, 20]  # the global cut misses the dark square
    with pytest.raises(ValueError, match="odd"):
        classical.local_threshold_mask(image, block_size=60)


def test_clean_mask_steps():
    mask = np.zeros((40, 40), bool)
    mask[5:25, 5:25] = True
    mask[12:16, 12:16] = False  # a hole
    mask[35, 35] = True  # a speck
    mask[30:33, 2:5] = True  # a 9-pixel object
    out = classical.clean_mask(mask, opening_radius=0, fill_holes=True, min_size=10)
    assert out[14, 14] and not out[35, 35] and not out[31, 3]
    assert out.sum() == 400
    kept = classical.clean_mask(mask, opening_radius=0, fill_holes=False, min_size=9)
    assert kept[31, 3] and not kept[14, 14]
    opened = classical.clean_mask(mask, opening_radius=1, fill_holes=False, min_size=0)
    assert not opened[35, 35] and opened[20, 20]


def test_label_components_connectivity():
    diagonal = np.eye(3, dtype=bool)
    assert classical.label_components(diagonal, connectivity=1).max() == 3
    assert classical.label_components(diagonal, connectivity=2).max() == 1
    with pytest.raises(ValueError, match="connectivity"):
        classical.label_components(diagonal, connectivity=3)


def test_watershed_splits_touching_disks_and_under_splits_when_told():
    mask = _disks([(30, 30), (30, 58)], 16)
    assert classical.label_components(mask).max() == 1
    split = classical.watershed_split(mask, min_distance=10)
    assert split.max() == 2
    assert split[30, 30] != split[30, 58]
    assert (split > 0).sum() == mask.sum()
    # Seeds farther apart than the disks' centres: the two coins share one seed.
    assert classical.watershed_split(mask, min_distance=40).max() == 1


def test_superpixel_foreground_uses_region_means():
    image = np.array([[0, 200, 100, 100]], np.uint8)
    superpixels = np.array([[1, 1, 2, 2]])
    np.testing.assert_array_equal(classical.superpixel_foreground(image, superpixels, threshold=99),
                                  [[True, True, True, True]])
    np.testing.assert_array_equal(classical.superpixel_foreground(image, superpixels, threshold=100.5),
                                  [[False, False, False, False]])
    with pytest.raises(ValueError, match="same shape"):
        classical.superpixel_foreground(image, superpixels[:, :2])


def test_superpixels_shapes_and_counts():
    image = skimage_coins()[:100, :100]
    slic = classical.slic_superpixels(image, n_segments=50)
    fz = classical.felzenszwalb_superpixels(image, scale=100)
    assert slic.shape == fz.shape == image.shape
    assert slic.min() == 1 and fz.min() == 1
    assert 10 < len(np.unique(slic)) < 100


def test_kmeans_orders_clusters_by_brightness_and_repeats():
    rng = np.random.default_rng(1)
    image = rng.choice(np.array([20, 120, 230], np.uint8), size=(30, 30))
    clusters = classical.kmeans_clusters(image, 3, seed=5)
    np.testing.assert_array_equal(clusters, np.searchsorted([20, 120, 230], image))
    np.testing.assert_array_equal(clusters, classical.kmeans_clusters(image, 3, seed=6))
    with pytest.raises(ValueError, match="distinct values"):
        classical.kmeans_clusters(np.zeros((4, 4), np.uint8), 2)


def test_two_means_stop_at_the_isodata_threshold_and_agree_with_otsu_on_coins():
    # Lloyd's 2-means on intensities stops where the boundary is halfway between the
    # cluster means: Ridler & Calvard's ISODATA condition. On coins that is also Otsu's cut.
    from skimage.filters import threshold_isodata

    image = skimage_coins()
    two = classical.kmeans_clusters(image, 2, seed=0)
    midpoint = (image[two == 0].mean() + image[two == 1].mean()) / 2
    assert abs(midpoint - threshold_isodata(image)) < 1.0
    assert image[two == 1].min() > midpoint - 1 and image[two == 0].max() < midpoint + 1
    otsu = image > classical.otsu_threshold(image)
    assert np.mean((two == 1) == otsu) > 0.99


def test_segment_errors_name_the_options():
    image = skimage_coins()
    with pytest.raises(ValueError, match="should be one of"):
        classical.segment(image, "deep_learning")
    with pytest.raises(ValueError, match="accepts"):
        classical.segment(image, "otsu", threshold=3)


def test_instance_overlay_colours_only_contours():
    image = np.full((20, 20), 0.5)
    labels = np.zeros((20, 20), int)
    labels[5:15, 5:15] = 1
    out = classical.instance_overlay(image, labels, thickness=1)
    assert out.dtype == np.uint8 and out.shape == (20, 20, 3)
    assert tuple(out[5, 10]) == tuple(classical._PALETTE[0])
    assert tuple(out[10, 10]) == (128, 128, 128)  # the inside is untouched
    assert tuple(out[0, 0]) == (128, 128, 128)


@pytest.fixture(scope="module")
def coins():
    from segtutor.datasets import load_coins

    return load_coins()


@pytest.fixture(scope="module")
def table(coins):
    return classical.score_methods(coins.image, coins.labels)


def test_every_method_returns_instance_labels(coins):
    for name in classical.METHODS:
        labels = classical.segment(coins.image, name)
        assert labels.shape == coins.image.shape and labels.dtype == np.int32
        assert labels.min() == 0 and labels.max() >= 1


def test_score_table_values(coins, table):
    assert [row["method"] for row in table] == list(classical.METHODS)
    truth = coins.labels > 0
    for row in table:
        for key in ("iou", "dice", "f1@0.5", "mean_score"):
            assert 0.0 <= row[key] <= 1.0
        # Dice = 2 IoU / (1 + IoU) for the same pair of masks.
        assert row["dice"] == pytest.approx(2 * row["iou"] / (1 + row["iou"]))
    # Recompute one row by hand: the foreground IoU of Otsu + clean-up.
    pred = classical.segment(coins.image, "otsu_clean") > 0
    by_hand = (pred & truth).sum() / (pred | truth).sum()
    row = next(r for r in table if r["method"] == "otsu_clean")
    assert row["iou"] == pytest.approx(by_hand)
    assert row["objects"] == classical.segment(coins.image, "otsu_clean").max()


def test_cleanup_is_what_makes_thresholds_count_coins(coins, table):
    rows = {r["method"]: r for r in table}
    assert rows["otsu"]["objects"] > 2 * coins.labels.max()  # raw thresholds shatter the coins
    assert rows["otsu_clean"]["f1@0.5"] > rows["otsu"]["f1@0.5"] + 0.3
    assert rows["otsu_clean"]["f1@0.5"] > 0.8


def test_gradient_markers_and_their_errors():
    image = np.array([[10, 100, 200]], np.uint8)
    np.testing.assert_array_equal(classical.gradient_markers(image, 30, 150), [[1, 0, 2]])
    with pytest.raises(ValueError, match="low should be below high"):
        classical.gradient_markers(image, 150, 30)
    with pytest.raises(ValueError, match="no object marker"):
        classical.gradient_markers(image, 30, 250)


def test_marker_watershed_follows_the_edge_not_a_threshold():
    # A bright disk with a soft rim on a dark background: the flood from the two markers
    # meets on the gradient ridge, the middle of the rim, whatever the markers' thresholds.
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(yy - 32, xx - 32)
    image = (20 + 180 / (1 + np.exp(r - 15))).astype(np.uint8)   # rim centred at radius 15
    truth = r < 15
    for low, high in ((30, 150), (50, 190)):
        mask = classical.marker_watershed_mask(image, low, high)
        assert (mask ^ truth).sum() < 0.05 * truth.sum()


def test_canny_fill_fills_closed_outlines_only():
    closed = np.zeros((40, 80), np.uint8)
    closed[10:30, 10:30] = 200
    assert classical.canny_fill_mask(closed)[20, 20]      # closed outline: the inside is filled
    ring = np.zeros((40, 80), np.uint8)
    ring[10:30, 50:70] = 200
    ring[18:22, 69:80] = 200                              # the square opens to the border
    open_square = classical.canny_fill_mask(ring)
    assert not open_square[20, 60]                        # an outline with a gap stays empty


def test_marker_watershed_and_canny_scores_on_coins(coins, table):
    rows = {r["method"]: r for r in table}
    # The marker watershed on the Sobel gradient finds every coin with precise outlines:
    # the best row of the table (the notebook's conclusion rests on these numbers).
    ws = rows["marker_watershed"]
    assert ws["objects"] == 24 and ws["f1@0.5"] == 1.0
    assert ws["mean_score"] > 0.95 and ws["iou"] > 0.95
    assert ws["mean_score"] == max(r["mean_score"] for r in table)
    # Canny + fill finds nearly all coins, but less precisely.
    canny = rows["canny_fill"]
    assert canny["f1@0.5"] > 0.9 and 0.8 < canny["mean_score"] < ws["mean_score"]
    # Connected components after clean-up is no longer the best instance method.
    assert rows["otsu_clean"]["mean_score"] < ws["mean_score"] - 0.1


def test_format_table(table):
    text = classical.format_table(table)
    lines = text.splitlines()
    assert lines[0].split() == ["method", "objects", "iou", "dice", "f1@0.5", "mean_score"]
    assert len(lines) == len(table) + 2
    assert f"{table[0]['iou']:.3f}" in lines[2]
    with pytest.raises(ValueError, match="empty"):
        classical.format_table([])
