"""A data-quality report before training: load your own data set, keep the good items, list the bad.

Real annotation exports are rarely clean. A mask saved at the wrong size, a
JPEG cut short by a failed copy, a grayscale scan among colour photographs,
a label 255 meaning "don't know" (PASCAL VOC's void), two images sharing an
id: each would crash training or, worse, silently teach the network
something wrong. :func:`load_checked` reads a folder of images and masks or
a COCO file, never stops at a bad item, and returns the clean items together
with a :class:`QualityReport` that gives one line per problem.

Problem kinds (:data:`PROBLEM_KINDS`):

``unreadable``     a file that cannot be decoded (truncated, not an image, missing)
``size mismatch``  an image and its mask (or its COCO ``height``/``width``) differ in size
``empty mask``     no foreground pixel at all (or a COCO annotation that decodes to nothing)
``bad label``      mask values outside the classes, or a COCO ``category_id`` not in ``categories``
``duplicate id``   two images with one id (COCO) or one name (folder), or two annotations with one id
``mixed channels`` an image whose channel count differs from the majority of the data set
``missing pair``   an image without a mask or a mask without an image

An item (one image) with a problem is excluded as a whole, except a COCO
annotation that is empty or has a duplicate id: that annotation alone is
dropped, and the line says so.

Examples
--------
>>> import tempfile
>>> from segtutor.datasets.examples import write_example_dataset
>>> root = write_example_dataset(tempfile.mkdtemp(), "folder", n_images=4, size=32)
>>> data, report = load_checked(root)
>>> len(data), report.n_problems
(4, 0)
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._validate import check_bool
from .export import semantic_to_instances

__all__ = ["load_checked", "QualityReport", "Problem", "CheckedData", "PROBLEM_KINDS", "channel_count",
           "mask_problems"]

PROBLEM_KINDS = ("unreadable", "size mismatch", "empty mask", "bad label", "duplicate id", "mixed channels",
                 "missing pair")

_IMAGE_ENDINGS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
# Refuse absurd images before decoding them (a 40,000 x 40,000 PNG is 4.8 GB of RGB floats).
_MAX_PIXELS = 50_000_000


class Problem(NamedTuple):
    """One problem: the item (file or id), its kind (one of :data:`PROBLEM_KINDS`) and what to do."""

    item: str
    kind: str
    detail: str


class QualityReport:
    """What :func:`load_checked` found: the problems, the items kept and the items excluded.

    Printing it (or leaving it last in a notebook cell) shows a table, one line per problem.

    Attributes
    ----------
    source : str
        The folder or file that was read.
    format : str
        ``"folder"`` or ``"coco"``.
    problems : list of Problem
    kept, excluded : list of str
        Item names (file stems or COCO file names).
    classes : tuple of str
        ``("background", ...)``, and ``classes_from`` says where they came from.
    """

    def __init__(self, source, fmt: str):
        if not isinstance(source, (str, Path)):
            raise TypeError(f"source should be the folder or file read (str or Path), got {type(source).__name__}.")
        if fmt not in ("folder", "coco"):
            raise ValueError(f"fmt should be 'folder' or 'coco', got {fmt!r}.")
        self.source, self.format = str(source), fmt
        self.problems: list[Problem] = []
        self.kept: list[str] = []
        self.excluded: list[str] = []
        self.classes: tuple = ("background",)
        self.classes_from = ""

    def add(self, item: str, kind: str, detail: str) -> None:
        """Record one problem of one item."""
        if kind not in PROBLEM_KINDS:  # a programming error in this module, not the student's
            raise ValueError(f"kind should be one of {PROBLEM_KINDS}, got {kind!r}.")
        self.problems.append(Problem(str(item), kind, detail))

    @property
    def n_problems(self) -> int:
        return len(self.problems)

    def counts(self) -> dict:
        """Number of problems of each kind, every kind listed (0 when absent)."""
        found = Counter(p.kind for p in self.problems)
        return {kind: found.get(kind, 0) for kind in PROBLEM_KINDS}

    def kinds(self) -> set:
        """The kinds of problem found."""
        return {p.kind for p in self.problems}

    def __str__(self) -> str:
        head = (f"Data-quality report for {self.source} ({self.format}): {len(self.kept)} item(s) kept, "
                f"{len(self.excluded)} excluded, {self.n_problems} problem(s).\n"
                f"Classes {list(self.classes)} ({self.classes_from}).")
        if not self.problems:
            return head + "\nNo problems found."
        width_item = min(max(len(p.item) for p in self.problems), 28)
        width_kind = max(len(p.kind) for p in self.problems)
        lines = [head, f"{'item':<{width_item}}  {'problem':<{width_kind}}  detail",
                 f"{'-' * width_item}  {'-' * width_kind}  {'-' * 40}"]
        for p in sorted(self.problems, key=lambda p: p.item):
            lines.append(f"{p.item[:width_item]:<{width_item}}  {p.kind:<{width_kind}}  {p.detail}")
        if self.excluded:
            lines.append("Excluded: " + ", ".join(self.excluded))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def flags(self, item: str) -> list:
        """Problem kinds recorded for one item."""
        return [p.kind for p in self.problems if p.item == item]


class CheckedData(NamedTuple):
    """The clean items of a data set, one entry per item in every list.

    Attributes
    ----------
    images : list of ndarray, float32 (H, W, C) in [0, 1]
        C is the data set's (majority) channel count, 1 or 3.
    masks : list of ndarray, int32 (H, W)
        Class ids, 0 for background (for COCO data: the instances painted
        with their class, later annotations on top).
    instances : list of ndarray, bool (K, H, W)
        One mask per object (for folder data: connected regions of each class).
    class_ids : list of ndarray, int32 (K,)
        1-based class of each instance.
    names : list of str
    classes : tuple of str
        ``("background", name_1, ...)``.
    """

    images: list
    masks: list
    instances: list
    class_ids: list
    names: list
    classes: tuple

    def __len__(self) -> int:  # NamedTuple's own len would be the field count
        return len(self.names)


# --------------------------------------------------------------------------------------------------
# Reading one file without ever raising


def channel_count(mode: str) -> int:
    """Channels of a Pillow image mode: ``"L"`` 1, ``"LA"`` 2, ``"RGB"`` 3, ``"RGBA"`` 4, palettes 3.

    Examples
    --------
    >>> channel_count("RGB"), channel_count("I;16"), channel_count("P")
    (3, 1, 3)
    """
    from PIL import ImageMode

    if not isinstance(mode, str):
        raise TypeError(f"mode should be a Pillow mode string such as 'RGB', got {type(mode).__name__}.")
    try:
        ImageMode.getmode(mode)
    except KeyError:  # a typo ('rgb') must not read as one channel
        raise ValueError(f"mode {mode!r} is not a Pillow image mode; expected one such as 'L', 'RGB' or 'RGBA' "
                         "(modes are case-sensitive), as in PIL.Image.open(path).mode.") from None
    if mode in ("P", "PA", "RGB", "YCbCr", "HSV", "LAB"):
        return 3
    if mode in ("RGBA", "RGBa", "RGBX", "CMYK"):
        return 4
    if mode in ("LA", "La"):
        return 2
    return 1  # "1", "L", "I", "F", "I;16", ...


def _open(path: Path):
    """(Pillow image, None) or (None, reason)."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        return None, f"file {path.name!r} is missing"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we check the size ourselves
            image = Image.open(path)
            if image.width * image.height > _MAX_PIXELS:
                return None, (f"{path.name} is {image.width}x{image.height}, over {_MAX_PIXELS:,} pixels; "
                              "downscale it first")
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return None, (f"cannot decode {path.name} ({type(exc).__name__}: {str(exc)[:80]}); "
                      "re-export or re-copy the file")
    return image, None


