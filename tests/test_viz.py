"""segtutor.viz: arrays checked pixel by pixel, figures checked by their parts."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segtutor import viz  # noqa: E402
from segtutor.widgets._base import figure_to_rgb  # noqa: E402

GRAY = np.linspace(0, 1, 6 * 8).reshape(6, 8)


# -- conversions and colours ------------------------------------------------

@pytest.mark.parametrize(
    "image, expected_pixel",
    [
        (np.full((4, 5), 51, np.uint8), 0.2),                     # uint8 / 255
        (np.full((4, 5, 1), 0.3), 0.3),                           # (H, W, 1) float kept
        (np.full((4, 5, 3), 255, np.uint8), 1.0),                 # RGB uint8
        (np.ones((4, 5), bool), 1.0),
    ],
)
def test_as_rgb_accepts_the_usual_images(image, expected_pixel):
    out = viz.as_rgb(image)
    assert out.shape == (4, 5, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out[2, 3], [expected_pixel] * 3)


def test_as_rgb_stretches_images_outside_unit_range():
    image = np.array([[0.0, 127.5, 255.0]])                       # float 0-255
    np.testing.assert_allclose(viz.as_rgb(image)[0, :, 0], [0.0, 0.5, 1.0])
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = 255
    np.testing.assert_array_equal(viz.as_rgb(rgba), 0.0)           # alpha dropped


def test_as_rgb_refuses_batches_and_nan():
    with pytest.raises(ValueError, match="shape"):
        viz.as_rgb(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        viz.as_rgb(np.array([[0.0, np.nan]]))


def test_instance_colors_are_deterministic_distinct_and_prefix_stable():
    ten = viz.instance_colors(10)
    assert ten.shape == (10, 3) and ten.min() >= 0 and ten.max() <= 1
    np.testing.assert_array_equal(viz.instance_colors(10), ten)
    np.testing.assert_array_equal(viz.instance_colors(30)[:10], ten)
    distance = np.linalg.norm(ten[:, None] - ten[None], axis=-1) + 9 * np.eye(10)
    assert distance.min() > 0.2
    twenty = viz.instance_colors(20)
    distance = np.linalg.norm(twenty[:, None] - twenty[None], axis=-1) + 9 * np.eye(20)
    assert distance.min() > 0.1
    assert viz.instance_colors(0).shape == (0, 3)
    # Not gray: every colour is clearly saturated, so it shows on a grayscale image.
    assert np.all(ten.max(axis=1) - ten.min(axis=1) > 0.3)
    with pytest.raises(ValueError, match="n"):
        viz.instance_colors(-1)


# -- overlays -------------------------------------------------------------

def test_overlay_binary_mask_blends_only_inside():
    mask = np.zeros((6, 8), bool)
    mask[1:3, 2:5] = True
    out = viz.overlay_mask(GRAY, mask, color=(1.0, 0.0, 0.0), alpha=0.25)
    expected_inside = 0.75 * GRAY[1, 2] + 0.25 * np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[1, 2], expected_inside)
    np.testing.assert_allclose(out[~mask], np.repeat(GRAY[~mask][:, None], 3, axis=1))
    default = viz.overlay_mask(GRAY, mask, alpha=1.0)
    np.testing.assert_allclose(default[1, 2], viz.MASK_COLOR)


def test_overlay_label_map_gives_each_label_its_palette_colour():
    labels = np.zeros((6, 8), int)
    labels[0, 0] = 1
    labels[0, 1] = 2
    labels[5, 7] = 7                                               # non-consecutive
    out = viz.overlay_mask(np.zeros((6, 8)), labels, alpha=1.0)
    palette = viz.instance_colors(7)
    np.testing.assert_allclose(out[0, 0], palette[0])
    np.testing.assert_allclose(out[0, 1], palette[1])
    np.testing.assert_allclose(out[5, 7], palette[6])
    np.testing.assert_array_equal(out[3, 3], 0.0)
    one_colour = viz.overlay_mask(np.zeros((6, 8)), labels, color="blue", alpha=1.0)
    np.testing.assert_allclose(one_colour[5, 7], [0, 0, 1])


def test_overlay_checks_its_arguments():
    with pytest.raises(ValueError, match=r"\(5, 8\).*\(6, 8\)"):
        viz.overlay_mask(GRAY, np.zeros((5, 8), bool))
    with pytest.raises(ValueError, match="alpha"):
        viz.overlay_mask(GRAY, np.zeros((6, 8), bool), alpha=1.5)
    with pytest.raises(ValueError, match="colour"):
        viz.overlay_mask(GRAY, np.zeros((6, 8), bool), color="not-a-colour")
    with pytest.raises(ValueError, match="threshold"):
        viz.overlay_mask(GRAY, np.full((6, 8), 0.4))
    # A channel axis of size 1 on the mask is fine.
    assert viz.overlay_mask(GRAY, np.zeros((6, 8, 1), np.uint8)).shape == (6, 8, 3)


def test_draw_contours_outlines_each_instance_in_its_colour():
    labels = np.zeros((7, 9), int)
    labels[1:4, 1:4] = 1            # 3x3 square: 8 ring pixels and a centre
    labels[1:4, 4:7] = 5            # touching square with id 5
    out = viz.draw_contours(np.zeros((7, 9)), labels)
    palette = viz.instance_colors(5)
    ring = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2), (3, 3)]
    for y, x in ring:
        np.testing.assert_allclose(out[y, x], palette[0])
    np.testing.assert_array_equal(out[2, 2], 0.0)                  # centre untouched
    np.testing.assert_allclose(out[2, 4], palette[4])              # touching edge keeps its own colour
    np.testing.assert_allclose(out[2, 6], palette[4])
    np.testing.assert_array_equal(out[2, 5], 0.0)
    np.testing.assert_array_equal(out[labels == 0], 0.0)           # nothing drawn on background
    assert np.count_nonzero(out.any(axis=-1)) == 16


def test_error_overlay_colours_fp_fn_tp():
    truth = np.array([[1, 1, 0, 0]], bool)
    pred = np.array([[1, 0, 1, 0]], bool)
    image = np.full((1, 4), 0.8)
    out = viz.error_overlay(image, truth, pred)
    np.testing.assert_allclose(out[0, 0], viz.TP_COLOR)
    np.testing.assert_allclose(out[0, 1], viz.FN_COLOR)
    np.testing.assert_allclose(out[0, 2], viz.FP_COLOR)
    # True negatives show the image, dimmed (still gray, darker).
    assert np.allclose(out[0, 3], out[0, 3, 0]) and 0 < out[0, 3, 0] < 0.8
    assert len({viz.TP_COLOR, viz.FP_COLOR, viz.FN_COLOR, viz.MASK_COLOR}) == 4


def test_error_overlay_refuses_label_maps():
    with pytest.raises(ValueError, match=r"labels == k"):
        viz.error_overlay(np.zeros((1, 3)), [[0, 2, 1]], [[0, 1, 1]])


# -- figures ----------------------------------------------------------------

def test_error_view_panels_title_and_legend():
    truth = np.zeros((10, 10), bool)
    truth[2:6, 2:6] = True                         # 16 px
    pred = np.zeros_like(truth)
    pred[2:6, 3:7] = True                          # 12 shared, union 20
    before = plt.get_fignums()
    fig = viz.error_view(np.zeros((10, 10, 3), np.uint8), truth, pred, title="demo")
    assert plt.get_fignums() == before             # not registered with pyplot
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "image" and titles[1].startswith("truth") and titles[2].startswith("prediction")
    assert "IoU 0.600" in titles[3] and "Dice 0.750" in titles[3]
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    legend_text = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "false positive" in legend_text and "false negative" in legend_text
    assert "(4 px)" in legend_text                 # 4 FP and 4 FN pixels
    swatches = {tuple(np.round(h.get_facecolor()[:3], 3)) for h in fig.legends[0].legend_handles}
    assert tuple(np.round(viz.FP_COLOR, 3)) in swatches and tuple(np.round(viz.FN_COLOR, 3)) in swatches
    # The fourth panel shows exactly the error overlay.
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), viz.error_overlay(np.zeros((10, 10)), truth, pred))
    assert figure_to_rgb(fig).ndim == 3


def test_show_grid_layout_titles_and_no_ticks():
    images = [np.zeros((4, 4)), np.ones((4, 4, 1)), np.zeros((4, 4, 3), np.uint8), np.eye(4, dtype=bool), np.eye(4)]
    fig = viz.show_grid(images, titles=list("abcde"), ncols=3, suptitle="grid")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 5
    assert [ax.get_title() for ax in visible] == list("abcde")
    for ax in visible:
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert visible[2].images[0].get_array().shape == (4, 4, 3)
    assert visible[1].images[0].get_array().shape == (4, 4)       # channel axis dropped


def test_show_grid_batch_array_and_per_image_cmaps():
    fig = viz.show_grid(np.zeros((3, 5, 5)), cmap=["gray", "viridis", "tab20"])
    assert [ax.images[0].get_cmap().name for ax in fig.axes] == ["gray", "viridis", "tab20"]
    assert len(fig.axes) == 3                      # ncols shrinks to the number of images


def test_show_grid_checks_its_arguments():
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        viz.show_grid([GRAY] * 3, titles=["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        viz.show_grid([])
    with pytest.raises(ValueError, match=r"\[image\]"):
        viz.show_grid(GRAY)


# -- boxes ----------------------------------------------------------------

def test_draw_boxes_uses_exclusive_ends():
    out = viz.draw_boxes(np.zeros((10, 12)), [[2, 3, 6, 8]], color=(1, 0, 0))
    drawn = out[..., 0] == 1.0
    expected = np.zeros((10, 12), bool)
    expected[2, 3:8] = expected[5, 3:8] = True     # rows y1 and y2 - 1
    expected[2:6, 3] = expected[2:6, 7] = True     # columns x1 and x2 - 1
    np.testing.assert_array_equal(drawn, expected)


def test_draw_boxes_thickness_clipping_and_colours():
    out = viz.draw_boxes(np.zeros((10, 10)), [[-3, -3, 4, 4]], color="lime", thickness=2)
    drawn = out.any(axis=-1)
    expected = np.zeros((10, 10), bool)
    expected[2:4, 0:4] = True                      # bottom edge, two rows inside the box
    expected[0:4, 2:4] = True                      # right edge; top and left lie outside the image
    np.testing.assert_array_equal(drawn, expected)
    two = viz.draw_boxes(np.zeros((10, 10)), [[0, 0, 3, 3], [5, 5, 9, 9]])
    assert not np.allclose(two[0, 0], two[5, 5])   # without labels each box has its own colour


def test_draw_boxes_labels_share_colours_and_add_tags():
    image = np.zeros((96, 64, 3), np.uint8)
    # Far enough apart that no tag (drawn above its box) covers another box's edge.
    boxes = [[20, 5, 40, 25], [20, 35, 40, 60], [70, 5, 90, 25]]
    out = viz.draw_boxes(image, boxes, labels=["cat", "dog", "cat"])
    np.testing.assert_allclose(out[39, 10], out[89, 10])          # both cats share a colour
    assert not np.allclose(out[39, 10], out[39, 40])
    plain = viz.draw_boxes(image, boxes, labels=None)
    tag_rows = out[8:20, 5:25].any(axis=-1)
    assert tag_rows.sum() > 20 and not plain[8:20, 5:25].any()     # a tag sits above the first box
    ids = viz.draw_boxes(image, boxes, labels=[3, 1, 3])
    np.testing.assert_allclose(ids[39, 10], viz.instance_colors(3)[2])


@pytest.mark.parametrize(
    "boxes, match",
    [
        ([1, 2, 3, 4], r"\(N, 4\).*\[box\]"),
        ([[1, 2, 3]], r"\(N, 4\)"),
        ([[5, 2, 3, 4]], r"y2 > y1.*exclusive"),
        ([[1, 2, 3, np.nan]], "finite"),
    ],
)
def test_draw_boxes_checks_its_arguments(boxes, match):
    with pytest.raises(ValueError, match=match):
        viz.draw_boxes(np.zeros((8, 8)), boxes)


def test_draw_boxes_label_count():
    with pytest.raises(ValueError, match="2 labels for 1 boxes"):
        viz.draw_boxes(np.zeros((8, 8)), [[0, 0, 4, 4]], labels=["a", "b"])
    assert viz.draw_boxes(np.zeros((8, 8)), np.zeros((0, 4))).shape == (8, 8, 3)


@pytest.mark.parametrize("image", [GRAY, GRAY[..., None], np.stack([GRAY] * 3, -1), (GRAY * 255).astype(np.uint8)])
def test_every_array_function_accepts_gray_rgb_uint8_float(image):
    mask = np.zeros((6, 8), bool)
    mask[2:4, 2:5] = True
    for out in (
        viz.overlay_mask(image, mask),
        viz.draw_contours(image, mask),
        viz.error_overlay(image, mask, np.roll(mask, 1, axis=1)),
        viz.draw_boxes(image, [[1, 1, 5, 6]]),
    ):
        assert out.shape == (6, 8, 3) and out.min() >= 0.0 and out.max() <= 1.0


def test_figures_display_themselves_in_notebooks_without_pyplot():
    # Jupyter shows an object with _repr_png_ whatever the backend; pyplot is not involved.
    before = plt.get_fignums()
    fig = viz.show_grid([GRAY])
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == before


def test_label_rgb_background_black_and_one_colour_per_label():
    labels = np.array([[0, 1, 2], [2, 0, 7]])
    out = viz.label_rgb(labels)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[labels == 0], 0.0)
    np.testing.assert_allclose(out[0, 1], viz.instance_colors(1)[0])
    np.testing.assert_allclose(out[0, 2], out[1, 0])              # one label, one colour
    assert not np.allclose(out[0, 1], out[0, 2])
    with pytest.raises(ValueError, match="negative label"):
        viz.label_rgb(np.array([[0, -1]]))


def test_show_grid_labels_panels_and_colorbars():
    fig = viz.show_grid([np.eye(4, dtype=int) * 3, np.eye(4)], cmap=["labels", "magma"], colorbar=[False, True])
    assert len(fig.axes) == 3                                     # two panels and one colour bar
    assert fig.axes[0].get_xlabel() == viz.LABELS_NOTE
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array()[0, 1], 0.0)   # background drawn black
    with pytest.raises(ValueError, match="colorbar flags"):
        viz.show_grid([np.eye(4)] * 2, colorbar=[True])


def test_course_map_draws_every_step_and_highlights_the_chosen_ones():
    fig = viz.course_map(["U-Net / DeepLab", "FCN"])
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    names = [name for name, _, _ in viz.COURSE_STEPS]
    assert names == ["sliding window", "FCN", "upsampling", "U-Net / DeepLab", "two-stage detection", "Mask R-CNN"]
    assert all(name in texts for name in names) and "notebooks 09, 10" in texts
    boxes = [p for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    assert len(boxes) == 6
    filled = [tuple(np.round(b.get_facecolor()[:3], 3)) for b in boxes]
    on = tuple(np.round(viz.FP_COLOR, 3))
    assert [f == on for f in filled] == [False, True, False, True, False, False]
    assert ax.get_title().endswith("(highlighted: FCN, U-Net / DeepLab)")
    plain = viz.course_map()
    assert all(tuple(np.round(b.get_facecolor()[:3], 3)) != on for b in plain.axes[0].patches
               if type(b).__name__ == "FancyBboxPatch")
    assert figure_to_rgb(viz.course_map("Mask R-CNN")).ndim == 3


def test_course_map_names_the_steps_when_a_highlight_is_wrong():
    with pytest.raises(ValueError, match="sliding window"):
        viz.course_map("fcn")
    with pytest.raises(ValueError, match="Mask R-CNN"):
        viz.course_map(["FCN", 3])
    with pytest.raises(TypeError, match="highlight"):
        viz.course_map(5)
