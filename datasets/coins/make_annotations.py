"""Build ``coins_instances.json`` from the hand-placed ellipses in ``coins_shapes.csv``.

The ground truth for scikit-image's ``coins()`` photograph was placed by eye:
one ellipse per coin (centre, radii, angle), checked on zoomed overlays and
adjusted until each outline sat on the coin's rim (see ``CARD.md``). This
script is the only step between those numbers and the COCO file, and it is
deterministic: running it again reproduces the committed JSON byte for byte.

Conventions
-----------
* ``cx``, ``cy`` are in array-index coordinates: the centre of pixel
  ``image[r, c]`` is ``(x, y) = (c, r)``, as in ``matplotlib.pyplot.imshow``.
* ``rx`` is the semi-axis along the image x axis before rotation, ``ry`` the
  one along y; ``angle`` (degrees) turns the ellipse counter-clockwise as seen
  on screen (the y axis points down).
* COCO polygons use continuous coordinates in which pixel ``(r, c)`` covers
  ``[c, c + 1) x [r, r + 1)``, so every vertex is shifted by +0.5.

Usage
-----
    python datasets/coins/make_annotations.py            # rewrite the JSON
    python datasets/coins/make_annotations.py --check    # only check: exit 1 if the JSON is stale
    python datasets/coins/make_annotations.py --render /tmp/coins_check   # by-eye check images
    python datasets/coins/make_annotations.py --hough    # print the Hough first guess (a record only)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES_CSV = HERE / "coins_shapes.csv"
#: The packaged annotations (loaded with importlib.resources); this folder keeps the source CSV.
JSON_PATH = HERE.parents[1] / "segtutor" / "data" / "coins_instances.json"

HEIGHT, WIDTH = 303, 384
# 96 vertices keep the polygon within 0.02 px of the ellipse for the largest
# coin (semi-axis 32 px: 32 * (1 - cos(pi / 96)) ~ 0.017 px).
N_VERTICES = 96
# Two decimals are far below the by-eye error and keep the file diff-friendly.
DECIMALS = 2


def read_shapes(path: Path = SHAPES_CSV) -> list[dict]:
    """Read the ellipse table: one dict per coin with id, cx, cy, ry, rx, angle, note."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    shapes = []
    for row in rows:
        shapes.append(
            {
                "id": int(row["id"]),
                "cx": float(row["cx"]),
                "cy": float(row["cy"]),
                "ry": float(row["ry"]),
                "rx": float(row["rx"]),
                "angle": float(row["angle"]),
                "note": row["note"].strip(),
            }
        )
    ids = [s["id"] for s in shapes]
    if ids != list(range(1, len(shapes) + 1)):
        raise ValueError(f"{path}: ids must be 1..N in reading order, got {ids}.")
    return shapes


def ellipse_points(shape: dict, n: int = N_VERTICES) -> np.ndarray:
    """Return ``n`` points (x, y) on the ellipse, in array-index coordinates, shape (n, 2)."""
    t = 2.0 * np.pi * np.arange(n) / n
    theta = math.radians(shape["angle"])
    u = shape["rx"] * np.cos(t)
    v = shape["ry"] * np.sin(t)
    # Counter-clockwise on screen, where y points down.
    x = shape["cx"] + u * math.cos(theta) + v * math.sin(theta)
    y = shape["cy"] - u * math.sin(theta) + v * math.cos(theta)
    return np.stack([x, y], axis=1)


def coco_polygon(shape: dict) -> list[float]:
    """Flat COCO polygon ``[x0, y0, x1, y1, ...]`` for one ellipse."""
    pts = ellipse_points(shape) + 0.5
    pts = np.clip(pts, 0.0, [WIDTH, HEIGHT])
    return [round(float(v), DECIMALS) for v in pts.ravel()]