def _image_array(image) -> np.ndarray:
    """(H, W, C) float32 in [0, 1], C in 1..4, from a Pillow image."""
    channels = channel_count(image.mode)
    if image.mode in ("P", "PA", "YCbCr", "HSV", "LAB"):
        image = image.convert("RGB")
    elif image.mode == "CMYK":
        image = image.convert("RGBA")
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.float32)
    elif array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / 65535.0
    else:
        array = np.asarray(array, np.float32)
    array = np.clip(np.nan_to_num(array), 0, 1)
    if array.ndim == 2:
        array = array[..., None]
    return array[..., :channels].astype(np.float32)


def _mask_array(image):
    """(H, W) int64 class ids, or (None, reason) for a colour mask."""
    array = np.asarray(image)
    if array.ndim == 3:
        c = array[..., :3]
        if not (np.array_equal(c[..., 0], c[..., 1]) and np.array_equal(c[..., 0], c[..., 2])):
            return None, "is a colour (RGB) mask; save one class id per pixel in a single-channel PNG"
        array = c[..., 0]
    array = array.astype(np.int64)
    values = np.unique(array)
    if values.size <= 2 and set(values.tolist()) <= {0, 255} and 255 in values:
        array = array // 255  # black-and-white masks: white is the object
    return array, None


