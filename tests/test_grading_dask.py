"""Grading on a two-worker Dask LocalCluster: the rows ``tests/test_grading.py`` checks by hand.

Workers are separate processes; each runs the same sandbox. Three small
submissions (honest, partial, blank) keep it short; their scores are the
ones the attack batch derives from an honest reference (6, 2 + 1.9, 0).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from segtutor.cli import main  # noqa: E402
from segtutor.grading.sandbox import sandbox_problem  # noqa: E402

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no grading sandbox: {sandbox_problem()}")

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"
NAMES = ("honest_full", "honest_partial", "untouched")


def _rows(out):
    with open(out, newline="") as f:
        return {r["student"]: (r["fraction_above"], r["iou"], r["bounding_box"], r["total"], r["status"], r["sandbox"])
                for r in csv.DictReader(f)}


def test_two_worker_local_cluster_grades_in_the_sandbox(tmp_path):
    subs = [str(STUDENTS / f"{n}.ipynb") for n in NAMES]
    common = ["--source", str(SOURCE), "--seed", "77", "--jobs", "2", "--cell-timeout", "20", "--timeout", "120",
              "--memory", "1024"]
    assert main(["grade", *subs, "--out", str(tmp_path / "dask" / "g.csv"), "--scheduler", "local", *common]) == 0
    rows = _rows(tmp_path / "dask" / "g.csv")
    # the partial solution misses exactly two cases of iou (see test_grading.py): 2 (n - 2) / n points
    from segtutor.exercises import get_exercise

    n = len(get_exercise("iou").grading_cases([0]))
    partial = f"{round(2 * (n - 2) / n, 2):g}"
    assert rows == {
        "honest_full": ("2", "2", "2", "6", "ok", "bwrap"),
        "honest_partial": ("2", partial, "0", f"{2 + float(partial):g}", "ok", "bwrap"),
        "untouched": ("0", "0", "0", "0", "ok", "bwrap"),
    }


def _listening_ports() -> set[tuple[str, int]]:
    """(hex address, port) of every TCP socket this process listens on (/proc/net/tcp*, matched by inode)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                address, port = fields[1].rsplit(":", 1)
                ports.add((address, int(port, 16)))
    return ports


def test_the_local_cluster_offers_nothing_to_another_user():
    """--scheduler local: workers in-process over inproc://; Dask's HTTP servers on loopback with no route."""
    import urllib.error
    import urllib.request

    from distributed import Client

    from segtutor.grading.grade import local_cluster

    before = _listening_ports()
    cluster = local_cluster(2)
    try:
        assert cluster.scheduler_address.startswith("inproc://")
        with Client(cluster) as client:
            assert sum(client.nthreads().values()) == 2
            assert client.submit(lambda: 1).result(timeout=60) == 1
            opened = _listening_ports() - before
            assert opened and all(address in ("0100007F", "00000000000000000000000001000000") for address, _ in opened)
            for _, port in opened:
                for route in ("/health", "/info/main/workers.html", "/json/identity.json", "/metrics",
                              "/api/v1/retire_workers", "/proxy/8787/status"):
                    with pytest.raises(urllib.error.HTTPError, match="404"):
                        urllib.request.urlopen(f"http://127.0.0.1:{port}{route}", timeout=10)
    finally:
        cluster.close()