def build_coco(shapes: list[dict]) -> dict:
    """Assemble the COCO dictionary; bbox and area come from the rasterised polygon."""
    from pycocotools import mask as mask_utils

    annotations = []
    for s in shapes:
        polygon = coco_polygon(s)
        rle = mask_utils.merge(mask_utils.frPyObjects([polygon], HEIGHT, WIDTH))
        x, y, w, h = (int(v) for v in mask_utils.toBbox(rle))
        annotations.append(
            {
                "id": s["id"],
                "image_id": 1,
                "category_id": 1,
                "segmentation": [polygon],
                "area": int(mask_utils.area(rle)),
                "bbox": [x, y, w, h],
                "iscrowd": 0,
            }
        )
    return {
        "info": {
            "description": "Instance masks for every coin in skimage.data.coins(), placed by eye as ellipses.",
            "version": "1.0",
            "year": 2025,
            "contributor": "segtutor",
        },
        "licenses": [{"id": 1, "name": "BSD-3-Clause (annotations)", "url": ""}],
        "images": [
            {
                "id": 1,
                "file_name": "skimage.data.coins.png",
                "height": HEIGHT,
                "width": WIDTH,
                "license": 1,
            }
        ],
        "categories": [{"id": 1, "name": "coin", "supercategory": "object"}],
        "annotations": annotations,
    }


def dumps(coco: dict) -> str:
    """Serialise with a fixed layout: one line per top-level entry and per coin.

    One line per coin keeps the file byte-for-byte stable and makes a diff show
    which coins changed.
    """
    compact = {"separators": (", ", ": "), "ensure_ascii": True}
    parts = []
    for key, value in coco.items():
        if key == "annotations":
            body = ",\n".join("  " + json.dumps(a, **compact) for a in value)
            parts.append(f' "{key}": [\n{body}\n ]')
        else:
            parts.append(f' "{key}": {json.dumps(value, **compact)}')
    return "{\n" + ",\n".join(parts) + "\n}\n"