def mask_problems(mask, n_classes: int) -> list:
    """The problems of one class-id mask: ``"empty mask"`` and ``"bad label"`` lines.

    Parameters
    ----------
    mask : array_like of int, shape (H, W)
        Class ids, 0 for background.
    n_classes : int
        Classes including the background, so valid ids are ``0 .. n_classes - 1``.

    Returns
    -------
    list of (kind, detail) tuples
        Empty when the mask is fine.

    Examples
    --------
    >>> mask_problems([[0, 1], [0, 0]], 2)
    []
    >>> mask_problems([[0, 0], [0, 0]], 2)
    [('empty mask', 'no foreground pixel (every value is 0)')]
    >>> mask_problems([[0, 255], [3, 1]], 3)
    [('bad label', 'values [3, 255] are outside the classes 0..2 (2 pixels)')]
    """
    from .._validate import check_mask, check_positive_int

    m = check_mask(mask, "mask", ndim=2)
    if m.size == 0:
        raise ValueError(f"mask has no pixels (shape {m.shape}); expected an (H, W) mask of the image's size.")
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    out = []
    bad = (m < 0) | (m >= n_classes)
    if bad.any():
        values = np.unique(m[bad])
        shown = ", ".join(str(int(v)) for v in values[:6]) + (", ..." if values.size > 6 else "")
        out.append(("bad label", f"values [{shown}] are outside the classes 0..{n_classes - 1} "
                                 f"({int(bad.sum())} pixels)"))
    elif not (m > 0).any():
        out.append(("empty mask", "no foreground pixel (every value is 0)"))
    return out


def _keep_majority_channels(report: QualityReport, items: dict) -> None:
    """Exclude items whose channel count is not the most common one (ties: the larger count)."""
    counts = Counter(it["image"].shape[-1] for it in items.values())
    if len(counts) <= 1:
        return
    majority = max(counts, key=lambda c: (counts[c], c))
    for name in list(items):
        c = items[name]["image"].shape[-1]
        if c != majority:
            report.add(name, "mixed channels",
                       f"{c} channel(s) where {counts[majority]} of {sum(counts.values())} images have {majority}; "
                       f"convert it (e.g. Image.open(f).convert({'RGB' if majority >= 3 else 'L'!r})) and save again")
            del items[name]


def _finish(report: QualityReport, items: dict, all_names: list) -> CheckedData:
    _keep_majority_channels(report, items)
    names = [n for n in all_names if n in items]
    report.kept = names
    report.excluded = [n for n in all_names if n not in items]
    images = []
    for n in names:
        image = items[n]["image"]
        if image.shape[-1] in (2, 4):  # drop alpha: the networks see colour, not transparency
            image = image[..., :-1]
        images.append(np.ascontiguousarray(image, np.float32))
    return CheckedData(images, [items[n]["mask"] for n in names], [items[n]["instances"] for n in names],
                       [items[n]["class_ids"] for n in names], names, report.classes)


# --------------------------------------------------------------------------------------------------
# Folder of images and masks


def _classes_file(root: Path):
    path = root / "classes.txt"
    if not path.is_file():
        return None
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"{path} should list the class names one per line, background first, each once "
                         f"(at least two lines); got {names}.")
    return tuple(names)


