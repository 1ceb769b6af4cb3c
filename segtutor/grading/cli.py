"""The ``segtutor`` command line: ``release`` and ``grade``.

Examples
--------
Release the course's notebooks for students::

    segtutor release notebooks/ --to release/

Grade a folder of submissions (``subs/alice/02_classical_segmentation.ipynb``
or ``subs/alice.ipynb``) against the source notebooks::

    segtutor grade subs/*/*.ipynb --source notebooks/ --out grades/gradebook.csv --jobs 2

Writes ``grades/gradebook.csv``, ``grades/feedback/<student>.<notebook>.txt``
and, with ``--results-json``, ``grades/results/<student>/results.json``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time
from pathlib import Path

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segtutor", description="Release and grade segtutor notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)

    rel = sub.add_parser("release", help="write student copies of source notebooks")
    rel.add_argument("sources", nargs="+", help="source notebooks or folders of them")
    rel.add_argument("--to", required=True, help="destination folder")
    rel.add_argument("--update", action="store_true",
                     help="student folder: keep edited notebooks, write new versions beside them")
    rel.add_argument("--force", action="store_true", help="overwrite edited copies (instructor folders only)")

    gr = sub.add_parser("grade", help="grade submissions into a gradebook")
    gr.add_argument("submissions", nargs="+", help="submitted notebooks, or folders searched for *.ipynb")
    gr.add_argument("--source", nargs="+", default=["notebooks"],
                    help="the instructor's source notebooks or their folder (default: notebooks/)")
    gr.add_argument("--out", required=True, help="gradebook CSV; feedback/ goes beside it")
    gr.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    gr.add_argument("--timeout", type=float, default=900, help="seconds per notebook (default 900)")
    gr.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default 120)")
    gr.add_argument("--probe-timeout", type=float, default=30, help="seconds per exercise probe (default 30)")
    gr.add_argument("--memory", type=int, default=4096, help="memory limit per kernel in MiB (default 4096)")
    gr.add_argument("--seed", type=int, default=None,
                    help="seed of the hidden cases (default: a random one, recorded in the gradebook)")
    gr.add_argument("--data", nargs="*", default=[], help="public data folders linked into each run's folder")
    gr.add_argument("--no-network", action="store_true",
                    help="run kernels in a user namespace with only loopback (needs unshare)")
    gr.add_argument("--class-mode", action="store_true", help="run notebooks in class mode, not fast mode")
    gr.add_argument("--force", action="store_true", help="regrade submissions already in the gradebook")
    gr.add_argument("--results-json", action="store_true", help="also write Gradescope-style results.json files")
    return parser


def _expand(paths) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        else:
            out.append(p)
    return out


def cmd_release(args) -> int:
    from .release import release

    try:
        actions = release(args.sources, args.to, update=args.update, force=args.force)
    except ValueError as exc:
        print(f"segtutor release: {exc}", file=sys.stderr)
        return 1
    for name, action in actions.items():
        print(f"  {name}: {action}")
    return 0


def cmd_grade(args) -> int:
    from .grade import GradeOptions, grade_batch, load_sources, student_id
    from .gradebook import read_gradebook, row_of, write_feedback, write_gradebook, write_results_json

    try:
        sources = load_sources(args.source)
    except ValueError as exc:
        print(f"segtutor grade: {exc}", file=sys.stderr)
        return 1
    if args.jobs < 1 or args.timeout <= 0:
        print("segtutor grade: --jobs must be at least 1 and --timeout positive.", file=sys.stderr)
        return 1
    out = Path(args.out)
    rows = {(r["student"], r["notebook"]): r for r in read_gradebook(out)}
    seed = args.seed if args.seed is not None else secrets.randbits(31)
    options = GradeOptions(
        seed=seed, cell_timeout=args.cell_timeout, probe_timeout=args.probe_timeout,
        notebook_timeout=args.timeout, memory_limit_mb=args.memory, no_network=args.no_network,
        fast=not args.class_mode, data=args.data,
    )
    submissions = _expand(args.submissions)

    def already(path: Path, sha: str) -> bool:
        if args.force:
            return False
        key_names = [path.name] if path.name in sources else list(sources)
        for name in key_names:
            row = rows.get((student_id(path, sources), name))
            if row and row.get("sha256") == sha and row.get("status") != "internal error":
                return True
        return False

    lock = threading.Lock()
    feedback = out.parent / "feedback"
    done = []

    def save(result) -> None:
        with lock:
            rows[(result.student, result.notebook)] = row_of(result)
            write_gradebook(out, list(rows.values()))
            write_feedback(feedback, result)
            if args.results_json:
                write_results_json(out.parent / "results", result)
            done.append(result)
            flag = f"  flags: {', '.join(result.flags)}" if result.flags else ""
            print(f"  {result.student:<20} {result.total:>6g} / {sum(result.max_points.values()):g}  "
                  f"{result.status:<16} {result.seconds:5.1f} s{flag}", flush=True)

    start = time.monotonic()
    print(f"Grading {len(submissions)} submission(s), seed {seed}, {args.jobs} at a time ...", flush=True)
    grade_batch(submissions, sources, options, jobs=args.jobs, skip=already, on_result=save)
    skipped = len(submissions) - len(done)
    if not done:
        write_gradebook(out, list(rows.values()))
    elapsed = time.monotonic() - start
    print(f"Graded {len(done)}, skipped {skipped} already graded (use --force to regrade), "
          f"in {elapsed:.1f} s. Gradebook: {out}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return {"release": cmd_release, "grade": cmd_grade}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