def render_checks(shapes: list[dict], out_dir: Path) -> list[Path]:
    """Write the overlays used to check the shapes by eye; return their paths.

    ``overview.png`` shows every outline on the whole photograph; each
    ``coins_AA-BB.png`` shows three coins twice, plain and contrast-stretched
    (so the rim against the dark background is easy to judge), with pixel
    coordinates on the axes for reading off corrections.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage import data

    image = data.coins()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, ax = plt.subplots(figsize=(WIDTH / 40, HEIGHT / 40), dpi=120)
    ax.imshow(image, cmap="gray", interpolation="nearest")
    for s in shapes:
        pts = ellipse_points(s)
        ax.plot(*np.vstack([pts, pts[:1]]).T, color="red", lw=0.8)
        ax.text(s["cx"], s["cy"], str(s["id"]), color="yellow", ha="center", va="center", fontsize=9)
    ax.set_axis_off()
    fig.tight_layout(pad=0)
    paths.append(out_dir / "overview.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    # Three coins per sheet keep each crop large enough to judge single pixels.
    for k in range(0, len(shapes), 3):
        group = shapes[k : k + 3]
        fig, axes = plt.subplots(2, len(group), figsize=(5.0 * len(group), 10.0), dpi=100, squeeze=False)
        for j, s in enumerate(group):
            half = int(max(s["rx"], s["ry"]) + 10)
            y0, x0 = max(int(s["cy"]) - half, 0), max(int(s["cx"]) - half, 0)
            y1, x1 = min(int(s["cy"]) + half + 1, HEIGHT), min(int(s["cx"]) + half + 1, WIDTH)
            crop = image[y0:y1, x0:x1].astype(float)
            lo, hi = np.percentile(crop, [5, 95])
            for r, img in enumerate((crop, np.clip((crop - lo) / max(hi - lo, 1), 0, 1))):
                ax = axes[r, j]
                ax.imshow(img, cmap="gray", interpolation="nearest", extent=(x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5))
                pts = ellipse_points(s)
                ax.plot(*np.vstack([pts, pts[:1]]).T, color="red", lw=0.7)
                ax.plot([s["cx"]], [s["cy"]], "r+")
                ax.set_title(f"coin {s['id']}" + (" (stretched)" if r else ""), fontsize=10)
                ax.set_xticks(range((x0 + 4) // 5 * 5, x1, 5))
                ax.set_yticks(range((y0 + 4) // 5 * 5, y1, 5))
                ax.tick_params(labelsize=7)
                ax.grid(color="cyan", alpha=0.35, lw=0.5)
                ax.tick_params(axis="x", labelrotation=90)
        fig.tight_layout()
        paths.append(out_dir / f"coins_{k + 1:02d}-{k + len(group):02d}.png")
        fig.savefig(paths[-1])
        plt.close(fig)
    paths.extend(render_unwrapped(shapes, image, out_dir / "rim_unwrapped.png"))
    return paths


def ellipse_radius(shape: dict, phi: np.ndarray) -> np.ndarray:
    """Distance from the centre to the outline in screen direction ``phi`` (radians, counter-clockwise)."""
    alpha = phi - math.radians(shape["angle"])
    return 1.0 / np.sqrt((np.cos(alpha) / shape["rx"]) ** 2 + (np.sin(alpha) / shape["ry"]) ** 2)


def render_unwrapped(shapes: list[dict], image: np.ndarray, path: Path, reach: float = 6.0) -> list[Path]:
    """Unwrap the band around each outline into a strip: angle across, offset from the outline down.

    The outline is the horizontal line at offset 0, so wherever the bright-to-dark
    rim drifts above or below it, the drift can be read off in pixels. Only a
    viewing aid: the shapes themselves are typed in by hand.
    """
    import matplotlib.pyplot as plt
    from scipy import ndimage

    phi = np.deg2rad(np.arange(0.0, 360.0, 1.0))
    offsets = np.arange(-reach, reach + 1e-9, 0.25)
    written = []
    for k in range(0, len(shapes), 6):
        group = shapes[k : k + 6]
        fig, axes = plt.subplots(len(group), 1, figsize=(15, 2.2 * len(group)), dpi=90, squeeze=False)
        for ax, s in zip(axes.ravel(), group):
            radius = ellipse_radius(s, phi)[None, :] + offsets[:, None]
            xs = s["cx"] + radius * np.cos(phi)[None, :]
            ys = s["cy"] - radius * np.sin(phi)[None, :]
            band = ndimage.map_coordinates(image.astype(float), [ys, xs], order=1, mode="nearest")
            ax.imshow(band, cmap="gray", aspect="auto", extent=(0, 360, reach, -reach), interpolation="nearest")
            ax.axhline(0, color="red", lw=0.8)
            for d in (-2, -1, 1, 2):
                ax.axhline(d, color="yellow", lw=0.5, ls=":")
            ax.set_ylabel(f"coin {s['id']}", fontsize=10)
            ax.set_xticks(range(0, 361, 15))
            ax.set_yticks(range(-int(reach), int(reach) + 1, 2))
            ax.tick_params(labelsize=8)
        axes[0, 0].set_title("rim unwrapped: x = screen angle (deg, ccw from +x), y = offset from outline (px, + outward)")
        fig.tight_layout()
        written.append(path.with_name(f"{path.stem}_{k + 1:02d}-{k + len(group):02d}.png"))
        fig.savefig(written[-1])
        plt.close(fig)
    return written


def hough_first_guess(n_coins: int = 24) -> list[tuple[int, int, int]]:
    """Return the Hough-circle first guess ``(cx, cy, r)`` per coin, in reading order.

    Kept as a record of where the hand placement started: it only centred the
    first zoomed crops, and every value was replaced by eye in pass 1.
    """
    from skimage import data
    from skimage.feature import canny
    from skimage.transform import hough_circle, hough_circle_peaks

    image = data.coins()
    edges = canny(image, sigma=3, low_threshold=10, high_threshold=50)
    radii = np.arange(15, 35)
    _, cx, cy, r = hough_circle_peaks(
        hough_circle(edges, radii), radii, total_num_peaks=n_coins, min_xdistance=15, min_ydistance=15
    )
    # Rows of coins are about 70 px apart, so y // 70 groups a row.
    return sorted(zip(cx.tolist(), cy.tolist(), r.tolist()), key=lambda c: (c[1] // 70, c[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed JSON differs")
    parser.add_argument("--render", type=Path, metavar="DIR", help="also write the by-eye check overlays to DIR")
    parser.add_argument("--hough", action="store_true", help="print the Hough first guess and exit")
    args = parser.parse_args(argv)

    if args.hough:
        for number, (cx, cy, r) in enumerate(hough_first_guess(), start=1):
            print(f"{number},{cx},{cy},{r}")
        return 0

    shapes = read_shapes()
    text = dumps(build_coco(shapes))
    if args.check:
        same = JSON_PATH.exists() and JSON_PATH.read_text(encoding="utf-8") == text
        print("coins_instances.json is up to date" if same else "coins_instances.json differs from the CSV")
        if not same:
            return 1
    else:
        JSON_PATH.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {JSON_PATH} ({len(shapes)} coins)")
    if args.render:
        for p in render_checks(shapes, args.render):
            print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