def _list_files(folder: Path, endings) -> dict:
    """stem -> list of paths (a stem with two files is a duplicate id)."""
    found: dict = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in endings:
            found.setdefault(path.stem, []).append(path)
    return found


def _load_folder(root: Path, classes, keep_empty: bool):
    image_dir, mask_dir = root / "images", root / "masks"
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{str(root)!r} should hold an images/ and a masks/ folder (or be a COCO .json file); "
                f"{folder.name}/ is missing.")
    report = QualityReport(root, "folder")
    image_files = _list_files(image_dir, _IMAGE_ENDINGS)
    mask_files = _list_files(mask_dir, (".png", ".tif", ".tiff", ".bmp"))
    if not image_files:
        raise ValueError(f"no images ({', '.join(_IMAGE_ENDINGS)}) in {str(image_dir)!r}; the folder is empty.")
    if classes is None:
        classes = _classes_file(root)
        report.classes_from = "classes.txt" if classes is not None else ""
    else:
        report.classes_from = "the classes argument"

    all_names = sorted(set(image_files) | set(mask_files))
    loaded: dict = {}
    for name in all_names:
        images, masks = image_files.get(name, []), mask_files.get(name, [])
        if len(images) > 1:
            report.add(name, "duplicate id", f"{len(images)} images share the name {name!r} "
                       f"({', '.join(p.name for p in images)}); keep one")
            continue
        if not images or not masks:
            report.add(name, "missing pair", "mask without an image" if not images else
                       f"image {images[0].name} has no mask masks/{name}.png")
            continue
        pil_image, why = _open(images[0])
        if why:
            report.add(name, "unreadable", why)
            continue
        pil_mask, why = _open(masks[0])
        if why:
            report.add(name, "unreadable", "mask: " + why)
            continue
        mask, why = _mask_array(pil_mask)
        if why:
            report.add(name, "bad label", f"mask {masks[0].name} {why}")
            continue
        if (pil_image.height, pil_image.width) != mask.shape:
            report.add(name, "size mismatch", f"image {pil_image.height}x{pil_image.width}, mask "
                       f"{mask.shape[0]}x{mask.shape[1]}; resize the mask with nearest-neighbour or re-export it")
            continue
        loaded[name] = {"image": _image_array(pil_image), "mask": mask}

    if classes is None:
        top = max((int(it["mask"].max()) for it in loaded.values()), default=1)
        classes = ("background", *(f"class {c}" for c in range(1, max(top, 1) + 1)))
        report.classes_from = "inferred from the masks: add classes.txt to check label values"
    report.classes = tuple(classes)
    n_classes = len(classes)
    items = {}
    for name, it in loaded.items():
        found = mask_problems(it["mask"], n_classes)
        if any(kind == "bad label" for kind, _ in found):
            report.add(name, *found[0])
            continue
        if found:
            if not keep_empty:
                report.add(name, found[0][0], found[0][1] + "; excluded (keep_empty=True keeps background-only images)")
                continue
            report.add(name, found[0][0], found[0][1] + "; kept as a background-only image (keep_empty=True)")
        instances, ids = semantic_to_instances(it["mask"], n_classes)
        items[name] = {"image": it["image"], "mask": it["mask"].astype(np.int32), "instances": instances,
                       "class_ids": ids}
    return _finish(report, items, all_names), report


# --------------------------------------------------------------------------------------------------
# COCO


