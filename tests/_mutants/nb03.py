"""Notebook 03: conv2d, output size, max pooling, receptive field, cross-entropy, gradient step, dense layer."""

from functools import partial

import numpy as np


def _conv(image, kernel, *, check="both", flip=False, shrink=1):
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    if flip:
        kernel = kernel[::-1, ::-1]
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + shrink, image.shape[1] - kw + shrink
    if (check in ("both", "rows") and h < 1) or (check in ("both", "cols") and w < 1):
        raise ValueError("the kernel does not fit")
    out = np.zeros((max(h, 0), max(w, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out


def _size(n, kernel, stride=1, padding=0, dilation=1, *, check="padded", divide="floor"):
    span = dilation * (kernel - 1) + 1
    if check == "padded" and n + 2 * padding < span or check == "unpadded" and n < span \
            or check == "undilated" and n + 2 * padding < kernel:
        raise ValueError("does not fit")
    if divide == "true":
        return (n + 2 * padding - span) / stride + 1
    return (n + 2 * padding - span) // stride + 1


def _pool(image, size=2, *, check=True, fixed_size=None, stride=None):
    image = np.asarray(image, float)
    size = fixed_size or size
    stride = stride or size
    h, w = (image.shape[0] - size) // stride + 1, (image.shape[1] - size) // stride + 1
    if check and (image.shape[0] < size or image.shape[1] < size):
        raise ValueError("no window fits")
    out = np.zeros((max(h, 0), max(w, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = image[i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out


def _rf(layers, *, rule="jump"):
    r, jump = 1, 1
    for k, s in np.asarray(layers).reshape(-1, 2):
        if rule == "jump":
            r += (int(k) - 1) * jump
        elif rule == "k times jump":
            r += int(k) * jump - 1 if jump > 1 else int(k) - 1
        elif rule == "last stride":
            r += (int(k) - 1) * int(s)
        jump *= int(s)
    return r


def _xent(logits, labels, *, check="both", stable=True, mean=True, axis=1):
    z, y = np.asarray(logits, float), np.asarray(labels)
    if check == "both" and (y.min() < 0 or y.max() >= z.shape[1]) or check == "upper" and y.max() >= z.shape[1]:
        raise ValueError("label out of range")
    if stable:
        z = z - z.max(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        log_p = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    picked = -log_p[np.arange(len(y)), y]
    return float(picked.mean() if mean else picked.sum())


def _step(w, x, y, learning_rate, *, factor=2.0, transpose=True):
    w, x, y = np.asarray(w, float), np.asarray(x, float), np.asarray(y, float)
    errors = x @ w - y
    gradient = factor / len(y) * (x.T @ errors if transpose else errors.sum() * x.mean(axis=0))
    return w - learning_rate * gradient


def _dense(x, weights, bias, *, check=True, relu="max"):
    x, weights, bias = np.asarray(x, float), np.asarray(weights, float), np.asarray(bias, float)
    if check and (x.shape[1] != weights.shape[0] or weights.shape[1] != bias.shape[0]):
        raise ValueError("shapes do not fit")
    z = x @ weights + bias
    if relu == "abs":
        return np.abs(z)
    if relu == "sign":
        return (z > 0).astype(float)
    return np.maximum(z, 0)


def _transposed_kernel(image, kernel):
    image, kernel = np.asarray(image), np.asarray(kernel)
    fits = kernel.T.shape[0] <= image.shape[0] and kernel.T.shape[1] <= image.shape[1]
    return _conv(image, kernel.T if fits else kernel)


def _size_stride_one(n, kernel, stride=1, padding=0, dilation=1):
    return _size(n, kernel, 1, padding, dilation)


def _gradient_only(w, x, y, learning_rate):
    w, x, y = np.asarray(w, float), np.asarray(x, float), np.asarray(y, float)
    return 2 / len(y) * x.T @ (x @ w - y)


MUTANTS = {
    "conv2d": {
        "no ValueError when the kernel does not fit": lambda im, k: _conv(im, k, check="none"),
        "checks only the height": lambda im, k: _conv(im, k, check="rows"),
        "checks only the width": lambda im, k: _conv(im, k, check="cols"),
        "output one row and column too small (H - kh)": lambda im, k: _conv(im, k, shrink=0),
        "flips the kernel": lambda im, k: _conv(im, k, flip=True),
        "transposes the kernel": _transposed_kernel,
    },
    "conv_output_size": {
        "no ValueError when the kernel does not fit": partial(_size, check="none"),
        "the check ignores the padding": partial(_size, check="unpadded"),
        "the check ignores the dilation": partial(_size, check="undilated"),
        "true division, not floor": partial(_size, divide="true"),
        "ignores the stride": _size_stride_one,
    },
    "max_pool2d": {
        "no ValueError when no window fits": lambda im, size=2: _pool(im, size, check=False),
        "ignores size and always pools 2x2": lambda im, size=2: _pool(im, size, fixed_size=2),
        "overlapping windows (stride 1)": lambda im, size=2: _pool(im, size, stride=1),
        "takes the maximum of absolute values": lambda im, size=2: _pool(np.abs(np.asarray(im, float)), size),
    },
    "receptive_field": {
        "multiplies by the layer's own stride": lambda layers: _rf(layers, rule="last stride"),
        "adds k * jump - 1": lambda layers: _rf(layers, rule="k times jump"),
        "sums the kernel sizes": lambda layers: int(np.asarray(layers).reshape(-1, 2)[:, 0].sum()),
        "forgets the starting pixel (r starts at 0)": lambda layers: _rf(layers) - 1,
    },
    "softmax_cross_entropy": {
        "no ValueError for a label outside 0..C-1 (label -1 reads the last column)": partial(_xent, check="none"),
        "checks only labels >= C, not negative ones": lambda z, y: _xent(z, y, check="upper"),
        "does not subtract the row maximum (overflows)": lambda z, y: _xent(z, y, stable=False),
        "sums instead of averaging": lambda z, y: _xent(z, y, mean=False),
        "softmax over the batch axis": lambda z, y: _xent(z, y, axis=0),
    },
    "gradient_step": {
        "ignores the learning rate": lambda w, x, y, lr: _step(w, x, y, 1.0),
        "gradient without X^T (sum of errors times mean input)": partial(_step, transpose=False),
        "returns the gradient, not the new weights": _gradient_only,
        "a factor 4 / N instead of 2 / N": lambda w, x, y, lr: _step(w, x, y, lr, factor=4.0),
    },
    "dense_relu": {
        "no shape check (a length-1 bias broadcasts)": lambda x, w, b: _dense(x, w, b, check=False),
        "absolute value instead of ReLU": lambda x, w, b: _dense(x, w, b, relu="abs"),
        "a step function instead of ReLU": lambda x, w, b: _dense(x, w, b, relu="sign"),
    },
}
