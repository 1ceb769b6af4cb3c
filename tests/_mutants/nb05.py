"""Notebook 05: pixel-wise cross-entropy, soft Dice and the transposed convolution."""

import numpy as np


def _ce(prob, labels, *, check="exact", log=np.log):
    prob, labels = np.asarray(prob, float), np.asarray(labels)
    if check == "exact" and prob.shape[:-1] != labels.shape:
        raise ValueError("shapes differ")
    if check == "ndim" and prob.ndim != labels.ndim + 1:
        raise ValueError("shapes differ")
    picked = np.take_along_axis(prob, labels[..., None].astype(int), axis=-1)
    return float(-log(picked).mean())


def _ce_flat(prob, labels):
    # flattens both and pairs them up by position: with broadcastable shapes this reads the wrong pixels
    prob, labels = np.asarray(prob, float), np.asarray(labels)
    k = prob.shape[-1]
    p = prob.reshape(-1, k)
    y = np.broadcast_to(labels, prob.shape[:-1]).reshape(-1) if labels.ndim < prob.ndim else labels.reshape(-1)
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def _dice(prob, truth, smooth=1.0, *, use=None, mean=False):
    p, t = np.asarray(prob, float), np.asarray(truth, float)
    s = smooth if use is None else use
    if mean:
        return float((2 * (p * t).mean() + s) / (p.mean() + t.mean() + s))
    return float((2 * (p * t).sum() + s) / (p.sum() + t.sum() + s))


def _tconv(image, kernel, stride, *, check="below one", flip=False, stride_rows_only=False):
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    if check == "below one" and stride < 1 or check == "zero only" and stride == 0:
        raise ValueError("bad stride")
    if flip:
        kernel = kernel[::-1, ::-1]
    sx = 1 if stride_rows_only else stride
    kh, kw = kernel.shape
    out = np.zeros((max((image.shape[0] - 1) * stride + kh, 0), max((image.shape[1] - 1) * sx + kw, 0)))
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            out[i * stride:i * stride + kh, j * sx:j * sx + kw] += image[i, j] * kernel
    return out


def _all_classes(prob, labels):
    prob, labels = np.asarray(prob, float), np.asarray(labels)
    if prob.shape[:-1] != labels.shape:
        raise ValueError("shapes differ")
    return float(-np.log(prob).mean())


def _smooth_twice(prob, truth, smooth=1.0):
    p, t = np.asarray(prob, float), np.asarray(truth, float)
    return float((2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + 2 * smooth))


def _too_large(image, kernel, stride):
    out = _tconv(image, kernel, stride)  # raises for a stride below 1
    return np.pad(out, ((0, stride - 1), (0, stride - 1)))


MUTANTS = {
    "pixel_cross_entropy": {
        "no shape check (prob (2, 2, 3) broadcasts against labels (1, 2))": lambda p, y: _ce(p, y, check="none"),
        "checks only the number of axes": lambda p, y: _ce(p, y, check="ndim"),
        "flattens and broadcasts the labels instead of checking": _ce_flat,
        "log base 10": lambda p, y: _ce(p, y, log=np.log10),
        "the mean over pixels of all classes' -log p": _all_classes,
    },
    "soft_dice": {
        "ignores smooth and always adds 1": lambda p, t, smooth=1.0: _dice(p, t, use=1.0),
        "smooth defaults to 0": lambda p, t, smooth=0.0: _dice(p, t, smooth),
        "means instead of sums": lambda p, t, smooth=1.0: _dice(p, t, smooth, mean=True),
        "returns the loss 1 - Dice": lambda p, t, smooth=1.0: 1 - _dice(p, t, smooth),
        "thresholds the probabilities at 0.5 (hard Dice)": lambda p, t, smooth=1.0: _dice(np.asarray(p) >= 0.5, t, smooth),
        "smooth added twice in the denominator": _smooth_twice,
    },
    "transposed_conv2d": {
        "no ValueError for stride 0": lambda x, k, s: _tconv(x, k, s, check="none"),
        "raises only for stride 0, not negative strides": lambda x, k, s: _tconv(x, k, s, check="zero only"),
        "flips the kernel": lambda x, k, s: _tconv(x, k, s, flip=True),
        "strides only the rows": lambda x, k, s: _tconv(x, k, s, stride_rows_only=True),
        "output size H * stride + k - 1": _too_large,
    },
}
