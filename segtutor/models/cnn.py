"""The course CNN: a small LeNet-style classifier for 28×28 digits.

Three Conv → ReLU → MaxPool stages, then Flatten, Dropout, Dense, Dropout and
a softmax, in the spirit of LeNet-5 (LeCun et al. 1998) with the ReLU and
dropout of AlexNet (Krizhevsky et al. 2012). The softmax is a layer of its own
(``"probs"``) after a linear ``"logits"`` layer, so that Grad-CAM and saliency
maps can take gradients of the class score before the softmax squashes it.

Light augmentation (small shifts and rotations, :func:`augmented_batches`)
is applied to the training batches in a ``tf.data`` pipeline, not inside the
model, so that ``model(x)`` is always deterministic: Keras 3's random
preprocessing layers default to *training* mode when a model is called
without ``training=False``. With it, the 1,438 training digits reach about
99 % test accuracy in well under a minute on two CPU cores.

Examples
--------
>>> from segtutor.models import cnn
>>> model = cnn.build_cnn()
>>> cnn.conv_layer_names(model)
['conv1', 'conv2', 'conv3']
>>> model.output_shape
(None, 10)
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass

import numpy as np

from .. import _backend
from .._validate import (
    as_array,
    check_bool,
    check_finite,
    check_model,
    check_positive_int,
    check_scalar,
    check_seed,
    check_str,
)

__all__ = [
    "build_cnn",
    "compile_cnn",
    "augmenter",
    "split_validation",
    "augmented_batches",
    "train_course_cnn",
    "conv_layer_names",
    "feature_layer_names",
    "feature_extractor",
    "receptive_fields",
    "plot_history",
    "epoch_log",
    "TrainResult",
]


def build_cnn(input_shape=(28, 28, 1), n_classes: int = 10, *, filters=(16, 32, 64), dense_units: int = 64,
              dropout: float = 0.3, name: str = "course_cnn"):
    """Build (but do not compile) the course CNN.

    Parameters
    ----------
    input_shape : tuple of int
        ``(H, W, C)`` of one image.
    n_classes : int
        Number of classes of the softmax.
    filters : sequence of int
        Filters of each Conv → ReLU → MaxPool stage; layers are named
        ``conv1``, ``pool1``, ``conv2``, ... All convolutions are 3×3 with
        ``"same"`` padding and pools are 2×2, so each stage halves the size.
    dense_units : int
        Width of the hidden dense layer.
    dropout : float
        Dropout rate before and after the hidden dense layer.
    name : str
        Model name.

    Returns
    -------
    keras.Model
        Input ``(None, *input_shape)``, output ``(None, n_classes)``
        probabilities. The layer ``"logits"`` holds the scores before softmax.

    Examples
    --------
    >>> tuple(build_cnn(filters=(8,)).get_layer("conv1").kernel.shape)
    (3, 3, 1, 8)
    """
    keras = _backend.keras()
    layers = keras.layers

    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and v > 0
                                  for v in shape):
        raise ValueError(f"input_shape should be (H, W, C) of positive ints, got {input_shape!r}; digits are (28, 28, 1).")
    shape = tuple(int(v) for v in shape)
    if shape[0] * shape[1] * shape[2] > 4096 * 4096:
        raise ValueError(f"input_shape {shape} is larger than this small CNN is meant for (at most 4096 x 4096 x 1).")
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    if not isinstance(filters, (tuple, list)):
        raise ValueError(f"filters should be a tuple of ints such as (16, 32, 64), got {filters!r}.")
    filters = [check_positive_int(f, "each entry of filters") for f in filters]
    if any(f > 4096 for f in filters):
        raise ValueError(f"filters {filters} has more than 4096 channels in a stage; the course CNN uses 16-64.")
    dense_units = check_positive_int(dense_units, "dense_units")
    if dense_units > 65536:
        raise ValueError(f"dense_units should be at most 65536, got {dense_units}; the course CNN uses 64.")
    dropout = check_scalar(dropout, "dropout", low=0.0)
    name = check_str(name, "name")
    if not name.strip() or "/" in name:
        # Keras uses "/" to nest names, and an empty name cannot be saved or found again.
        raise ValueError(f"name should be a non-empty model name without '/', such as 'course_cnn', got {name!r}.")
    if not filters:
        raise ValueError("filters is empty; give at least one stage, for example (16, 32, 64).")
    if shape[0] < 2 ** len(filters) or shape[1] < 2 ** len(filters):
        raise ValueError(
            f"{len(filters)} pooling stages halve a {shape[0]}×{shape[1]} input to nothing; use fewer stages "
            f"(at most {int(math.log2(min(shape[:2])))}) or a larger input."
        )
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout should be in [0, 1), got {dropout}.")

    inputs = keras.Input(shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout2")(x)
    x = layers.Dense(n_classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)


def compile_cnn(model, *, epochs: int, steps_per_epoch: int, learning_rate: float = 3e-3):
    """Compile with Adam and a cosine-decaying learning rate.

    The rate starts at ``learning_rate`` and decays to 0 over the whole run
    (Loshchilov & Hutter 2017), which makes the last epochs settle instead of
    bouncing around; that is worth about one point of test accuracy here.
    ``jit_compile=False`` avoids XLA, which is slower for a net this small.

    Parameters
    ----------
    model : keras.Model
    epochs, steps_per_epoch : int
        Length of the run, for the schedule.
    learning_rate : float
        Initial rate.

    Returns
    -------
    keras.Model
        The same model, compiled.
    """
    keras = _backend.keras()
    check_model(model)
    epochs = check_positive_int(epochs, "epochs")
    steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
    learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


@dataclass(repr=False)
class TrainResult:
    """What :func:`train_course_cnn` returns.

    Attributes
    ----------
    model : keras.Model
    history : dict of list of float
        ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` per epoch.
    test_accuracy : float
    seconds : float
        Wall time of ``fit``.
    """

    model: object
    history: dict
    test_accuracy: float
    seconds: float

    def __repr__(self):
        return f"TrainResult(test_accuracy={self.test_accuracy:.4f}, seconds={self.seconds:.1f})"


def augmenter(*, shift: float = 0.1, rotation: float = 0.05, seed: int | None = None):
    """Random shifts and rotations for training batches.

    Parameters
    ----------
    shift : float
        Largest shift, as a fraction of height and width (0.1 is ±2.8 pixels
        on a 28×28 digit).
    rotation : float
        Largest rotation as a fraction of a full turn (0.05 is ±18°).
    seed : int, optional
        A Python or NumPy integer >= 0.

    Returns
    -------
    keras.Sequential
        Call it with ``training=True``; with ``training=False`` it does nothing.
    """
    # Keras's layers want Python scalars: np.float32 or np.int64 would fail
    # deep inside them, so convert after checking.
    shift = check_scalar(shift, "shift", low=0.0, high=1.0)
    rotation = check_scalar(rotation, "rotation", low=0.0, high=1.0)
    if seed is not None:
        seed = check_seed(seed)
    keras = _backend.keras()
    layers = keras.layers

    return keras.Sequential(
        [
            layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed),
            layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
        ],
        name="augment",
    )


def split_validation(images, labels, fraction: float = 0.1):
    """Keep the last ``fraction`` of the data for validation, as Keras's ``validation_split`` does.

    Returns
    -------
    (x_fit, y_fit), (x_val, y_val)

    Examples
    --------
    >>> (x_fit, y_fit), (x_val, y_val) = split_validation(np.zeros((10, 2)), np.arange(10), 0.2)
    >>> y_val.tolist()
    [8, 9]
    """
    images, labels = as_array(images, "images"), as_array(labels, "labels")
    if images.ndim == 0 or labels.ndim == 0:
        raise ValueError(f"images and labels should be arrays with one entry per example, got shapes "
                         f"{images.shape} and {labels.shape}.")
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} and {len(labels)}.")
    check_finite(images, "images")
    check_finite(labels, "labels")
    fraction = check_scalar(fraction, "fraction", low=0.0, low_open=True)
    if not fraction < 1:
        raise ValueError(f"fraction should be between 0 and 1, got {fraction}.")
    if round(fraction * len(images)) < 1:
        # Keras refuses a validation_split that leaves no validation sample; rounding
        # up to one image would not be the fraction asked for.
        raise ValueError(f"fraction={fraction} of {len(images)} images is less than one image; "
                         f"use at least {1 / len(images):.3g} (one image), or pass more data.")
    n_fit = len(images) - max(1, int(round(fraction * len(images))))
    if n_fit < 1:
        raise ValueError(f"{len(images)} images are too few to split; use at least 2.")
    return (images[:n_fit], labels[:n_fit]), (images[n_fit:], labels[n_fit:])


def augmented_batches(images, labels, *, batch_size: int = 32, seed: int = 0, augment: bool = True):
    """A shuffled, augmented ``tf.data.Dataset`` of training batches.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
    labels : ndarray, shape (N,)
    batch_size : int
    seed : int
        Seeds the shuffle and the augmentation.
    augment : bool
        Apply :func:`augmenter` to every batch.

    Returns
    -------
    tf.data.Dataset
        Yields ``(images, labels)`` batches; reshuffled every epoch.
    """
    tf = _backend.tensorflow()
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    augment = check_bool(augment, "augment")
    images = check_finite(as_array(images, "images"), "images").astype(np.float32)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(
            f"images should be (N, H, W, C) with N >= 1, got shape {images.shape}. "
            "Add a channel axis with [..., None]."
        )
    labels = as_array(labels, "labels")
    if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels should be (N,) integer class ids, one per image ({len(images)}), got shape {labels.shape} "
            f"and dtype {labels.dtype}."
        )
    if labels.min() < 0:
        # Sparse categorical cross-entropy reads a negative id as garbage, not as an error.
        raise ValueError(f"labels should be class ids 0, 1, 2, ..., got the negative id {labels.min()}. "
                         "Check for an offset (labels - 1) or a sign flip.")
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augment:
        aug = augmenter(seed=seed)
        ds = ds.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def train_course_cnn(*, epochs: int = 30, batch_size: int = 32, n_train: int | None = None,
                     n_test: int | None = None, seed: int = 0, verbose: int = 0,
                     split_rule: str = "random", callbacks=None) -> TrainResult:
    """Train the course CNN on the digits, as notebook 03 does, in one call.

    Notebook 04 and the benchmarks use this to get a trained model; notebook
    03 spells out the same steps.

    Parameters
    ----------
    epochs, batch_size : int
    n_train, n_test : int, optional
        Use only the first images of each split (fast mode).
    seed : int
        Seeds Python, NumPy and Keras first.
    verbose : int
        Passed to ``fit``.
    split_rule : {"random", "file_end"}
        Which train/test split of the digits to use (see
        :func:`segtutor.datasets.load_digits`): ``"file_end"`` keeps most test
        writers out of training.
    callbacks : list of keras.callbacks.Callback, optional
        Passed to ``fit``, e.g. ``[epoch_log()]``.

    Returns
    -------
    TrainResult
    """
    from ..datasets import load_digits
    from ..environment import seed_everything

    # Checked before minutes of training start; Keras would read 'yes' as truthy only at the first epoch.
    if verbose != "auto":
        verbose = check_scalar(verbose, "verbose", integer=True, low=0, high=2)
    keras = _backend.keras()
    seed_everything(seed)
    keras.utils.set_random_seed(seed)
    x_train, y_train = load_digits("train", n=n_train, rule=split_rule)
    x_test, y_test = load_digits("test", n=n_test, rule=split_rule)
    (x_fit, y_fit), validation = split_validation(x_train, y_train, 0.1)
    batches = augmented_batches(x_fit, y_fit, batch_size=batch_size, seed=seed)
    model = build_cnn()
    compile_cnn(model, epochs=epochs, steps_per_epoch=math.ceil(len(x_fit) / batch_size))
    start = time.perf_counter()
    # shuffle=False: the dataset already reshuffles every epoch (Keras warns otherwise).
    history = model.fit(batches, epochs=epochs, validation_data=validation, shuffle=False, verbose=verbose,
                        callbacks=callbacks)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return TrainResult(model, history.history, float(accuracy), seconds)


def _layers_in_order(model):
    """The model's layers after the input, in call order."""
    return [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]


def conv_layer_names(model) -> list[str]:
    """Names of the model's ``Conv2D`` layers, input first.

    Examples
    --------
    >>> conv_layer_names(build_cnn(filters=(4, 4)))
    ['conv1', 'conv2']
    """
    check_model(model)
    return [layer.name for layer in _layers_in_order(model) if layer.__class__.__name__ == "Conv2D"]


def feature_layer_names(model) -> list[str]:
    """Names of the layers with spatial outputs (conv and pooling), input first."""
    check_model(model)
    kinds = ("Conv2D", "MaxPooling2D", "AveragePooling2D")
    return [layer.name for layer in _layers_in_order(model) if layer.__class__.__name__ in kinds]


def feature_extractor(model, layer_names, *, any_size: bool = False):
    """A model that returns the activations of chosen layers.

    Parameters
    ----------
    model : keras.Model
        A trained course CNN (or any functional model).
    layer_names : str or sequence of str
        Layers whose outputs to return.
    any_size : bool
        If False, the extractor is ``keras.Model(model.input, outputs)`` and
        takes the model's input size. If True, the layers up to the last one
        asked for are re-applied to a new input of shape ``(None, None, C)``,
        sharing their weights, so that a convolutional stack runs on an image of
        any size (a 128×128 photo, say). This needs a plain chain of layers
        with no Flatten or Dense before the chosen ones; dropout and random
        augmentation layers are skipped because they do nothing at inference.

    Returns
    -------
    keras.Model
        Outputs a dict ``{name: (batch, H, W, C) tensor}``.

    Raises
    ------
    ValueError
        If a name is not a layer of the model, or ``any_size`` meets a layer
        that needs a fixed input size.

    Examples
    --------
    >>> model = build_cnn(filters=(4, 8))
    >>> extractor = feature_extractor(model, ["conv1", "pool2"], any_size=True)
    >>> {k: tuple(v.shape) for k, v in extractor(np.zeros((1, 40, 40, 1), "float32")).items()}
    {'conv1': (1, 40, 40, 4), 'pool2': (1, 10, 10, 8)}
    """
    keras = _backend.keras()
    check_model(model)
    any_size = check_bool(any_size, "any_size")
    if isinstance(layer_names, str):
        names = [layer_names]
    elif isinstance(layer_names, (list, tuple)) and all(isinstance(n, str) for n in layer_names):
        names = list(layer_names)
    else:
        raise TypeError(f"layer_names should be a layer name or a list of them, e.g. ['conv1'], got {layer_names!r:.80}.")
    if not names:
        raise ValueError("layer_names is empty; pass for example ['conv1', 'conv2'].")
    known = [layer.name for layer in _layers_in_order(model)]
    for n in names:
        if n not in known:
            raise ValueError(f"layer_names: the model has no layer {n!r}; its layers are {known}.")
    if not any_size:
        return keras.Model(model.input, {n: model.get_layer(n).output for n in names}, name="feature_extractor")

    channels = model.input.shape[-1]
    inputs = keras.Input((None, None, channels), name="image")
    x, outputs, last = inputs, {}, max(known.index(n) for n in names)
    for layer in _layers_in_order(model)[: last + 1]:
        kind = layer.__class__.__name__
        if layer.name == "augment" or kind.startswith("Random") or kind == "Dropout":
            continue
        if kind in ("Flatten", "Dense", "Reshape"):
            raise ValueError(
                f"layer {layer.name!r} ({kind}) needs a fixed input size, so any_size=True cannot pass through "
                "it. Ask only for convolution and pooling layers, or use any_size=False."
            )
        x = layer(x)
        if layer.name in names:
            outputs[layer.name] = x
    return keras.Model(inputs, {n: outputs[n] for n in names}, name="feature_extractor_any_size")


def receptive_fields(model) -> list[dict]:
    """Receptive field and jump after each conv and pooling layer.

    Returns
    -------
    list of dict
        ``{"layer": name, "kernel_size", "stride", "dilation",
        "receptive_field", "jump"}`` per layer, using
        :func:`segtutor.convolution.receptive_field_table`.

    Examples
    --------
    >>> [r["receptive_field"] for r in receptive_fields(build_cnn())]
    [3, 4, 8, 10, 18, 22]
    """
    from ..convolution import receptive_field_table

    check_model(model)
    specs, names = [], []
    for layer in _layers_in_order(model):
        kind = layer.__class__.__name__
        if kind == "Conv2D":
            k, s, d = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            k, s, d = layer.pool_size[0], layer.strides[0], 1
        else:
            continue
        specs.append((k, s, d))
        names.append(layer.name)
    if not specs:
        raise ValueError("model has no Conv2D or pooling layers.")
    table = receptive_field_table(specs)
    for row, name in zip(table, names):
        row["layer"] = name
    return table


def plot_history(history, *, panel_size: float = 3.2):
    """Loss and accuracy per epoch, training and validation, side by side.

    Parameters
    ----------
    history : keras.callbacks.History or dict of list of float
        What ``model.fit`` returns, or its ``.history``.
    panel_size : float
        Height of the figure in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panel_size = check_scalar(panel_size, "panel_size", low=0.5, high=20.0)
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or "loss" not in logs:
        raise ValueError("history should be what model.fit returns (or its .history dict with a 'loss' key).")
    for key, values in logs.items():
        arr = as_array(values, f"history[{key!r}]")
        if arr.ndim != 1 or not len(arr):
            raise ValueError(f"history[{key!r}] should be a non-empty list of numbers per epoch, got shape {arr.shape}.")
        if len(arr) != len(logs["loss"]):
            raise ValueError(f"history[{key!r}] has {len(arr)} epochs but history['loss'] has {len(logs['loss'])}; "
                             "every list needs one value per epoch.")
    epochs = np.arange(1, len(logs["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(2.8 * panel_size, panel_size), layout="constrained")
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            key = prefix + metric
            if key in logs:
                ax.plot(epochs, logs[key], style, marker="o", markersize=3,
                        label="validation" if prefix else "training")
        ax.set_xlabel("epoch")
        ax.set_ylabel({"loss": "cross-entropy loss (lower is better)",
                       "accuracy": "accuracy (fraction correct)"}[metric])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5, len(epochs) + 0.5)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def epoch_log(*, every: int = 1, digits: int = 3):
    """A Keras callback that prints one short line per epoch.

    Keras's own progress bar (``verbose=1``) redraws many times per epoch and
    fills a saved notebook with hundreds of chunks; ``verbose=2`` prints two
    lines per epoch. This prints one::

        epoch  3/30  loss 0.412  accuracy 0.871  val_loss 0.220  val_accuracy 0.937  (1.4 s)

    Use it with ``model.fit(..., verbose=0, callbacks=[cnn.epoch_log()])``.

    Parameters
    ----------
    every : int
        Print every ``every``-th epoch (and always the last one).
    digits : int
        Decimals of each number.

    Returns
    -------
    keras.callbacks.Callback
    """
    keras = _backend.keras()
    every = check_positive_int(every, "every")
    digits = check_positive_int(digits, "digits", minimum=0)
    if digits > 15:
        raise ValueError(f"digits should be at most 15 (float64 precision), got {digits}.")

    class EpochLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._total = self.params.get("epochs", 0)

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            number = epoch + 1
            if number % every and number != self._total:
                return
            width = len(str(self._total))
            logs = logs or {}
            parts = [f"{key} {logs[key]:.{digits}f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                     if key in logs]
            print(f"epoch {number:>{width}}/{self._total}  " + "  ".join(parts)
                  + f"  ({time.perf_counter() - self._start:.1f} s)", flush=True)

    return EpochLog()
