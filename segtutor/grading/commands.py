"""The ``release`` and ``grade`` subcommands of ``segtutor``: their options and what they run.

:mod:`segtutor.cli` owns the one parser tree and calls :func:`add_commands`
to register these two; running them goes through ``segtutor`` (or
``python -m segtutor``). This module builds no parser of its own: the layers
(pyproject.toml) keep :mod:`segtutor.grading` below :mod:`segtutor.cli`, so
the command line reaches down for these, never the other way.

Examples
--------
Release the course's notebooks for students::

    segtutor release notebooks/ --to release/

Grade a folder of submissions (``subs/alice/02_classical_segmentation.ipynb``
or ``subs/alice.ipynb``) against the source notebooks::

    segtutor grade subs/ --source notebooks/ --out grades/gradebook.csv --jobs 2

Writes ``grades/gradebook.csv`` (and its store ``gradebook.csv.store.json``),
``grades/feedback/<student>.<notebook>.txt`` and, with ``--results-json``,
``grades/results/<student>/results.json``. Every option is checked before
anything is written; a bad one stops the command with one line on stderr
and exit status 2 (``release`` too: a bad source or destination, or a
student's copy given as a source).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time

from .._validate import MAX_JOBS, check_jobs

__all__ = ["add_commands", "MIN_NOTEBOOK_SECONDS"]

#: The shortest ``--timeout`` (seconds per notebook) ``segtutor grade`` accepts.
MIN_NOTEBOOK_SECONDS = 10


def add_commands(sub, formatter_class=argparse.ArgumentDefaultsHelpFormatter) -> dict:
    """Add ``release`` and ``grade`` to the subcommands ``sub``; returns ``{name: function(args) -> exit status}``.

    ``sub`` is what ``parser.add_subparsers()`` returns; ``formatter_class`` an
    ``argparse.HelpFormatter`` subclass for their ``--help``. Each parsed
    command also carries its function as ``args.handler``, which
    :func:`segtutor.cli.main` calls.
    """
    if not callable(getattr(sub, "add_parser", None)):
        raise TypeError(f"sub should be what ArgumentParser.add_subparsers() returns, got {type(sub).__name__}.")
    if not (isinstance(formatter_class, type) and issubclass(formatter_class, argparse.HelpFormatter)):
        raise TypeError(f"formatter_class should be an argparse.HelpFormatter subclass, got {formatter_class!r}.")
    rel = sub.add_parser("release", help="write student copies of source notebooks", formatter_class=formatter_class)
    rel.add_argument("sources", nargs="+", help="source notebooks or folders of them")
    rel.add_argument("--to", required=True, help="destination folder")
    rel.add_argument("--update", action="store_true",
                     help="student folder: keep edited notebooks, write new versions beside them")
    rel.add_argument("--force", action="store_true", help="overwrite edited copies (instructor folders only)")

    gr = sub.add_parser("grade", help="grade submissions into a gradebook", formatter_class=formatter_class)
    gr.add_argument("submissions", nargs="+",
                    help="one per student: a notebook (alice.ipynb), a student's folder (alice/), "
                         "or a class folder holding them")
    gr.add_argument("--source", nargs="+", default=["notebooks"],
                    help="the instructor's source notebooks or their folder")
    gr.add_argument("--out", required=True, help="gradebook CSV (new, or one this command wrote); feedback/ goes beside it")
    gr.add_argument("--jobs", type=int, default=1, help=f"submissions graded at once, 1 to {MAX_JOBS}")
    gr.add_argument("--scheduler", default=None,
                    help="run the jobs on Dask: 'local' (--jobs worker threads, no network port) or a scheduler "
                         "address, tls://host:8786 with certificates (needs segtutor[dask])")
    gr.add_argument("--timeout", type=float, default=900, help="seconds per notebook")
    gr.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell")
    gr.add_argument("--probe-timeout", type=float, default=30, help="seconds per exercise probe")
    gr.add_argument("--memory", type=int, default=4096, help="memory limit per kernel in MiB, 256 or more")
    gr.add_argument("--below-measured-peak", action="store_true",
                    help="grade even when --memory is below a course notebook's measured peak (rows may end "
                         "'memory limit')")
    gr.add_argument("--seed", type=int, default=None,
                    help="seed of the hidden cases, 0 or more (None: the gradebook's, else a random one)")
    gr.add_argument("--data", nargs="*", default=[], help="public data folders visible read-only to each run")
    gr.add_argument("--unsandboxed", action="store_true",
                    help="grade without the bubblewrap sandbox (good faith only; recorded on every row)")
    gr.add_argument("--no-network", action="store_true",
                    help="with --unsandboxed: run kernels in a user namespace with only loopback (needs unshare)")
    gr.add_argument("--class-mode", action="store_true", help="run notebooks in class mode, not fast mode")
    gr.add_argument("--force", action="store_true", help="regrade submissions already in the gradebook")
    gr.add_argument("--keep-failed", action="store_true",
                    help="do not regrade rows whose status was kernel died, internal error or timeout")
    gr.add_argument("--results-json", action="store_true", help="also write Gradescope-style results.json files")
    rel.set_defaults(handler=cmd_release)
    gr.set_defaults(handler=cmd_grade)
    return {"release": cmd_release, "grade": cmd_grade}


def cmd_release(args) -> int:
    from .release import release

    try:
        actions = release(args.sources, args.to, update=args.update, force=args.force)
    except (ValueError, FileNotFoundError) as exc:
        print(f"segtutor release: {exc}", file=sys.stderr)
        return 2
    for name, action in actions.items():
        print(f"  {name}: {action}")
    return 0


def _fail(message: str) -> int:
    print(f"segtutor grade: {message}", file=sys.stderr)
    return 2


def cmd_grade(args) -> int:
    from .grade import GradeOptions, collect_submissions, grade_batch, load_sources, name_warnings
    from .gradebook import GradebookLocked, GradebookStore, row_of, write_feedback, write_results_json
    from .assignment import find_sources
    from .peaks import memory_shortfalls, stale_peaks
    from .sandbox import root_sandbox_problem, sandbox_problem

    # Everything is checked before anything is written.
    try:
        check_jobs(args.jobs, "--jobs")
    except ValueError as exc:
        return _fail(str(exc))
    if args.seed is not None and not 0 <= args.seed < 2**63:
        return _fail(f"--seed must be 0 or more, got {args.seed}.")
    if args.scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            return _fail("--scheduler needs the distributed package: pip install 'segtutor[dask]'.")
        if args.scheduler != "local" and "://" not in args.scheduler:
            return _fail(f"--scheduler must be 'local' or an address such as tcp://host:8786, got {args.scheduler!r}.")
    # A kernel's start and the probes alone take seconds: below this an honest student is recorded as a timeout.
    if not args.timeout >= MIN_NOTEBOOK_SECONDS:
        return _fail(f"--timeout must be at least {MIN_NOTEBOOK_SECONDS} seconds per notebook, got {args.timeout:g}; "
                     "the default is 900.")
    if args.no_network and not args.unsandboxed:
        return _fail("--no-network is for --unsandboxed runs; the sandbox always cuts the network.")
    try:
        sources = load_sources(args.source)
        submissions = collect_submissions(args.submissions, sources)
        store = GradebookStore(args.out)
        seed = args.seed if args.seed is not None else (store.seed if store.seed is not None else secrets.randbits(31))
        options = GradeOptions(
            seed=seed, cell_timeout=args.cell_timeout, probe_timeout=args.probe_timeout,
            notebook_timeout=args.timeout, memory_limit_mb=args.memory, no_network=args.no_network,
            fast=not args.class_mode, data=args.data, sandbox=not args.unsandboxed,
        )
        options.validate()
    except (ValueError, FileNotFoundError) as exc:
        msg = str(exc).replace("cell_timeout", "--cell-timeout").replace("probe_timeout", "--probe-timeout")
        msg = msg.replace("notebook_timeout", "--timeout").replace("memory_limit_mb", "--memory").replace("seed must", "--seed must")
        return _fail(msg)
    for warning in name_warnings(submissions):
        print(f"segtutor grade: warning: {warning}", file=sys.stderr)
    if not submissions:
        return _fail("no submissions found in " + " ".join(args.submissions) + "; check the paths.")
    # A --memory below what a notebook needs fails every row after minutes of work: say so before any.
    graded = {s.path.name for s in submissions if s.path.name in sources}
    graded |= set(sources) if len(sources) == 1 else set()
    short = memory_shortfalls(sorted(graded), args.memory, fast=not args.class_mode)
    if short and not args.below_measured_peak:
        return _fail(short[0] + (f" ({len(short) - 1} more notebook(s) too.)" if len(short) > 1 else "")
                     + " Or pass --below-measured-peak to grade anyway.")
    for line in short:
        print(f"segtutor grade: warning: {line}", file=sys.stderr)
    # The check above is only as good as the table: a notebook changed since its measurement is named.
    for line in stale_peaks([p for p in find_sources(args.source) if p.name in graded], fast=not args.class_mode):
        print(f"segtutor grade: warning: {line}", file=sys.stderr)
    if options.sandbox:
        problem = sandbox_problem()
        if problem:
            return _fail(problem)
        root = root_sandbox_problem()
        if root:
            print(f"segtutor grade: warning: running as root, and {root}: each sandbox runs as host root "
                  "(noted on every row); install the Python environment where others can read it, or grade as "
                  "an ordinary user.", file=sys.stderr)
    if args.scheduler and args.scheduler.startswith("tcp://"):
        print("segtutor grade: warning: a tcp:// Dask scheduler has no authentication: anyone who reaches it can run "
              "code in its workers. Configure TLS with certificates (tls://, Dask's distributed.comm.tls settings).",
              file=sys.stderr)
    try:
        store.lock()
    except GradebookLocked as exc:
        return _fail(str(exc))
    store.seed = seed
    out = store.csv_path

    def already(sub, sha: str) -> bool:
        if args.force:
            return False
        names = [sub.path.name] if sub.path.name in sources else list(sources)
        return any(store.done(sub.student, name, sha, retry=not args.keep_failed) for name in names)

    lock = threading.Lock()
    feedback = out.parent / "feedback"
    done = []

    def save(result) -> None:
        with lock:
            store.add(row_of(result))
            try:
                write_feedback(feedback, result)
                if args.results_json:
                    write_results_json(out.parent / "results", result)
            except Exception as exc:  # the row is saved; a feedback bug must not stop the batch
                print(f"segtutor grade: feedback for {result.student} failed ({type(exc).__name__}: {exc})",
                      file=sys.stderr)
            done.append(result)
            flag = f"  flags: {', '.join(result.flags)}" if result.flags else ""
            print(f"  {result.student:<20} {result.total:>6g} / {sum(result.max_points.values()):g}  "
                  f"{result.status:<16} {result.seconds:5.1f} s{flag}", flush=True)

    try:
        start = time.monotonic()
        mode = "sandboxed" if options.sandbox else "UNSANDBOXED (good faith)"
        where = f" on Dask ({args.scheduler})" if args.scheduler else ""
        print(f"Grading {len(submissions)} submission(s), seed {seed}, {args.jobs} at a time{where}, {mode} ...",
              flush=True)
        grade_batch(submissions, sources, options, jobs=args.jobs, skip=already, on_result=save,
                    scheduler=args.scheduler)
        skipped = len(submissions) - len(done)
        if not done:
            store.save()
        elapsed = time.monotonic() - start
        print(f"Graded {len(done)}, skipped {skipped} already graded (use --force to regrade), "
              f"in {elapsed:.1f} s. Gradebook: {out}")
    finally:
        store.unlock()
    return 0

