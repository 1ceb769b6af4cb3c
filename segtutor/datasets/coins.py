"""The scikit-image coins photograph with hand-made instance masks.

``skimage.data.coins()`` is a 303 x 384 grayscale photograph of 24 Greek
coins from Pompeii (Brooklyn Museum collection, no known copyright
restrictions) on a dark, unevenly lit background. It ships inside
scikit-image, so nothing is downloaded.

The ground truth is one ellipse per coin, placed and checked by eye on
zoomed overlays (see ``datasets/coins/CARD.md``), stored as COCO polygons in
the package's data, ``segtutor/data/coins_instances.json`` (built from
``datasets/coins/coins_shapes.csv`` by ``datasets/coins/make_annotations.py``). None of it comes from a
thresholding, watershed, clustering or superpixel method, so notebook 02 can
score those methods against it fairly. The outlines are within about one
pixel of the rim on most of each coin, and up to two pixels off where a coin
is not elliptical (coins 7, 9 and 17).

Where the annotations are found
-------------------------------
``$SEGTUTOR_DATA_DIR/coins/coins_instances.json`` when the environment
variable ``SEGTUTOR_DATA_DIR`` is set (a folder with one sub-folder per data
set, laid out like the repository's ``datasets/``), otherwise the
package's own ``segtutor/data/coins_instances.json``, read with
:mod:`importlib.resources`, so a wheel install works too.

Examples
--------
>>> from segtutor.datasets import load_coins
>>> coins = load_coins()
>>> coins.image.shape, coins.masks.shape, coins.boxes.shape
((303, 384), (24, 303, 384), (24, 4))
>>> int(coins.labels.max())
24
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
import importlib.resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["Coins", "load_coins", "coins_annotation_path", "DATA_DIR_ENV_VAR"]

#: Environment variable that points at a folder of data sets (one sub-folder each).
DATA_DIR_ENV_VAR = "SEGTUTOR_DATA_DIR"

_FILE_NAME = "coins_instances.json"
_SHAPE = (303, 384)
_N_COINS = 24


class Coins(NamedTuple):
    """The coins photograph and its ground truth; unpacks as a 4-tuple.

    Attributes
    ----------
    image : ndarray of uint8, shape (303, 384)
        The grayscale photograph, ``skimage.data.coins()``.
    labels : ndarray of int32, shape (303, 384)
        0 for background, 1..24 for the coins in reading order (top row
        first, left to right within a row).
    masks : ndarray of bool, shape (24, 303, 384)
        ``masks[i]`` is coin ``i + 1``; ``masks[i] == (labels == i + 1)``.
    boxes : ndarray of int32, shape (24, 4)
        Tight boxes ``(y1, x1, y2, x2)`` with exclusive ``y2``/``x2``, the
        course convention of :mod:`segtutor.boxes`.
    """

    image: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray


def coins_annotation_path() -> Path:
    """Return where :func:`load_coins` looks for ``coins_instances.json``.

    Returns
    -------
    path : pathlib.Path
        ``$SEGTUTOR_DATA_DIR/coins/coins_instances.json`` if the variable is
        set and not empty, else the file packaged in ``segtutor/data``.
        The file may not exist; :func:`load_coins` says so if it does not.

    Examples
    --------
    >>> coins_annotation_path().name
    'coins_instances.json'
    """
    root = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if root:
        return Path(root).expanduser() / "coins" / _FILE_NAME
    return Path(str(importlib.resources.files("segtutor") / "data" / _FILE_NAME))


def _read_coco(path: Path):
    """Load a COCO file without pycocotools' progress messages on stdout."""
    from pycocotools.coco import COCO

    if not path.is_file():
        source = (
            f"{DATA_DIR_ENV_VAR}={os.environ[DATA_DIR_ENV_VAR]!r}"
            if os.environ.get(DATA_DIR_ENV_VAR, "").strip()
            else "the installed package's segtutor/data folder"
        )
        raise FileNotFoundError(
            f"The coins annotations were not found at {path} (looked in {source}). "
            "They ship inside the package: reinstall it (pip install .), or set "
            f"{DATA_DIR_ENV_VAR} to a folder that holds coins/{_FILE_NAME}. "
            "To rebuild the file, run `python datasets/coins/make_annotations.py`."
        )
    try:
        dataset = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path} is not valid JSON ({exc}). Restore it from the repository, or rebuild it with "
            "`python datasets/coins/make_annotations.py`."
        ) from exc
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_coins() -> Coins:
    """Load the coins photograph with one ground-truth mask per coin.

    Returns
    -------
    coins : Coins
        ``(image, labels, masks, boxes)``: the (303, 384) uint8 image, int32
        instance labels 1..24 in reading order, (24, 303, 384) bool masks and
        (24, 4) int32 boxes ``(y1, x1, y2, x2)``, ``y2``/``x2`` exclusive.

    Raises
    ------
    FileNotFoundError
        If the annotation file is missing.
    ValueError
        If the annotation file is unreadable, or does not describe
        24 non-overlapping coins on a 303 x 384 image.

    Notes
    -----
    The masks are rasterised from the COCO polygons by pycocotools
    (``COCO.annToMask``). Coins do not touch (the closest two are 8 pixels
    apart), so ``labels`` loses nothing that ``masks`` holds.

    Examples
    --------
    >>> image, labels, masks, boxes = load_coins()
    >>> bool((masks[0] == (labels == 1)).all())
    True
    >>> y1, x1, y2, x2 = boxes[0]
    >>> bool(masks[0][y1:y2, x1:x2].sum() == masks[0].sum())
    True
    """
    from skimage import data

    from ..boxes import xywh_to_boxes

    path = coins_annotation_path()
    coco = _read_coco(path)

    images = coco.dataset.get("images", [])
    if len(images) != 1 or (images[0].get("height"), images[0].get("width")) != _SHAPE:
        raise ValueError(
            f"{path} should describe one image of height {_SHAPE[0]} and width {_SHAPE[1]}, "
            f"got {[(im.get('height'), im.get('width')) for im in images]}. "
            "Restore the file from the repository."
        )
    # Annotation ids are the coins' reading order (see make_annotations.py).
    anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=[images[0]["id"]])), key=lambda a: a["id"])
    if len(anns) != _N_COINS:
        raise ValueError(f"{path} should hold {_N_COINS} coin annotations, got {len(anns)}. Restore the file.")

    with warnings.catch_warnings():
        # pycocotools 2.0.x warns about NumPy 2's ``copy`` keyword on every
        # decode; it is harmless and says nothing a student can act on.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pycocotools")
        masks = np.stack([coco.annToMask(a).astype(bool) for a in anns])
    if (masks.sum(axis=0) > 1).any():
        raise ValueError(f"{path} has overlapping coins; every pixel should belong to at most one coin.")
    labels = np.zeros(_SHAPE, np.int32)
    for number, mask in enumerate(masks, start=1):
        labels[mask] = number

    image = data.coins()
    if image.shape != _SHAPE:
        raise ValueError(
            f"skimage.data.coins() has shape {image.shape}, expected {_SHAPE}; "
            "this scikit-image version ships a different photograph. Install scikit-image>=0.24."
        )
    # The COCO boxes are tight around the rasterised polygons (tests/test_coins.py
    # checks it), so no box is computed from the masks here: the grading
    # sandbox holds back masks_to_boxes, the bounding-box exercise's reference.
    boxes = xywh_to_boxes(np.array([a["bbox"] for a in anns], dtype=np.float64)).astype(np.int32)
    return Coins(image=image, labels=labels, masks=masks, boxes=boxes)
