"""keras_multiclass_loss (notebook 12's U-Net): the same number as the NumPy formulas of notebook 05."""

import numpy as np
import pytest

from segtutor.losses import categorical_cross_entropy, keras_multiclass_loss, soft_dice_loss, softmax

pytest.importorskip("keras")


def _reference(prob, labels, n_classes, dice_weight=1.0):
    """Per image: mean cross-entropy plus dice_weight times the mean soft Dice loss of the foreground classes."""
    out = []
    for p, y in zip(prob, labels):
        dice = np.mean([soft_dice_loss(p[..., k], (y == k).astype(float)) for k in range(1, n_classes)])
        out.append(categorical_cross_entropy(p, y) + dice_weight * dice)
    return np.array(out)


@pytest.mark.parametrize("dice_weight", [0.0, 1.0, 2.5])
def test_matches_the_numpy_formulas(dice_weight):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(3, 8, 8))
    labels[1] = 0                                          # an image with background only
    prob = softmax(rng.normal(size=(3, 8, 8, 4)) * 2).astype("float32")
    got = np.asarray(keras_multiclass_loss(4, dice_weight=dice_weight)(labels, prob))
    np.testing.assert_allclose(got, _reference(prob, labels, 4, dice_weight), rtol=1e-4)
    # a trailing channel axis on the labels, as segmentation_dataset yields them, gives the same
    np.testing.assert_allclose(np.asarray(keras_multiclass_loss(4, dice_weight=dice_weight)(labels[..., None], prob)),
                               got, rtol=1e-6)


def test_a_small_class_counts_as_much_as_a_large_one():
    """Missing a 4-pixel object costs as much Dice as missing a 60-pixel one: the background is left out."""
    labels = np.zeros((2, 8, 8), int)
    labels[0, :2, :2] = 1                                  # small object of class 1
    labels[1, :, :] = 2
    labels[1, 0, :4] = 0                                   # large object of class 2 (60 pixels)
    prob = np.full((2, 8, 8, 3), 1e-4, "float32")
    prob[..., 0] = 1 - 2e-4                                # everything called background
    loss = keras_multiclass_loss(3, smooth=0.0)
    only_dice = np.asarray(loss(labels, prob)) - [categorical_cross_entropy(p, y) for p, y in zip(prob, labels)]
    np.testing.assert_allclose(only_dice[0], only_dice[1], atol=1e-3)


def test_checks_its_arguments():
    with pytest.raises(ValueError, match="n_classes"):
        keras_multiclass_loss(1)
    with pytest.raises(ValueError, match="dice_weight"):
        keras_multiclass_loss(3, dice_weight=-1.0)
