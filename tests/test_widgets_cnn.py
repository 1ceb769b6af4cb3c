"""Headless tests of the three CNN widgets: set values, check the picture and the messages."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from segtutor import convolution as C
from segtutor import interpret as I
from segtutor.widgets.conv_arithmetic import ConvArithmetic
from segtutor.widgets.kernels import KernelPlayground

RNG = np.random.default_rng(0)


def shown(widget) -> np.ndarray:
    """Decode the PNG the browser would get."""
    return np.asarray(Image.open(io.BytesIO(widget.image.value)).convert("RGB"))


@pytest.fixture
def playground():
    return KernelPlayground(images={"noise": RNG.random((48, 40)).astype(np.float32), "tiny": np.ones((4, 4))})


# ---------------------------------------------------------------- kernel playground
def test_playground_preset_changes_picture_to_compute_output(playground):
    before = playground.snapshot()
    playground.preset.value = "Sobel x (vertical edges)"
    after = playground.snapshot()
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(playground.kernel, C.kernel_preset("Sobel x (vertical edges)"))
    np.testing.assert_array_equal(after, C.kernel_playground_picture(playground.images["noise"], playground.kernel))
    np.testing.assert_array_equal(shown(playground), after)
    assert "sum to 0" in playground.message.value and playground.error is None


def test_playground_cell_edit_makes_a_custom_kernel(playground):
    playground.cells[2][2].value = 2.0  # the centre of the 3×3 inside the 5×5 grid
    assert playground.preset.value == "custom"
    assert playground.kernel[1, 1] == 2.0
    np.testing.assert_array_equal(
        playground.snapshot(), C.kernel_playground_picture(playground.images["noise"], playground.kernel))


def test_playground_size_and_five_by_five_preset(playground):
    playground.preset.value = "Gaussian blur 5×5"
    assert playground.size.value == 5 and playground.kernel.shape == (5, 5)
    assert playground.cells[0][0].layout.visibility == "visible"
    playground.size.value = 3
    assert playground.kernel.shape == (3, 3) and playground.cells[0][0].layout.visibility == "hidden"


def test_playground_stride_and_padding(playground):
    playground.padding.value = "valid"
    playground.stride.value = 2
    assert "output 23×19" in playground.message.value  # floor((48-3)/2)+1, floor((40-3)/2)+1
    np.testing.assert_array_equal(playground.snapshot(), C.kernel_playground_picture(
        playground.images["noise"], playground.kernel, stride=2, padding="valid"))


@pytest.mark.parametrize(
    "kernel,words",
    [([[1, 2], [3, 4], [5, 6]], "should be square"), ([[np.nan, 0, 0], [0, 1, 0], [0, 0, 0]], "NaN"),
     (np.ones((60, 60)), "smaller than the 60×60 kernel")],
)
def test_playground_bad_kernels_show_a_message(playground, kernel, words):
    good = playground.snapshot()
    playground.set_kernel(kernel)  # must not raise
    assert playground.error is not None and words in playground.error
    assert "&#9888;" in playground.message.value
    np.testing.assert_array_equal(playground.snapshot(), good)  # the last good picture stays
    playground.preset.value = "identity"  # and it recovers
    assert playground.error is None


def test_playground_zero_kernel_and_tiny_image(playground):
    playground.set_kernel(np.zeros((3, 3)))
    assert playground.error is None and "all weights are 0" in playground.message.value
    playground.image_name.value = "tiny"
    playground.stride.value = 4
    assert "stride 4 is as large as the image" in playground.error
    playground.stride.value = 1
    playground.preset.value = "box blur 5×5"
    assert "smaller than the 5×5 kernel" in playground.error


def test_playground_css_classes(playground):
    assert "segtutor-kernel-playground" in playground.ui._dom_classes
    assert "segtutor-kernel-playground-image" in playground.image._dom_classes


# ---------------------------------------------------------------- conv arithmetic
def test_arithmetic_step_and_sliders():
    widget = ConvArithmetic(input_size=5, kernel_size=3, padding=1, stride=2)
    assert widget.step.max == 8 and widget.play.max == 8
    first = widget.snapshot()
    widget.step.value = 4
    assert not np.array_equal(first, widget.snapshot())
    np.testing.assert_array_equal(widget.snapshot(), C.conv_arithmetic_picture(5, 3, padding=1, stride=2, step=4))
    np.testing.assert_array_equal(shown(widget), widget.snapshot())
    assert "= 3" in widget.message.value
    widget.stride.value = 1
    assert widget.step.max == 24 and widget.step.value == 4
    widget.input_size.value = 3
    assert widget.step.max == 8 and widget.step.value == 4
    widget.padding.value = 0
    assert widget.step.max == 0 and widget.step.value == 0
    assert "segtutor-conv-arithmetic" in widget.ui._dom_classes


def test_arithmetic_bad_settings_show_messages():
    widget = ConvArithmetic()
    widget.set(stride=50)
    assert "stride 50 is larger" in widget.error
    widget.set(stride=1, input_size=2, kernel_size=7, padding=0)
    assert "smaller than the kernel" in widget.error
    widget.set(input_size=9, kernel_size=3, dilation=2, step=2)
    assert widget.error is None and widget.step.value == 2
    np.testing.assert_array_equal(widget.snapshot(), C.conv_arithmetic_picture(9, 3, dilation=2, step=2))
    with pytest.raises(ValueError, match="unknown setting"):
        widget.set(sride=2)


# ---------------------------------------------------------------- feature maps
@pytest.fixture(scope="module")
def explorer():
    import keras

    from segtutor.models import cnn
    from segtutor.widgets.feature_maps import FeatureMapExplorer

    keras.utils.set_random_seed(0)
    model = cnn.build_cnn(filters=(8, 16))
    images = {"digit": RNG.random((28, 28)).astype(np.float32), "photo": RNG.random((64, 48)).astype(np.float32)}
    return FeatureMapExplorer(model, images=images)


def test_explorer_channel_change_only_redraws(explorer):
    explorer.image_name.value = "digit"
    explorer.layer.value = "conv1"
    n = explorer.cache.n_computed
    explorer.channel.value = 0
    before = explorer.snapshot()
    explorer.channel.value = 5
    assert explorer.cache.n_computed == n
    assert not np.array_equal(before, explorer.snapshot())
    expected = I.feature_map_picture(explorer.activation(), 5, image=explorer.images["digit"])
    np.testing.assert_array_equal(explorer.snapshot(), expected)
    np.testing.assert_array_equal(shown(explorer), expected)


def test_explorer_layer_image_and_grid(explorer):
    explorer.image_name.value = "digit"
    explorer.layer.value = "conv2"
    assert explorer.channel.max == 15
    explorer.channel.value = 12
    explorer.layer.value = "pool1"
    assert explorer.channel.max == 7 and explorer.channel.value == 7
    n = explorer.cache.n_computed
    explorer.image_name.value = "photo"
    explorer.image_name.value = "digit"
    explorer.image_name.value = "photo"
    assert explorer.cache.n_computed <= n + 1  # the photo ran once at most
    assert explorer.activation().shape == (32, 24, 8)
    explorer.show_all.value = True
    assert explorer.channel.disabled
    np.testing.assert_array_equal(
        explorer.snapshot(), I.feature_map_picture(explorer.activation(), None, image=explorer.images["photo"]))
    assert "pool1: 32×24×8" in explorer.message.value
    explorer.show_all.value = False
    assert "segtutor-feature-maps" in explorer.ui._dom_classes