def _decode(ann, h: int, w: int) -> np.ndarray:
    """A COCO segmentation (polygons, RLE or compressed RLE) as an (h', w') bool mask."""
    from pycocotools import mask as mask_utils

    seg = ann["segmentation"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycocotools 2.0 predates NumPy 2's copy keyword
        if isinstance(seg, list):  # polygons
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
        elif isinstance(seg.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(seg, *seg["size"])
        else:
            rle = dict(seg, counts=seg["counts"].encode("ascii") if isinstance(seg["counts"], str) else seg["counts"])
        return mask_utils.decode(rle).astype(bool)


def _load_coco(json_path: Path, image_dir, keep_empty: bool):
    try:
        content = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(json_path)!r} is not a JSON file ({exc}); expected COCO instance annotations.") \
            from None
    if not isinstance(content, dict) or not all(isinstance(content.get(k), list)
                                                for k in ("images", "annotations", "categories")):
        raise ValueError(f"{str(json_path)!r} is not a COCO instances file: it needs the lists 'images', "
                         "'annotations' and 'categories'. Export 'COCO instance segmentation' from your tool.")
    if not content["images"]:
        raise ValueError(f"{str(json_path)!r} lists no images; the data set is empty.")
    image_dir = Path(image_dir) if image_dir is not None else _coco_image_dir(json_path)
    report = QualityReport(json_path, "coco")
    cats = {}
    for c in content["categories"]:
        if isinstance(c, dict) and "id" in c:
            cats.setdefault(c["id"], str(c.get("name", c["id"])))
    category_ids = sorted(cats, key=str)
    report.classes = ("background", *(cats[c] for c in category_ids))
    report.classes_from = "the COCO categories"
    class_of = {c: i + 1 for i, c in enumerate(category_ids)}

    names, seen_ids, infos = [], {}, {}
    for index, info in enumerate(content["images"]):
        name = str(info.get("file_name", f"images[{index}]")) if isinstance(info, dict) else f"images[{index}]"
        names.append(name)
        if not isinstance(info, dict) or "id" not in info:
            report.add(name, "unreadable", f"images[{index}] has no 'id'; every COCO image needs one")
            continue
        if info["id"] in seen_ids:
            report.add(name, "duplicate id", f"image id {info['id']} is already used by {seen_ids[info['id']]}; "
                       "both are excluded, since their annotations cannot be told apart; give every image its own id")
            if infos.pop(info["id"], None) is not None:  # neither copy can be trusted: which do annotations mean?
                report.add(seen_ids[info["id"]], "duplicate id", f"image id {info['id']} is also used by {name}")
            continue
        seen_ids[info["id"]] = name
        infos[info["id"]] = (name, info)

    anns_of: dict = {}
    seen_ann: set = set()
    for ann in content["annotations"]:
        if not isinstance(ann, dict) or ann.get("image_id") not in infos:
            continue
        name = infos[ann["image_id"]][0]
        if ann.get("id") in seen_ann:
            report.add(name, "duplicate id", f"annotation id {ann.get('id')} appears twice; the second is dropped")
            continue
        seen_ann.add(ann.get("id"))
        anns_of.setdefault(ann["image_id"], []).append(ann)

    items = {}
    for image_id, (name, info) in infos.items():
        anns = anns_of.get(image_id, [])
        unknown = sorted({str(a.get("category_id")) for a in anns if a.get("category_id") not in class_of})
        if unknown:
            report.add(name, "bad label", f"category_id {', '.join(unknown)} is not in 'categories' "
                       f"(ids {category_ids}); fix the export or add the category")
            continue
        pil_image, why = _open(image_dir / name)
        if why:
            report.add(name, "unreadable", why)
            continue
        h, w = info.get("height"), info.get("width")
        if (pil_image.height, pil_image.width) != (h, w):
            report.add(name, "size mismatch", f"the file is {pil_image.height}x{pil_image.width}, the COCO entry "
                       f"says {h}x{w}; was the image resized after annotation?")
            continue
        masks, ids, failed = [], [], None
        for ann in anns:
            try:
                mask = _decode(ann, h, w) if "segmentation" in ann else None
            except Exception as exc:  # pycocotools raises many types on malformed polygons/RLE
                failed = f"annotation {ann.get('id')} cannot be decoded ({type(exc).__name__})"
                break
            if mask is None:
                failed = f"annotation {ann.get('id')} has no 'segmentation'"
                break
            if mask.shape != (h, w):
                failed = (f"annotation {ann.get('id')} decodes to {mask.shape[0]}x{mask.shape[1]}, the image is "
                          f"{h}x{w}; the RLE 'size' must be [height, width]")
                break
            if not mask.any():
                report.add(name, "empty mask", f"annotation {ann.get('id')} decodes to no pixel; it is dropped")
                continue
            masks.append(mask)
            ids.append(class_of[ann["category_id"]])
        if failed:
            report.add(name, "size mismatch" if "decodes to" in failed else "unreadable", failed)
            continue
        if not masks:
            if not keep_empty:
                report.add(name, "empty mask", "no object annotated; excluded (keep_empty=True keeps it)")
                continue
            report.add(name, "empty mask", "no object annotated; kept as a background-only image (keep_empty=True)")
        instances = np.stack(masks) if masks else np.zeros((0, h, w), bool)
        class_ids = np.array(ids, np.int32)
        semantic = np.zeros((h, w), np.int32)
        for m, c in zip(instances, class_ids):
            semantic[m] = c
        items[name] = {"image": _image_array(pil_image), "mask": semantic, "instances": instances,
                       "class_ids": class_ids}
    return _finish(report, items, names), report


def _coco_image_dir(json_path: Path) -> Path:
    """Images beside the JSON file, or in an ``images/`` folder beside it."""
    beside = json_path.parent / "images"
    return beside if beside.is_dir() else json_path.parent


# --------------------------------------------------------------------------------------------------


def load_checked(path, *, image_dir=None, classes=None, keep_empty: bool = False):
    """Load a data set, check every item, and return the clean items with a report.

    Parameters
    ----------
    path : str or Path
        A folder holding ``images/`` and ``masks/`` (PNG masks named like
        their images, optional ``classes.txt`` with one class name a line,
        background first), a COCO ``.json`` file, or a folder holding exactly
        one ``.json`` file.
    image_dir : str or Path, optional
        COCO only: where the images are. Default: ``images/`` beside the
        JSON file if it exists, else the JSON file's folder.
    classes : sequence of str, optional
        Folder only: class names, background first; overrides ``classes.txt``.
        Without either, label values cannot be checked and the report says so.
    keep_empty : bool
        Keep images without any object (they are excluded by default, since
        an empty mask is usually a failed export).

    Returns
    -------
    data : CheckedData
        The clean items.
    report : QualityReport
        One line per problem; ``report.excluded`` lists the items left out.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or a folder lacks ``images/`` or ``masks/``.
    ValueError
        If the format is not recognised (not a folder, not COCO JSON) or the
        data set has no images at all. Problems of single items never raise.

    Examples
    --------
    See the module docstring.
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path should be a folder or a .json file path (str or Path), got {type(path).__name__}.")
    keep_empty = check_bool(keep_empty, "keep_empty")
    if image_dir is not None and not isinstance(image_dir, (str, Path)):
        raise TypeError(f"image_dir should be a folder path (str or Path), got {type(image_dir).__name__}.")
    if classes is not None:
        if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes should be a list of class names, background first, got {classes!r}.")
        classes = tuple(classes)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes should name the background and at least one class, each once; got {classes}.")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data set at {str(path)!r}; check the path.")
    if image_dir is not None and not Path(image_dir).is_dir():
        raise FileNotFoundError(f"image_dir {str(image_dir)!r} is not a folder; check the path.")
    if path.is_dir():
        if (path / "images").is_dir() and (path / "masks").is_dir():
            if image_dir is not None:  # silently reading images/ instead would hide the mistake
                raise ValueError(f"image_dir is for COCO files only; the folder data set {str(path)!r} "
                                 "keeps its images in images/. Leave image_dir out.")
            return _load_folder(path, classes, keep_empty)
        jsons = sorted(path.glob("*.json"))
        if len(jsons) == 1:
            path = jsons[0]
        elif len(jsons) > 1:
            raise ValueError(f"{str(path)!r} holds {len(jsons)} .json files; pass the COCO file itself.")
        elif not any(path.iterdir()):
            raise ValueError(f"the folder {str(path)!r} is empty; expected images/ and masks/, or a COCO .json file.")
        else:
            raise ValueError(f"{str(path)!r} is neither a folder with images/ and masks/ nor holds a COCO .json file.")
    if path.suffix.lower() != ".json":
        raise ValueError(f"{str(path)!r} is not a data set: expected a folder with images/ and masks/, or a COCO "
                         f".json file, got a {path.suffix or 'extension-less'} file.")
    return _load_coco(path, image_dir, keep_empty)

