"""Notebook 02: Otsu's threshold, IoU and Dice of masks."""

import numpy as np


def _overlap(pred, truth, *, check=True, empty=1.0, kind="iou", as_bool=True):
    if as_bool:
        pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    else:
        pred, truth = np.asarray(pred, int), np.asarray(truth, int)
    if check and pred.shape != truth.shape:
        raise ValueError("shapes differ")
    inter = (pred & truth).sum() if as_bool else (pred * truth).sum()
    if kind == "iou":
        num, den = inter, (pred | truth).sum() if as_bool else (pred + truth).sum() - inter
    else:
        num, den = 2 * inter, pred.sum() + truth.sum()
    if den == 0:
        if empty == "raise":
            raise ZeroDivisionError("empty masks")
        return empty
    return float(num / den)


def _otsu(image, *, objective="between", last=False, mean_of_ties=False):
    values = np.asarray(image).ravel().astype(int)
    best, best_t = None, []
    for t in range(256):
        low, high = values[values <= t], values[values > t]
        if low.size == 0 or high.size == 0:
            continue
        w0, w1 = low.size / values.size, high.size / values.size
        if objective == "between":
            score = w0 * w1 * (low.mean() - high.mean()) ** 2
        elif objective == "within":  # maximising the within-class variance: the wrong direction
            score = w0 * low.var() + w1 * high.var()
        else:  # forgot the class weights
            score = (low.mean() - high.mean()) ** 2
        if best is None or score > best or (last and score == best):
            best, best_t = score, [t]
        elif score == best:
            best_t.append(t)
    return float(np.mean(best_t) if mean_of_ties else best_t[-1] if last else best_t[0])


def _integer_division(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError("shapes differ")
    union = (pred | truth).sum()
    return 1.0 if union == 0 else float((pred & truth).sum() // union)


def _pixel_accuracy(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError("shapes differ")
    return float(np.mean(pred == truth))


def _background(pred, truth, kind="iou"):
    return _overlap(~np.asarray(pred, bool), ~np.asarray(truth, bool), kind=kind)


def _midpoint(image):
    image = np.asarray(image)
    return float(image.min() / 2 + image.max() / 2)


MUTANTS = {
    "iou": {
        "no shape check (NumPy broadcasts (1, 3) against (3, 3))": lambda p, t: _overlap(p, t, check=False),
        "two empty masks give 0": lambda p, t: _overlap(p, t, empty=0.0),
        "two empty masks raise": lambda p, t: _overlap(p, t, empty="raise"),
        "integer division": _integer_division,
        "IoU of the background (inverted masks)": _background,
        "returns the pixel accuracy": _pixel_accuracy,
    },
    "dice": {
        "no shape check (NumPy broadcasts (1, 3) against (3, 3))": lambda p, t: _overlap(p, t, check=False, kind="dice"),
        "two empty masks give 0": lambda p, t: _overlap(p, t, empty=0.0, kind="dice"),
        "two empty masks raise": lambda p, t: _overlap(p, t, empty="raise", kind="dice"),
        "Dice from IoU with the wrong formula, IoU / (2 - IoU)": lambda p, t: (lambda i: i / (2 - i))(_overlap(p, t)),
        "Dice of the background (inverted masks)": lambda p, t: _background(p, t, kind="dice"),
    },
    "otsu_threshold": {
        "maximises the within-class variance": lambda im: _otsu(im, objective="within"),
        "forgets the class weights w0 * w1": lambda im: _otsu(im, objective="unweighted"),
        "returns a fixed threshold of 127": lambda im: 127.0,
        "returns the midpoint of the darkest and brightest grey": _midpoint,
    },
}
