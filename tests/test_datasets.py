"""Tests of the generated and bundled data sets: shapes, nuclei, digits."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage.morphology import convex_hull_image
from skimage.transform import resize

from segtutor.datasets import load_digits, make_nuclei, make_shapes
from segtutor.datasets.digits import _split_indices


# ======================================================================= shapes
@pytest.fixture(scope="module")
def shapes():
    return make_shapes(60, size=64, max_instances=5, seed=11)


def _reference_box(mask):
    ys, xs = np.nonzero(mask)
    return [ys.min(), xs.min(), ys.max() + 1, xs.max() + 1]


def _check_invariants(data, n, size, min_instances, max_instances, n_classes):
    assert data.images.shape == (n, size, size, 3) and data.images.dtype == np.float32
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    assert len(data.masks) == len(data.class_ids) == len(data.boxes) == n
    for masks, ids, boxes in zip(data.masks, data.class_ids, data.boxes):
        k = len(ids)
        assert masks.shape == (k, size, size) and masks.dtype == bool
        assert ids.dtype == np.int32 and boxes.dtype == np.int32 and boxes.shape == (k, 4)
        assert k <= max_instances
        assert np.all((ids >= 1) & (ids <= n_classes))
        # No empty masks (they would give zero-size boxes), and no pixel in two masks.
        assert np.all(masks.sum(axis=(1, 2)) > 0)
        assert masks.sum(axis=0).max(initial=0) <= 1
        for mask, box in zip(masks, boxes):
            assert box.tolist() == _reference_box(mask)


def test_shapes_structure(shapes):
    assert shapes.class_names == ("background", "square", "circle", "triangle")
    assert len(shapes) == 60
    _check_invariants(shapes, 60, 64, 1, 5, 3)
    counts = [len(c) for c in shapes.class_ids]
    assert min(counts) >= 1 and max(counts) == 5
    # Every class turns up.
    assert set(np.concatenate(shapes.class_ids).tolist()) == {1, 2, 3}


def test_shapes_same_seed_is_byte_identical_and_other_seed_differs():
    a = make_shapes(12, size=48, seed=7)
    b = make_shapes(12, size=48, seed=7)
    c = make_shapes(12, size=48, seed=8)
    assert a.images.tobytes() == b.images.tobytes()
    for field in ("masks", "class_ids", "boxes"):
        for x, y in zip(getattr(a, field), getattr(b, field)):
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    assert a.images.tobytes() != c.images.tobytes()


def test_shapes_pixels_show_the_masks(shapes):
    # On flat backgrounds (no gradient, no noise) each mask is exactly one
    # colour and the background another: the masks describe what is drawn.
    checked = 0
    semantic = shapes.semantic_masks()
    for image, masks, sem in zip(shapes.images, shapes.masks, semantic):
        background = image[sem == 0]
        if np.ptp(background, axis=0).max() > 0:
            continue  # gradient or noise
        checked += 1
        colours = []
        for mask in masks:
            pixels = image[mask]
            assert np.ptp(pixels, axis=0).max() == 0
            colours.append(pixels[0])
        for colour in colours:
            assert np.linalg.norm(colour - background[0]) >= 0.35 - 1e-6
    assert checked >= 10


def test_shapes_class_ids_match_geometry():
    # Fill ratio of the box: a circle covers pi/4 of it; a triangle at most
    # half of any bounding rectangle; a square, even turned 45 degrees, half.
    data = make_shapes(40, size=128, overlap=0.0, seed=3)
    ratios = {1: [], 2: [], 3: []}
    for masks, ids, boxes in zip(data.masks, data.class_ids, data.boxes):
        for mask, cid, (y1, x1, y2, x2) in zip(masks, ids, boxes):
            ratios[int(cid)].append(mask.sum() / ((y2 - y1) * (x2 - x1)))
    assert 0.70 <= min(ratios[2]) and max(ratios[2]) <= 0.86
    assert max(ratios[3]) <= 0.58
    assert min(ratios[1]) >= 0.45
    assert np.mean(ratios[1]) > 0.6


def _solidity(mask):
    return mask.sum() / convex_hull_image(mask).sum()


def test_overlap_zero_keeps_every_shape_whole():
    # Whole convex shapes have a solidity near 1 (a little less: the hull of
    # pixel squares overshoots); a hidden corner or bite lowers it.
    data = make_shapes(30, size=128, max_instances=6, overlap=0.0, seed=5)
    solidity = [_solidity(m) for masks in data.masks for m in masks]
    assert min(solidity) > 0.88
    hidden = make_shapes(30, size=128, max_instances=6, overlap=0.6, seed=5)
    assert min(_solidity(m) for masks in hidden.masks for m in masks) < 0.8


@pytest.mark.parametrize("overlap", [0.3, 0.6])
def test_overlap_caps_the_hidden_fraction(overlap):
    # A hidden part can only shrink the convex hull, so visible / hull is at
    # least visible / full area >= 1 - overlap.
    data = make_shapes(40, size=128, min_instances=5, max_instances=8, overlap=overlap, seed=9)
    solidity = np.array([_solidity(m) for masks in data.masks for m in masks])
    assert solidity.min() >= 1 - overlap - 0.06
    # ...and the cap is actually reached: some shapes are partly hidden.
    assert (solidity < 0.9).sum() >= 3


def test_overlap_one_can_hide_shapes_completely_and_they_are_dropped():
    from segtutor.datasets import shapes as shapes_module

    # The drawing step alone does hide whole shapes at overlap=1...
    rng = np.random.default_rng(0)
    image = np.zeros((32, 32, 3), np.float32)
    hidden = 0
    for _ in range(20):
        canvas, labels = shapes_module._draw_image(
            rng, image, np.zeros(3, np.float32), 30, shapes_module.SHAPE_CLASSES, (2.56, 5.76), 1.0, 32
        )
        hidden += len(labels) - np.count_nonzero(np.bincount(canvas.ravel(), minlength=len(labels) + 1)[1:])
    assert hidden > 10
    # ...and make_shapes drops them: no empty mask, no zero box reaches the user.
    data = make_shapes(40, size=32, min_instances=1, max_instances=30, overlap=1.0, seed=2)
    _check_invariants(data, 40, 32, 1, 30, 3)


def test_semantic_masks(shapes):
    sem = shapes.semantic_masks()
    assert sem.shape == (60, 64, 64) and sem.dtype == np.int32
    for s, masks, ids in zip(sem, shapes.masks, shapes.class_ids):
        expected = np.zeros_like(s)
        for m, c in zip(masks, ids):
            expected[m] = c
        np.testing.assert_array_equal(s, expected)


def test_to_padded(shapes):
    padded = shapes.to_padded(7)
    assert padded.masks.shape == (60, 7, 64, 64)
    assert padded.class_ids.shape == (60, 7) and padded.boxes.shape == (60, 7, 4)
    for i, ids in enumerate(shapes.class_ids):
        k = len(ids)
        assert padded.n_instances[i] == k
        np.testing.assert_array_equal(padded.class_ids[i, :k], ids)
        assert np.all(padded.class_ids[i, k:] == 0)
        assert not padded.masks[i, k:].any() and not padded.boxes[i, k:].any()
        np.testing.assert_array_equal(padded.masks[i, :k], shapes.masks[i])
    assert shapes.to_padded().masks.shape[1] == 5
    with pytest.raises(ValueError, match=r"to_padded\(5\)"):
        shapes.to_padded(3)


def test_classes_subset_and_order():
    data = make_shapes(10, size=48, classes=("triangle", "circle"), seed=0)
    assert data.class_names == ("background", "triangle", "circle")
    assert set(np.concatenate(data.class_ids).tolist()) <= {1, 2}


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n_images=0), "n_images"),
        (dict(n_images=2, size=16), "too small"),
        (dict(n_images=2, max_instances=2, min_instances=3), "min_instances <= max_instances"),
        (dict(n_images=2, classes=("square", "hexagon")), "hexagon"),
        (dict(n_images=2, classes=()), "empty"),
        (dict(n_images=2, overlap=1.5), "overlap"),
        (dict(n_images=2, overlap=-0.1), "overlap"),
        (dict(n_images=1, size=32, min_instances=40, max_instances=40, overlap=0.0), "lower min_instances"),
    ],
)
def test_shapes_reject_impossible_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        make_shapes(**kwargs)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 4),
    size=st.integers(32, 80),
    lo=st.integers(0, 3),
    extra=st.integers(0, 3),
    overlap=st.floats(0, 1),
    seed=st.integers(0, 2**31),
)
def test_shapes_invariants_hold_for_any_parameters(n, size, lo, extra, overlap, seed):
    data = make_shapes(n, size=size, min_instances=lo, max_instances=lo + extra, overlap=overlap, seed=seed)
    _check_invariants(data, n, size, lo, lo + extra, 3)


# ======================================================================= nuclei
@pytest.fixture(scope="module")
def nuclei():
    return make_nuclei(12, size=128, seed=4)


def test_nuclei_structure(nuclei):
    images, masks, labels = nuclei
    assert images.shape == masks.shape == labels.shape == (12, 128, 128)
    assert images.dtype == np.float32 and masks.dtype == bool and labels.dtype == np.int32
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(masks, labels > 0)
    for lab in labels:
        k = lab.max()
        assert k >= 1
        # Labels are numbered 1..K without gaps, and each is one connected piece.
        np.testing.assert_array_equal(np.unique(lab), np.arange(k + 1))
        for i in range(1, k + 1):
            assert ndi.label(lab == i)[1] == 1


def test_nuclei_are_bright_on_a_dark_background(nuclei):
    images, masks, _ = nuclei
    for image, mask in zip(images, masks):
        assert image[mask].mean() > 4 * np.median(image[~mask])


def test_touching_nuclei_keep_separate_labels():
    _, _, labels = make_nuclei(6, size=128, density=10, clustering=1.0, seed=1)
    right, left = labels[:, :, 1:], labels[:, :, :-1]
    touching = (right != left) & (right > 0) & (left > 0)
    assert touching.sum() > 20
    # ...whereas the semantic mask would merge them into one component.
    merged = sum(ndi.label(lab > 0)[1] for lab in labels)
    assert merged < sum(lab.max() for lab in labels)


def test_nuclei_same_seed_identical():
    a = make_nuclei(2, size=64, seed=5)
    b = make_nuclei(2, size=64, seed=5)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
    assert a.images.tobytes() != make_nuclei(2, size=64, seed=6).images.tobytes()


def _noise_std(images, masks):
    # Half the variance of neighbour differences removes smooth shading, away
    # from nuclei (and their blurred edges), leaving the pixel noise.
    far = ~ndi.binary_dilation(masks, iterations=6, structure=np.ones((1, 3, 3)))
    diff = images[:, :, 1:] - images[:, :, :-1]
    both = far[:, :, 1:] & far[:, :, :-1]
    return np.sqrt(diff[both].var() / 2)


def test_shot_noise_scales_with_photon_count():
    kw = dict(size=96, read_noise=0.0, debris=0.0, seed=3)
    low = make_nuclei(4, photons=50, **kw)
    high = make_nuclei(4, photons=5000, **kw)
    # Poisson: relative noise ~ 1 / sqrt(photons), so 100x photons -> 10x less.
    ratio = _noise_std(low.images, low.masks) / _noise_std(high.images, high.masks)
    assert 6 < ratio < 14


def test_blur_softens_edges():
    kw = dict(size=96, photons=1e5, read_noise=0.0, debris=0.0, seed=8)

    def edge_gradient(data):
        edges = data.masks ^ ndi.binary_erosion(data.masks, structure=np.ones((1, 3, 3)))
        gy, gx = np.gradient(data.images, axis=(1, 2))
        return np.hypot(gy, gx)[edges].mean()

    assert edge_gradient(make_nuclei(3, blur=0.0, **kw)) > 1.5 * edge_gradient(make_nuclei(3, blur=3.0, **kw))


def test_debris_is_bright_but_unlabelled():
    data = make_nuclei(3, size=96, density=0.0, debris=20, seed=2)
    assert data.labels.max() == 0
    assert all(img.max() > 5 * np.median(img) for img in data.images)


def test_density_controls_the_count():
    sparse = make_nuclei(4, size=128, density=2, seed=0).labels.max(axis=(1, 2)).sum()
    dense = make_nuclei(4, size=128, density=8, seed=0).labels.max(axis=(1, 2)).sum()
    assert dense > 2 * sparse


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n_images=0), "n_images"),
        (dict(n_images=1, size=20), "too small"),
        (dict(n_images=1, density=-1), "density"),
        (dict(n_images=1, size=64, mean_radius=40), "mean_radius"),
        (dict(n_images=1, photons=0), "photons"),
        (dict(n_images=1, clustering=2), "clustering"),
        (dict(n_images=1, blur=-1), "blur"),
    ],
)
def test_nuclei_reject_bad_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        make_nuclei(**kwargs)


# ======================================================================= digits
def test_digits_shapes_and_ranges():
    train, test = load_digits("train"), load_digits("test")
    assert train.images.shape == (1438, 28, 28, 1) and test.images.shape == (359, 28, 28, 1)
    for d in (train, test):
        assert d.images.dtype == np.float32 and d.labels.dtype == np.int32
        assert d.images.min() == 0.0 and d.images.max() == 1.0
        assert set(d.labels.tolist()) == set(range(10))


def test_digits_split_is_stratified_disjoint_and_complete():
    from sklearn.datasets import load_digits as sk_load

    index = _split_indices()
    train, test = index["train"], index["test"]
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))
    labels = sk_load().target
    for digit in range(10):
        n_test, n_all = (labels[test] == digit).sum(), (labels == digit).sum()
        assert abs(n_test - 0.2 * n_all) <= 0.5


# The split pinned once: a change of NumPy, scikit-learn or this code that
# moved a single image between train and test would fail here.
PINNED_TEST_HEAD = [77, 1198, 955, 117, 252, 90, 1692, 1737, 391, 319]
PINNED_SORTED_TEST_SHA256 = "b70695889145ca5acec5ef8e69fbd9feadc5bbfb661797369a958268fd6645d9"
PINNED_TRAIN_ORDER_SHA256 = "ef7435d3caab725fe8731956558ab922245311b52443473bc5e71b1b3421e5c3"


def _sha(index):
    return hashlib.sha256(np.asarray(index, "<i8").tobytes()).hexdigest()


def test_digits_split_is_pinned():
    test = _split_indices()["test"]
    assert test[:10].tolist() == PINNED_TEST_HEAD
    assert _sha(np.sort(test)) == PINNED_SORTED_TEST_SHA256
    assert _sha(_split_indices()["train"]) == PINNED_TRAIN_ORDER_SHA256


def test_digits_split_identical_in_a_fresh_process():
    code = (
        "import hashlib, numpy as np\n"
        "from segtutor.datasets import load_digits\n"
        "d = load_digits('test')\n"
        "print(hashlib.sha256(d.images.tobytes() + d.labels.astype('<i4').tobytes()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = load_digits("test")
    expected = hashlib.sha256(here.images.tobytes() + here.labels.astype("<i4").tobytes()).hexdigest()
    assert out.stdout.strip() == expected


def test_digits_resize_preserves_the_original():
    from sklearn.datasets import load_digits as sk_load

    original = sk_load().images / 16.0
    index = _split_indices()["test"]
    images = load_digits("test").images[..., 0]
    # Sampling the 28x28 image back at the 8x8 pixel centres must return the
    # source; a different digit correlates far less.
    same = [np.corrcoef(resize(a, (8, 8), order=1, anti_aliasing=False).ravel(), b.ravel())[0, 1] for a, b in zip(images, original[index])]
    other = [
        np.corrcoef(resize(a, (8, 8), order=1, anti_aliasing=False).ravel(), b.ravel())[0, 1]
        for a, b in zip(images, original[np.roll(index, 1)])
    ]
    assert min(same) > 0.98
    assert np.median(other) < 0.7


def test_digits_file_end_split_holds_out_the_end_of_the_file():
    from segtutor.datasets.digits import _file_end_indices

    index = _file_end_indices()
    assert sorted(index["test"].tolist()) == list(range(1438, 1797))
    assert sorted(index["train"].tolist()) == list(range(1438))
    test = load_digits("test", rule="file_end")
    assert test.images.shape == (359, 28, 28, 1) and set(test.labels.tolist()) == set(range(10))
    with pytest.raises(ValueError, match="rule"):
        load_digits("test", rule="by_writer")


def test_digits_held_out_file_end_is_harder_than_a_random_split():
    # UCI publishes no writer ids. If the file keeps each writer's digits together, a held-out
    # end of the file contains writers the model has not seen, and even 1-nearest-neighbour
    # does worse there than on a random split of the same size. This pins that evidence.
    from sklearn.neighbors import KNeighborsClassifier

    def one_nn(rule):
        train, test = load_digits("train", rule=rule), load_digits("test", rule=rule)
        knn = KNeighborsClassifier(1).fit(train.images.reshape(len(train.labels), -1), train.labels)
        return knn.score(test.images.reshape(len(test.labels), -1), test.labels)

    random_split, file_end = one_nn("random"), one_nn("file_end")
    assert random_split > 0.97 and file_end < random_split - 0.01, (random_split, file_end)


def test_digits_first_n_and_fresh_copies():
    full = load_digits("train")
    some = load_digits("train", n=25)
    np.testing.assert_array_equal(some.images, full.images[:25])
    np.testing.assert_array_equal(some.labels, full.labels[:25])
    some.images[:] = 0  # must not leak into the next call
    assert load_digits("train", n=25).images.max() == 1.0


@pytest.mark.parametrize(
    "kwargs, words",
    [(dict(split="validation"), "split"), (dict(n=0), "at least 1"), (dict(split="test", n=360), "n=None")],
)
def test_digits_reject_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        load_digits(**kwargs)


# ======================================================================= package
def test_importing_datasets_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "import segtutor.datasets as d\n"
        "d.make_shapes(2, size=32); d.make_nuclei(1, size=32); d.load_digits(n=2)\n"
        "d.read_mask_folder, d.read_coco, d.segmentation_dataset\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'pycocotools') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error():
    import segtutor.datasets as d

    with pytest.raises(AttributeError, match="load_imagenet"):
        d.load_imagenet  # noqa: B018
