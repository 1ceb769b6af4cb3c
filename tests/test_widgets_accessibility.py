"""What every course widget owes a student in a browser, checked headless.

Issue 13: captions without ``<small>``, a name on every control, float
readouts printed to the step's decimals (no 59.99999999999999), alt text on
every picture, pictures short enough for a 1366 x 768 laptop, and the feature
map explorer opening on a live channel. The browser tests check the same
widgets in Chromium; these run anywhere in seconds.
"""

from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pytest

from segtutor.widgets._base import CAPTION_STYLE, Visualiser, _decimals, _walk

RNG = np.random.default_rng(0)
# A 1366 x 768 laptop leaves about 529 px of notebook area; a row or two of
# controls and the status line take the rest, so a picture may be this tall.
MAX_PICTURE_HEIGHT = 430


def _intensity():
    from skimage.data import coins

    from segtutor.widgets.intensity import IntensityWindow
    return IntensityWindow(coins(), low=60, high=160)


def _watershed():
    from segtutor.datasets import load_coins
    from segtutor.widgets.classical import ThresholdWatershed
    c = load_coins()
    return ThresholdWatershed(c.image, c.labels)


def _kernels():
    from segtutor.widgets.kernels import KernelPlayground
    return KernelPlayground()


def _arithmetic():
    from segtutor.widgets.conv_arithmetic import ConvArithmetic
    return ConvArithmetic()


def _upsampling():
    from segtutor.widgets.upsampling import UpsamplingExplorer
    return UpsamplingExplorer()


def _atrous():
    from segtutor.widgets.atrous import AtrousExplorer
    return AtrousExplorer(RNG.random((64, 64)))


def _mask_threshold():
    from segtutor.widgets.overlay import MaskThreshold
    truth = RNG.random((3, 32, 32)) < 0.3
    prob = np.clip(truth * 0.7 + RNG.random((3, 32, 32)) * 0.5, 0, 1)
    return MaskThreshold(RNG.random((3, 32, 32)), truth, prob)


def _anchors():
    from segtutor.widgets.anchors import AnchorExplorer
    images = np.zeros((2, 64, 64, 3), np.float32)
    images[:, 10:30, 12:28] = 0.8
    return AnchorExplorer(images, [np.array([[10, 12, 30, 28]]), np.zeros((0, 4))])


MAKERS = [_intensity, _watershed, _kernels, _arithmetic, _upsampling, _atrous, _mask_threshold, _anchors]


@pytest.fixture(scope="module", params=MAKERS, ids=lambda f: f.__name__.strip("_"))
def widget(request) -> Visualiser:
    return request.param()


def test_every_control_has_a_name(widget):
    for control in _walk(widget.ui.children[0]):
        if isinstance(control, widgets.widgets.widget_description.DescriptionWidget) and hasattr(control, "value"):
            if isinstance(control, (widgets.FloatText, widgets.HTML, widgets.Label)):
                continue  # kernel cells are named by the grid; HTML is text, not a control
            assert control.description, f"{type(control).__name__} without a description in {type(widget).__name__}"


def test_float_readouts_print_exact_steps(widget):
    for control in _walk(widget.ui):
        if isinstance(control, widgets.FloatSlider):
            decimals = _decimals(control.step)
            assert control.readout_format == f".{decimals}f"
            # The readout of every reachable position is a short decimal.
            value = control.min + 3 * control.step
            assert len(format(value, control.readout_format).split(".")[-1]) <= max(decimals, 1)


def test_picture_has_alt_text(widget):
    assert widget.image.tooltip and len(widget.image.tooltip) > 20
    # The empty synced description is what lets ipywidgets' front end apply the
    # tooltip as the <img>'s title; a plain Image raised a JavaScript error.
    assert widget.image.description == ""
    assert "description" in widget.image.keys


def test_caption_is_readable(widget):
    caption = getattr(widget, "caption", None)
    if caption is not None:
        assert "<small>" not in caption.value and CAPTION_STYLE in caption.value


def test_picture_fits_a_laptop_screen(widget):
    h, w = widget.snapshot().shape[:2]
    shown = h * widget.display_width / w if widget.display_width else h
    assert shown <= MAX_PICTURE_HEIGHT, f"{type(widget).__name__} picture is {shown:.0f} px tall"


def test_decimals():
    assert [_decimals(s) for s in (1, 0.5, 0.05, 0.005, 0.25)] == [0, 1, 2, 3, 2]


def test_feature_map_explorer_opens_on_a_live_channel():
    import keras

    from segtutor.models import cnn
    from segtutor.widgets.feature_maps import FeatureMapExplorer

    keras.utils.set_random_seed(0)
    model = cnn.build_cnn(filters=(8, 16))
    # Kill channel 0 of the first layer (a large negative bias: ReLU gives 0
    # everywhere), as training sometimes does; the explorer must not open on it.
    conv = model.get_layer("conv1")
    kernel, bias = conv.get_weights()
    bias[0] = -100.0
    conv.set_weights([kernel, bias])
    image = np.zeros((28, 28), np.float32)
    image[10:18, 10:18] = 1.0
    explorer = FeatureMapExplorer(model, images={"square": image})
    activation = explorer.activation()
    assert explorer.layer.value == "conv1" and activation[..., 0].max() == 0
    assert explorer.channel.value != 0 and activation[..., explorer.channel.value].max() > 0
    assert explorer.channel.value == int(np.argmax(activation.max(axis=(0, 1))))
    assert "square" in explorer.image.tooltip


def test_static_figures_for_a_page_without_kernel(capsys):
    """What tools/build_site.py puts in place of a widget: its snapshot, alt text and status."""
    import base64
    import io

    from PIL import Image

    from segtutor.training import LiveHistory
    from segtutor.widgets import _static

    w = _intensity()
    w._ipython_display_()
    w._ipython_display_()  # shown twice, pictured once
    assert _static.show_pending() == 1 and _static.show_pending() == 0
    rgb, alt, status = w.static_picture()
    page = _static.figure_html(rgb, alt, status)
    assert f"alt='{alt}'" in page and "window [60, 160]" in page
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", page).group(1)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))), w.snapshot())

    history = LiveHistory(display=False)
    history.on_train_begin()
    for epoch in range(2):
        history.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    rgb, alt, status = history.static_picture()
    assert rgb.ndim == 3 and rgb.shape[0] > 100 and "loss" in alt and "epoch 2/" in status
    with pytest.raises(TypeError, match="static_picture"):
        _static.note_displayed(object())
