"""The label-efficiency experiment of notebook 11: which images keep labels, held-out Dice, the curve."""

from __future__ import annotations

import time

import numpy as np

from .._validate import check_bool, check_in_range, check_positive_int
from ..pseudo_labels import check_share
from ._checks import check_seed, check_sequence, check_threshold
from .methods import METHOD_RECIPES, LabelledOnly, held_out_dice

__all__ = ["METHODS", "labelled_split", "held_out_dice", "label_efficiency", "efficiency_figure"]

#: Method names understood by :func:`label_efficiency`: the recipes of :mod:`segtutor.semi.methods`.
METHODS = tuple(METHOD_RECIPES)


def labelled_split(n_images, fraction, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Choose which training images keep their labels.

    Parameters
    ----------
    n_images : int
        Training images available.
    fraction : float in (0, 1]
        Fraction that stays labelled; at least one image always does.
    seed : int

    Returns
    -------
    labelled, unlabelled : ndarray of int
        Sorted, disjoint indices covering ``range(n_images)``.

    Examples
    --------
    >>> labelled, unlabelled = labelled_split(40, 0.1, seed=0)
    >>> len(labelled), len(unlabelled)
    (4, 36)
    """
    n_images = check_positive_int(n_images, "n_images")
    if n_images > 1_000_000:
        raise ValueError(f"n_images should be at most 1,000,000, got {n_images}.")
    fraction = check_in_range(fraction, "fraction", 0.0, 1.0)
    if fraction == 0:
        raise ValueError("fraction should be above 0: semi-supervised learning still needs some labelled images.")
    seed = check_seed(seed)
    n_labelled = min(n_images, max(1, round(fraction * n_images)))
    order = np.random.default_rng(seed).permutation(n_images)
    return np.sort(order[:n_labelled]), np.sort(order[n_labelled:])


# -- evaluation ---------------------------------------------------------------------------------------

def label_efficiency(train, test, *, fractions=(0.05, 0.1), methods=METHODS, steps: int, semi_steps: int | None = None,
                     threshold: float = 0.9, share: float | None = None, consistency: float = 10.0,
                     strength: float = 1.0, decay: float = 0.99, cutmix: bool = True, batch_size: int = 8,
                     patch_size: int = 64,
                     seed: int = 0, full: bool = True, log=None) -> list[dict]:
    """Held-out Dice against the labelled fraction, for each method, on one data split.

    For each fraction, :func:`labelled_split` picks the labelled images; the
    others lose their labels. Every method trains ``steps + semi_steps``
    steps in all, from the same random weights:

    * ``labelled only`` on the labelled images alone;
    * ``mean teacher`` on the labelled and the unlabelled images, with the
      same recipe (Adam, cosine decay, augmentations of the labelled batches),
      so the unlabelled term is the only difference;
    * ``self-training`` needs a model to label the unlabelled images: one
      trains ``steps`` steps on the labelled images, predicts the pseudo-labels
      and continues ``semi_steps`` steps on labels plus pseudo-labels;
    * with ``full``, ``full supervision`` on every image with its label.

    Parameters
    ----------
    train, test : NucleiSplit
        From :func:`segtutor.models.train_nuclei.nuclei_splits`.
    fractions : sequence of float in (0, 1)
    methods : sequence of str from :data:`METHODS`
    steps : int
        Steps of self-training's first, labelled-only model.
    semi_steps : int, optional
        Steps of self-training on pseudo-labels; default ``steps``. Every
        method trains ``steps + semi_steps`` steps in all.
    threshold, share : float
        Of self-training (:func:`~segtutor.semi.self_training.self_training`):
        with ``share``, class-balanced selection replaces the one threshold.
    consistency, strength, decay : float
        Of mean teacher (:func:`~segtutor.semi.mean_teacher.train_mean_teacher`).
    cutmix : bool
        Of mean teacher: the student's view mixes boxes of two images.
    seed : int
        Seeds the labelled subset, the weights and the batches.
    log : callable, optional
        Called with a line of text after each training.

    Returns
    -------
    list of dict
        One row per (method, fraction): ``method``, ``fraction``,
        ``n_labelled``, ``dice``, ``seconds`` (training time, wall clock,
        including self-training's first model).
    """
    fractions = tuple(check_in_range(f, "fractions", 1e-6, 1.0) for f in check_sequence(fractions, "fractions"))
    methods = tuple(check_sequence(methods, "methods"))
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"methods should be chosen from {METHODS}, got {m!r}.")
    steps = check_positive_int(steps, "steps")
    semi_steps = steps if semi_steps is None else check_positive_int(semi_steps, "semi_steps")
    full = check_bool(full, "full")
    cutmix = check_bool(cutmix, "cutmix")
    seed = check_seed(seed)
    threshold = check_threshold(threshold)
    share = None if share is None else check_share(share)
    check_in_range(consistency, "consistency", 0.0, 1e6)
    check_in_range(strength, "strength", 0.0, 4.0)
    check_in_range(decay, "decay", 0.0, 1.0)
    if log is not None and not callable(log):
        raise TypeError(f"log should be a function such as print, got {type(log).__name__}.")
    for name, split in (("train", train), ("test", test)):
        if not all(hasattr(split, a) for a in ("images", "masks")):
            raise TypeError(f"{name} should be a NucleiSplit (images, masks, labels), got {type(split).__name__}.")
    rows = []

    def run(method, fraction, n_labelled, shared_seconds, fit):
        start = time.perf_counter()
        model = fit()
        seconds = time.perf_counter() - start + shared_seconds
        row = {"method": method, "fraction": fraction, "n_labelled": n_labelled,
               "dice": held_out_dice(model, test.images, test.masks), "seconds": seconds}
        rows.append(row)
        if log is not None:
            log(f"{method:14s} {fraction:5.0%} labelled ({n_labelled:3d} images): held-out Dice {row['dice']:.3f}, "
                f"{seconds:.0f} s")
        return model

    settings = dict(threshold=threshold, share=share, consistency=consistency, strength=strength, decay=decay,
                    cutmix=cutmix)
    common = dict(batch_size=batch_size, patch_size=patch_size, seed=seed, settings=settings)
    for fraction in fractions:
        lab, unl = labelled_split(len(train.images), fraction, seed=seed)
        xl, yl, xu = train.images[lab], train.masks[lab], train.images[unl]
        for recipe in METHOD_RECIPES.values():
            # Without unlabelled images only the supervised baseline can run, chosen or not.
            wanted = recipe.name in methods and len(unl) if recipe.needs_unlabelled \
                else recipe.name in methods or not len(unl)
            if wanted:
                run(recipe.name, fraction, len(lab), 0.0,
                    lambda recipe=recipe: recipe.fit(xl, yl, xu, steps=steps, semi_steps=semi_steps, **common))
    if full:
        run("full supervision", 1.0, len(train.images), 0.0,
            lambda: LabelledOnly().fit(train.images, train.masks, train.images[:0], steps=steps,
                                       semi_steps=semi_steps, **common))
    return rows


def efficiency_figure(rows, *, title: str = "label efficiency on held-out images"):
    """Plot held-out Dice against the labelled fraction, one line per method (mean and standard deviation).

    Parameters
    ----------
    rows : list of dict
        From :func:`label_efficiency`, possibly over several seeds (rows with
        the same method and fraction are averaged; error bars show their
        standard deviation when there are at least two).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = efficiency_figure([{"method": "labelled only", "fraction": 0.1, "dice": 0.7},
    ...                          {"method": "full supervision", "fraction": 1.0, "dice": 0.9}])
    >>> fig.axes[0].get_xlabel()
    'labelled fraction of the training images'
    """
    from ..viz import new_figure

    rows = check_sequence(rows, "rows")
    if not all(isinstance(r, dict) and {"method", "fraction", "dice"} <= set(r) for r in rows):
        raise ValueError("rows should be dicts with 'method', 'fraction' and 'dice', as label_efficiency returns.")
    for r in rows:
        for key in ("fraction", "dice"):
            check_in_range(r[key], f"rows' {key!r}", 0.0, 1.0)
    if not isinstance(title, str):
        raise TypeError(f"title should be a string, got {type(title).__name__}.")
    fig = new_figure(6.4, 4.0)  # shows itself once as a PNG in a notebook
    ax = fig.add_subplot()
    full = [r["dice"] for r in rows if r["method"] == "full supervision"]
    if full:
        ax.axhline(np.mean(full), color="k", ls="--", lw=1, label=f"full supervision ({np.mean(full):.3f})")
    for method, recipe in METHOD_RECIPES.items():
        marker, colour = recipe.marker, recipe.colour
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        fracs = sorted({r["fraction"] for r in mine})
        means = [np.mean([r["dice"] for r in mine if r["fraction"] == f]) for f in fracs]
        stds = [np.std([r["dice"] for r in mine if r["fraction"] == f], ddof=1)
                if sum(r["fraction"] == f for r in mine) > 1 else 0.0 for f in fracs]
        ax.errorbar([100 * f for f in fracs], means, yerr=stds, marker=marker, color=colour, capsize=3, label=method)
    ax.set_xlabel("labelled fraction of the training images")
    ax.xaxis.set_major_formatter("{x:.0f} %")
    ax.set_ylabel("held-out Dice")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")  # "best" keeps the markers visible
    return fig
