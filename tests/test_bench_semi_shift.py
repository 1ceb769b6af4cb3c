"""The arithmetic of bench/bench_semi_shift.py: intervals, the paired gain, the gap closed (issue 28)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_semi_shift", ROOT / "bench" / "bench_semi_shift.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(values):
    return [{"seed": seed, "method": m, "dice": d, "seconds": 1.0}
            for m, per_seed in values.items() for seed, d in enumerate(per_seed)]


def test_t_interval_by_hand(bench):
    mean, low, high = bench.t_interval([1.0, 2.0, 3.0])
    # t(0.975, 2) = 4.303; sd 1; half width 4.303 / sqrt(3) = 2.484
    assert mean == 2.0 and low == pytest.approx(2.0 - 2.4842, abs=1e-3) and high == pytest.approx(4.4842, abs=1e-3)
    assert np.isnan(bench.t_interval([0.5])[1])


def test_gain_is_paired_by_seed_and_the_gap_closed_is_a_ratio_of_means(bench):
    rows = _rows({"source only": [0.5, 0.6, 0.7], "AdaBN": [0.75, 0.85, 0.95], "mean teacher + AdaBN":
                  [0.78, 0.87, 0.95], "oracle": [0.8, 0.9, 1.0]})
    s = bench.summary(rows)
    best = s["best"]
    assert best["method"] == "mean teacher + AdaBN"
    assert best["per_seed"] == pytest.approx([0.28, 0.27, 0.25])     # paired: the seed-to-seed spread cancels
    assert best["low"] > 0 and best["excludes_zero"]
    assert best["gap_closed"] == pytest.approx(np.mean([0.28, 0.27, 0.25]) / 0.3)
    assert best["target_met"]
    versus = {c["a"]: c for c in s["against_adabn"]}["mean teacher + AdaBN"]
    assert versus["per_seed"] == pytest.approx([0.03, 0.02, 0.0]) and versus["wins"] == 2
    assert "MET" in bench.format_summary(s)


def test_a_gain_whose_interval_contains_zero_misses_the_target(bench):
    rows = _rows({"source only": [0.5, 0.6, 0.7], "AdaBN": [0.9, 0.5, 0.95], "oracle": [0.8, 0.9, 1.0]})
    best = bench.summary(rows)["best"]
    assert best["low"] < 0 and not best["target_met"]


def test_only_complete_seeds_are_summarised_and_each_once(bench):
    full = _rows({m: [0.5, 0.6] for m in bench.METHODS})
    half = [{"seed": 7, "method": "source only", "dice": 0.1, "seconds": 1.0}]
    twice = [dict(full[0], dice=0.99)]                     # seed 0's first method again, from a second process
    kept = bench.complete_seeds(full + half + twice)
    assert sorted({r["seed"] for r in kept}) == [0, 1] and len(kept) == len(full)
    assert 0.99 not in [r["dice"] for r in kept]
