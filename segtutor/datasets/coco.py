"""Read and write COCO instance annotations (Lin et al. 2014).

COCO's JSON format is what most annotation tools export (CVAT, Label Studio,
makesense.ai...). A file lists ``images``, ``categories`` and
``annotations``; each annotation is one object instance with a
``segmentation`` (polygons, or run-length encoding "RLE") and a ``bbox``
``[x, y, width, height]``. The decoding is done by ``pycocotools``, the
reference implementation.

This module converts to and from the course's own layout: per image, masks
(K, H, W) bool, class ids (K,) and boxes (K, 4) in the course convention
``(y1, x1, y2, x2)``, exclusive ends (see :mod:`segtutor.boxes`).

Examples
--------
>>> import numpy as np, tempfile, os
>>> masks = np.zeros((1, 4, 5), bool); masks[0, 1:3, 2:4] = True
>>> record = {"file_name": "a.png", "masks": masks, "class_ids": np.array([1])}
>>> path = os.path.join(tempfile.mkdtemp(), "ann.json")
>>> write_coco(path, [record], ["cell"])
>>> back = read_coco(path)[0]
>>> bool((back["masks"] == masks).all()), back["boxes"].tolist(), back["category_names"]
(True, [[1, 2, 3, 4]], ('background', 'cell'))
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import numbers
import warnings
from pathlib import Path

import numpy as np

from .._files import atomic_write_text
from .._validate import check_mask, check_names, check_output_file, check_path, check_size_budget
from ..boxes import boxes_to_xywh, masks_to_boxes

__all__ = ["read_coco", "write_coco"]


def _load_image(path: Path) -> np.ndarray:
    from .folder import read_image

    return read_image(path)


def read_coco(json_path, image_dir=None) -> list[dict]:
    """Read a COCO instance-segmentation file into per-image records.

    Parameters
    ----------
    json_path : str or Path
        The COCO JSON file.
    image_dir : str or Path, optional
        Folder holding the images named by ``file_name``. When given, each
        record also gets ``"image"``: float32 in [0, 1], shape (H, W, 3).

    Returns
    -------
    list of dict
        One record per image, in the file's order, with keys

        - ``"file_name"`` (str), ``"image_id"`` (int), ``"height"``, ``"width"``,
        - ``"masks"``: (K, H, W) bool, one per instance,
        - ``"class_ids"``: (K,) int32, 1-based indices into
          ``category_names`` (COCO's own ids may have gaps; these do not),
        - ``"category_ids"``: (K,) int64, COCO's original category ids,
        - ``"boxes"``: (K, 4) int32, ``(y1, x1, y2, x2)`` of the masks,
        - ``"iscrowd"``: (K,) bool, COCO's flag for a group of objects,
        - ``"category_names"``: ``("background", *names)``, ordered by COCO id.

    Raises
    ------
    FileNotFoundError
        If the JSON file or an image is missing.
    ValueError
        If the file is not COCO instance annotations.

    Notes
    -----
    Annotations whose mask is empty (for example a polygon with fewer than
    three points, or one lying outside the image) are skipped: an empty mask
    has a zero-size box, which breaks box regression with a ``log(0)``.
    Boxes come from the decoded masks, not from COCO's ``bbox`` field, so
    they always match the masks exactly.

    Examples
    --------
    See the module docstring.
    """
    from pycocotools.coco import COCO

    json_path = check_path(json_path, "json_path")
    if image_dir is not None:
        image_dir = check_path(image_dir, "image_dir")
    if not json_path.is_file():
        raise FileNotFoundError(
            f"json_path: no COCO file at {str(json_path)!r}; check the path (it is relative to "
            f"{os.getcwd()!r})."
        )
    try:
        with open(json_path, encoding="utf-8") as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"json_path {str(json_path)!r} is not valid JSON text: {exc}.") from exc
    missing = [key for key in ("images", "annotations", "categories") if key not in content]
    if not isinstance(content, dict) or missing:
        raise ValueError(
            f"{str(json_path)!r} is not a COCO instances file: it lacks {missing}. "
            "Export 'COCO instance segmentation' (often called 'COCO 1.0') from your annotation tool."
        )

    for info in content["images"]:  # before pycocotools allocates a mask of the declared size
        _declared_size(info, json_path)
    ids = [info.get("id") for info in content["images"]]
    if len(set(map(repr, ids))) != len(ids):
        # pycocotools would merge their annotations into both images.
        twice = sorted({repr(i) for i in ids if ids.count(i) > 1})
        raise ValueError(f"json_path {json_path.name} lists image id(s) {', '.join(twice)} more than once; "
                         "each image needs its own 'id'. Fix the export.")
    coco = COCO()
    coco.dataset = content
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco.createIndex()

    category_ids = sorted(coco.cats)
    names = ("background", *(str(coco.cats[c]["name"]) for c in category_ids))
    class_of = {c: i + 1 for i, c in enumerate(category_ids)}
    image_dir = Path(image_dir) if image_dir is not None else None

    records = []
    for info in content["images"]:
        h, w = _declared_size(info, json_path)
        masks, cats, crowd = [], [], []
        for ann in coco.imgToAnns.get(info["id"], []):
            if ann["category_id"] not in class_of:
                raise ValueError(
                    f"annotation {ann.get('id')} has category_id {ann['category_id']}, "
                    f"which is not in 'categories' (ids {category_ids}). Fix the export or add the category."
                )
            with warnings.catch_warnings():
                # pycocotools 2.0 predates NumPy 2's copy keyword; harmless here.
                warnings.filterwarnings("ignore", message=".*copy keyword.*", category=DeprecationWarning)
                try:
                    mask = coco.annToMask(ann).astype(bool)
                except Exception as exc:  # pycocotools raises whatever its parser meets
                    raise ValueError(
                        f"json_path {json_path.name}: annotation {ann.get('id')} has a segmentation that cannot be "
                        f"decoded ({type(exc).__name__}: {exc}); expected polygons [[x1, y1, ...]] or an RLE "
                        "{'size': [h, w], 'counts': ...}. Fix the export."
                    ) from None
            if mask.shape != (h, w):
                raise ValueError(
                    f"annotation {ann.get('id')} decodes to a {mask.shape} mask but image "
                    f"{info['file_name']!r} is {h}x{w}; the RLE 'size' must be [height, width]."
                )
            if not mask.any():
                continue
            masks.append(mask)
            cats.append(ann["category_id"])
            crowd.append(bool(ann.get("iscrowd", 0)))
        mask_array = np.stack(masks) if masks else np.zeros((0, h, w), bool)
        record = {
            "file_name": info["file_name"],
            "image_id": info["id"],
            "height": h,
            "width": w,
            "masks": mask_array,
            "class_ids": np.array([class_of[c] for c in cats], np.int32),
            "category_ids": np.array(cats, np.int64),
            "boxes": masks_to_boxes(mask_array),
            "iscrowd": np.array(crowd, bool),
            "category_names": names,
        }
        if image_dir is not None:
            path = image_dir / info["file_name"]
            if not path.is_file():
                raise FileNotFoundError(
                    f"image {info['file_name']!r} listed in {json_path.name} is not in {str(image_dir)!r}; "
                    "pass the folder that holds the images as image_dir."
                )
            image = _load_image(path)
            if image.shape[:2] != (h, w):
                raise ValueError(
                    f"image {info['file_name']!r} is {image.shape[0]}x{image.shape[1]} but the COCO file "
                    f"says {h}x{w}; was the image resized after annotation?"
                )
            record["image"] = image
        records.append(record)
    return records


def _category_names(categories) -> list[str]:
    names = check_names(categories, "categories")
    if names[0] == "background":
        names = names[1:]  # accept ShapesData.class_names as it is
    if not names:
        raise ValueError("categories names only the background; give one name per class id, e.g. ['cell'].")
    return names


def write_coco(json_path, records, categories) -> None:
    """Write instance masks to a COCO JSON file, masks as compressed RLE.

    Parameters
    ----------
    json_path : str or Path
        Where to write; the folder must exist. The file is replaced
        atomically, so a crash never leaves half a file.
    records : sequence of dict
        One dict per image with ``"masks"`` (K, H, W) bool and
        ``"class_ids"`` (K,) ints in 1..len(categories); optional
        ``"file_name"`` (default ``"000000.png"``, ...) and ``"image_id"``
        (default: position + 1). Records from :func:`read_coco` work as they
        are.
    categories : sequence of str
        Class names: class id ``c`` is ``categories[c - 1]`` and gets COCO
        id ``c``. A leading ``"background"`` is dropped, so
        ``ShapesData.class_names`` can be passed directly.

    Raises
    ------
    ValueError
        For malformed records, with the record's index.

    Examples
    --------
    See the module docstring.
    """
    from pycocotools import mask as mask_utils

    names = _category_names(categories)
    json_path = check_output_file(json_path, "json_path")
    if not json_path.parent.is_dir():
        raise ValueError(
            f"the folder {str(json_path.parent)!r} does not exist; create it first "
            "(Path(...).mkdir(parents=True, exist_ok=True))."
        )
    if isinstance(records, dict):
        raise ValueError("records should be a list of dicts, one per image; wrap a single record as [record].")
    if not isinstance(records, (list, tuple)):
        raise TypeError(f"records should be a list of dicts, one per image, got {type(records).__name__}.")

    images, annotations = [], []
    seen_ids: set[int] = set()
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "masks" not in record or "class_ids" not in record:
            raise ValueError(
                f"records[{index}] should be a dict with 'masks' (K, H, W) and 'class_ids' (K,), "
                f"got {type(record).__name__} with keys {sorted(record) if isinstance(record, dict) else '-'}."
            )
        masks = check_mask(record["masks"], f"records[{index}]['masks']", ndim=3).astype(bool)
        class_ids = np.asarray(record["class_ids"]).reshape(-1)
        if class_ids.shape[0] != masks.shape[0]:
            raise ValueError(
                f"records[{index}] has {masks.shape[0]} masks but {class_ids.shape[0]} class_ids; "
                "give one class id per mask."
            )
        if class_ids.size and (
            not np.issubdtype(class_ids.dtype, np.integer)
            or class_ids.min() < 1
            or class_ids.max() > len(names)
        ):
            raise ValueError(
                f"records[{index}]['class_ids'] should be integers in 1..{len(names)} "
                f"(one per category), got {class_ids.tolist()}. 0 is the background and has no annotations."
            )
        h, w = masks.shape[1:]
        image_id = record.get("image_id", index + 1)
        if isinstance(image_id, (bool, np.bool_)) or not isinstance(image_id, numbers.Integral):
            raise ValueError(f"records[{index}]['image_id'] should be an integer, got {image_id!r}.")
        image_id = int(image_id)
        file_name = record.get("file_name", f"{index:06d}.png")
        if not isinstance(file_name, str) or not file_name.strip():
            raise ValueError(f"records[{index}]['file_name'] should be a non-empty string such as 'a.png', "
                             f"got {file_name!r}.")
        if image_id in seen_ids:
            raise ValueError(
                f"records[{index}] has image_id {image_id}, already used by an earlier record; "
                "image ids must be unique (drop 'image_id' to number the records 1, 2, ...)."
            )
        seen_ids.add(image_id)
        images.append(
            {
                "id": image_id,
                "file_name": file_name,
                "height": int(h),
                "width": int(w),
            }
        )
        boxes = boxes_to_xywh(masks_to_boxes(masks))
        for mask, class_id, box in zip(masks, class_ids, boxes):
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")  # bytes are not JSON
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(class_id),
                    "segmentation": rle,
                    "area": int(mask.sum()),
                    "bbox": [float(v) for v in box],
                    "iscrowd": 0,
                }
            )
    content = {
        "info": {"description": "written by segtutor.datasets.write_coco"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(names)],
    }
    try:
        atomic_write_text(json_path, json.dumps(content))
    except OSError as exc:
        raise ValueError(f"json_path: cannot write {str(json_path)!r} ({exc.strerror or exc}); "
                         "choose a folder you can write to.") from exc


def _declared_size(info, json_path: Path) -> tuple[int, int]:
    """An image entry's (height, width), checked to be whole, positive and of a sane size."""
    h, w = info.get("height") if isinstance(info, dict) else None, info.get("width") if isinstance(info, dict) else None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in (h, w)):
        raise ValueError(
            f"json_path {json_path.name}: image entry {info!r:.120} should have positive integer 'height' and "
            "'width'. Fix the export."
        )
    check_size_budget(int(h) * int(w), "json_path", what=f"image {info.get('file_name')!r} ({h} x {w} declared)")
    return int(h), int(w)
