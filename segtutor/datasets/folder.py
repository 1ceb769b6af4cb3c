"""Your own data: a folder of images and a folder of PNG masks.

The simplest layout for semantic segmentation, and the one most tools
export::

    images/cat_01.jpg      masks/cat_01.png
    images/cat_02.jpg      masks/cat_02.png

Each mask is a single-channel PNG holding a class id per pixel (0 for
background), or a palette PNG (as in PASCAL VOC; the palette index is the
class id), or a black-and-white PNG (0 and 255, read as 0 and 1). Files are
paired by their name without extension ("stem").

Examples
--------
>>> import numpy as np, tempfile
>>> from pathlib import Path
>>> from PIL import Image
>>> root = Path(tempfile.mkdtemp())
>>> (root / "images").mkdir(); (root / "masks").mkdir()
>>> Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(root / "images" / "a.png")
>>> Image.fromarray(np.eye(4, 6, dtype=np.uint8)).save(root / "masks" / "a.png")
>>> data = read_mask_folder(root / "images", root / "masks")
>>> data.images.shape, data.masks.shape, data.names
((1, 4, 6, 3), (1, 4, 6), ['a'])
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._validate import check_bool, check_path

__all__ = ["read_mask_folder", "read_image", "read_mask", "MaskFolder", "IMAGE_EXTENSIONS"]

#: File endings read as images (case does not matter).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class MaskFolder(NamedTuple):
    """Images, masks and names read by :func:`read_mask_folder`.

    Attributes
    ----------
    images : ndarray of float32, shape (N, H, W, 3), or list of (H, W, 3)
        Values in [0, 1]. Lists when ``stack=False``.
    masks : ndarray of int32, shape (N, H, W), or list of (H, W)
        Class ids.
    names : list of str
        The shared file stem of each pair, in sorted order.
    """

    images: object
    masks: object
    names: list


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(
            f"path: could not read {str(path)!r} as an image ({type(exc).__name__}: {exc}). "
            "Is the file complete, and really a PNG/JPEG/TIFF? Re-export it or remove it from the folder."
        ) from None
    return image


def read_image(path, *, as_gray: bool = False) -> np.ndarray:
    """Read an image file as float32 in [0, 1].

    Parameters
    ----------
    path : str or Path
    as_gray : bool
        Return (H, W) luminance instead of (H, W, 3) RGB.

    Returns
    -------
    ndarray of float32, shape (H, W, 3) or (H, W)
        8-bit and 16-bit files are scaled by 255 and 65535; the alpha
        channel, if any, is dropped.
    """
    path = check_path(path, "path")
    as_gray = check_bool(as_gray, "as_gray")
    if not path.is_file():
        raise FileNotFoundError(f"path: no image file at {str(path)!r}.")
    image = _open(path)
    if image.mode in ("P", "PA", "LA", "CMYK", "YCbCr", "HSV", "1"):
        image = image.convert("RGBA" if image.mode in ("P", "PA") else "RGB")
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.integer):
        # 16-bit microscopy TIFFs and PNGs come back as uint16 or int32.
        if array.dtype == np.uint8:
            top = 255.0
        elif array.max(initial=0) <= 65535:
            top = 65535.0
        else:
            top = float(array.max())
        array = array.astype(np.float32) / top
    else:
        array = array.astype(np.float32)
    if array.ndim == 3 and array.shape[2] == 4:
        array = array[..., :3]
    if as_gray:
        if array.ndim == 3:
            array = array @ np.array([0.2125, 0.7154, 0.0721], np.float32)  # luma with skimage's rgb2gray weights
        return np.clip(array, 0, 1).astype(np.float32)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    return np.clip(array, 0, 1).astype(np.float32)


def read_mask(path) -> np.ndarray:
    """Read a PNG mask as (H, W) int32 class ids.

    Single-channel files give their values, palette files their palette
    indices, and files holding only 0 and white (255, or 65535 in a 16-bit
    file) give 0 and 1. An RGB mask
    whose three channels are equal is read as single-channel.

    Raises
    ------
    ValueError
        For colour-coded RGB masks, which need a colour-to-class table first.
    """
    path = check_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"path: no mask file at {str(path)!r}.")
    image = _open(path)
    array = np.asarray(image)  # palette images give their indices here
    if array.ndim == 3:
        channels = array[..., :3]
        if not (np.all(channels[..., 0] == channels[..., 1]) and np.all(channels[..., 0] == channels[..., 2])):
            raise ValueError(
                f"mask {str(path)!r} is a colour (RGB) image; expected one class id per pixel. "
                "Convert colours to ids first, e.g. ids = np.zeros(rgb.shape[:2], int); "
                "ids[(rgb == [255, 0, 0]).all(-1)] = 1, then save a single-channel PNG."
            )
        array = channels[..., 0]
    array = array.astype(np.int64)
    values = np.unique(array)
    white = 65535 if 65535 in values else 255
    if values.size <= 2 and set(values.tolist()) <= {0, white} and white in values:
        array = array // white  # a black-and-white mask (8- or 16-bit): white is the object
    return array.astype(np.int32)


def _listing(folder: Path, extensions, what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{what}_dir: the {what} folder {str(folder)!r} does not exist; check the path.")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        name = path.name.lower()
        ending = next((e for e in extensions if name.endswith(e.lower())), None)
        if ending is None:
            continue
        stem = path.name[: -len(ending)]
        if stem in files:
            raise ValueError(
                f"{what} folder has two files for {stem!r}: {files[stem].name} and {path.name}; keep one."
            )
        files[stem] = path
    return files


def _some(names) -> str:
    names = sorted(names)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def read_mask_folder(
    image_dir, mask_dir, *, suffix: str = ".png", as_gray: bool = False, stack: bool = True
) -> MaskFolder:
    """Read images and their PNG masks, paired by file name.

    Parameters
    ----------
    image_dir, mask_dir : str or Path
        Folders of images (PNG, JPEG, TIFF, BMP) and of masks.
    suffix : str
        How a mask's name ends after the image's stem: ``".png"`` pairs
        ``cat.jpg`` with ``cat.png``; ``"_mask.png"`` pairs it with
        ``cat_mask.png``.
    as_gray : bool
        Read images as (H, W) luminance instead of (H, W, 3) RGB.
    stack : bool
        Stack into arrays (every image must then have the same size);
        ``False`` returns lists, for images of different sizes.

    Returns
    -------
    MaskFolder
        ``images`` float32 in [0, 1], ``masks`` int32 class ids, ``names``
        the stems in sorted order.

    Raises
    ------
    FileNotFoundError
        If a folder does not exist.
    ValueError
        For images without masks or masks without images, an image and mask
        of different sizes, unreadable files, an empty folder, or images of
        different sizes with ``stack=True``.

    Examples
    --------
    See the module docstring.
    """
    if not isinstance(suffix, str) or not suffix:
        raise ValueError(f"suffix should be a non-empty string such as '.png' or '_mask.png', got {suffix!r}.")
    image_dir, mask_dir = check_path(image_dir, "image_dir"), check_path(mask_dir, "mask_dir")
    as_gray = check_bool(as_gray, "as_gray")
    stack = check_bool(stack, "stack")
    images_by_stem = _listing(image_dir, IMAGE_EXTENSIONS, "image")
    masks_by_stem = _listing(mask_dir, (suffix,), "mask")
    if not images_by_stem:
        raise ValueError(
            f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {str(image_dir)!r}; check the folder."
        )
    lonely_images = images_by_stem.keys() - masks_by_stem.keys()
    lonely_masks = masks_by_stem.keys() - images_by_stem.keys()
    if lonely_images or lonely_masks:
        parts = []
        if lonely_images:
            parts.append(f"{len(lonely_images)} image(s) have no mask named <stem>{suffix}: {_some(lonely_images)}")
        if lonely_masks:
            parts.append(f"{len(lonely_masks)} mask(s) have no image: {_some(lonely_masks)}")
        raise ValueError(
            "; ".join(parts) + ". Every image needs a mask with the same name; "
            "if your masks are named like 'cat_mask.png', pass suffix='_mask.png'."
        )

    names = sorted(images_by_stem)
    images, masks = [], []
    for name in names:
        image = read_image(images_by_stem[name], as_gray=as_gray)
        mask = read_mask(masks_by_stem[name])
        if image.shape[:2] != mask.shape:
            raise ValueError(
                f"{images_by_stem[name].name} is {image.shape[0]}x{image.shape[1]} but its mask "
                f"{masks_by_stem[name].name} is {mask.shape[0]}x{mask.shape[1]}; "
                "the mask must have the image's size (resize masks with nearest-neighbour only)."
            )
        images.append(image)
        masks.append(mask)
    if not stack:
        return MaskFolder(images, masks, names)
    sizes = {im.shape[:2] for im in images}
    if len(sizes) > 1:
        raise ValueError(
            f"the images have {len(sizes)} different sizes ({_some(str(s) for s in sizes)}), so they "
            "cannot be stacked into one array; pass stack=False for lists, or resize them to one size."
        )
    return MaskFolder(np.stack(images), np.stack(masks), names)
