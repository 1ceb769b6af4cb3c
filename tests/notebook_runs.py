"""One execution of each course notebook per test session, read by every test that needs one.

``python3 course.py test`` used to run each notebook up to three times: nbval
ran the source notebook, the site build (``fast_site``) ran the student copy
with the site's helper cells, and tests/test_released_notebooks_run.py ran the
student copy again. Now one run does all of it, in fast mode
(``tools/build_site.py``'s ``run_notebook(..., verify_solutions=True)``):

- the **student copy** (solutions replaced by stubs) runs top to bottom in a
  fresh kernel (nbclient), with the site's helper cells: the figure audit,
  pictures of the widgets, and after each check cell a cell that checks the
  **source notebook's solution** in a copy of the kernel's namespace (so the
  solutions are tested as well: a solution that fails its check fails);
- the site build, the figure audit and the released-copy check read that run;
- **nbval stays the tool that tests the notebooks**: it collects the cells,
  reads the ``# NBVAL_CHECK_OUTPUT`` markers and compares those cells' outputs
  with the ones stored in the source notebook, sanitised with
  ``tests/nbval_sanitize.cfg``, one pytest item per cell as before. Only its
  kernel is replaced: a cell's item reads that cell's outputs from the shared
  run instead of sending the cell to a kernel of its own. A cell that raised,
  a helper cell after it that raised (a solution failing its check), or a
  checked output that changed fails that cell's item; the cells after a
  failure fail as "not run". tests/test_notebook_runs.py shows each failure.

The browser tests keep their own live kernels: they test what a student does
in JupyterLab. Differences from nbval's own kernel: a cell marked
``# NBVAL_SKIP`` still runs (the site needs every cell), its item is skipped;
the kernel is always ``python3`` of the running environment (what
``--nbval-current-env`` asks for), and a cell that should raise needs the
``raises-exception`` tag (nbclient's), not only ``# NBVAL_RAISES_EXCEPTION``.

The same background thread takes other slow set-ups that can start long
before their tests (``NotebookRuns.submit``): a test module that defines
``queue_in_background(config, items)`` queues them when collection ends,
after the notebooks (tests/conftest.py); tests/test_grading.py's attack
batches run there.

With two workers (pytest-xdist, ``-n 2 --dist loadgroup`` as ``course.py
test`` runs it) every test that reads the runs is in one ``xdist_group``
(:data:`GROUP`, given in tests/conftest.py), so one worker executes each
notebook once and serves all of them; each worker collects every test, so
a worker starts the runs (and a module's ``queue_in_background``) when the
first test that needs them reaches it, not when collection ends.

The plugin is registered by tests/conftest.py, so it applies whenever tests/ is
on pytest's command line (as in ``course.py test``). ``pytest notebooks/06_unet.ipynb
--nbval-lax ...`` alone runs plain nbval on the source notebook; add
``-p notebook_runs`` with ``PYTHONPATH=tests`` for the shared run.
"""

from __future__ import annotations

import concurrent.futures
import copy
import hashlib
import importlib.util
import os
import queue
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Seconds one cell may take; only catches a hang (the slowest fast-mode cell takes about a minute).
CELL_TIMEOUT = 1800

try:
    from nbval.plugin import IPyNbCell, IPyNbFile, coalesce_streams
except ImportError:  # nbval is a test dependency; without it there are no notebook items to serve
    IPyNbCell = IPyNbFile = None


def load_site_builder():
    """tools/build_site.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_site", REPO / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NotebookRuns:
    """The session's runs, one per notebook, keyed by the notebook's path and content hash.

    Call it with a notebook's path: the first call executes the notebook
    (fast mode, student copy, solutions checked), later calls return the same
    run. ``prefetch(paths)`` queues notebooks for one background thread, which
    executes them one after another (each in its own kernel process) while
    pytest runs the other tests; a call for a queued notebook waits for its run.
    ``executions`` counts the executions, for the test that shows there is one
    per notebook. The kernels start from the environment of the session's start
    (``environ``), not from whatever a test running meanwhile has monkeypatched.
    """

    def __init__(self, *, timeout: int = CELL_TIMEOUT, environ=None):
        self._builder = load_site_builder()
        self._runs: dict = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._worker = None
        self._jobs: dict = {}
        self.timeout = timeout
        self.environ = dict(os.environ if environ is None else environ)
        # fast mode trains a few steps: eager functions beat tracing graphs (segtutor/_backend.py)
        self.environ["SEGTUTOR_EAGER"] = "1"
        self.executions = 0

    @staticmethod
    def _key(path):
        path = Path(path).resolve()
        return path, (str(path), hashlib.sha256(path.read_bytes()).hexdigest())

    def _future(self, path):
        """The run of ``path``: its future, and whether the caller must execute it."""
        path, key = self._key(path)
        with self._lock:
            if key in self._runs:
                return self._runs[key], False
            self.executions += 1
            self._runs[key] = future = concurrent.futures.Future()
            return future, True

    def _execute(self, path, future):
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self._builder.run_notebook(path, fast=True, timeout=self.timeout,
                                                         verify_solutions=True, environ=self.environ,
                                                         log=lambda *a, **k: None))
        except BaseException as exc:  # handed to whoever reads the run
            future.set_exception(exc)

    def __call__(self, path):
        future, mine = self._future(path)
        if mine:
            self._execute(Path(path).resolve(), future)
        return future.result()

    def prefetch(self, paths) -> None:
        """Queue ``paths`` for the background thread (a daemon: an interrupted session does not wait for it)."""
        for path in paths:
            future, mine = self._future(path)
            if mine:
                self._queue.put((Path(path).resolve(), future))
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="notebook-runs", daemon=True)
            self._worker.start()

    def submit(self, key: str, job) -> concurrent.futures.Future:
        """Queue ``job()`` for the background thread, after what is queued already: its future.

        For a test's own slow set-up that waits more than it computes, or that
        can start long before the test (the grading batches): it runs while
        the session's other tests run. ``job(key)`` returns the future later;
        a second ``submit`` with the same key returns the first one's.
        """
        with self._lock:
            if key in self._jobs:
                return self._jobs[key]
            self._jobs[key] = future = concurrent.futures.Future()
        self._queue.put((job, future))
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="notebook-runs", daemon=True)
            self._worker.start()
        return future

    def job(self, key: str):
        """The future of the job submitted as ``key``, or None."""
        with self._lock:
            return self._jobs.get(key)

    def _work(self):
        while True:
            task, future = self._queue.get()
            if callable(task):
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(task())
                    except BaseException as exc:  # handed to the test that reads it
                        future.set_exception(exc)
            else:
                self._execute(task, future)


RUNS = pytest.StashKey[NotebookRuns]()
COURSE = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def runs_of(config) -> NotebookRuns:
    """The session's ``NotebookRuns``, created on first use (nbval's ``--nbval-cell-timeout`` applies)."""
    if RUNS not in config.stash:
        timeout = getattr(config.option, "nbval_cell_timeout", None)
        config.stash[RUNS] = NotebookRuns(timeout=int(timeout) if timeout else CELL_TIMEOUT)
    return config.stash[RUNS]


def pytest_configure(config):
    runs_of(config)  # the kernels' environment is the session's, taken before any test changes it


#: The ``xdist_group`` of every test that reads the shared runs (tests/conftest.py gives it).
GROUP = "notebook-runs"
# The notebooks a worker runs once the first reader reaches it (pytest-xdist: see distributed()).
PENDING = pytest.StashKey[list]()


def distributed(config) -> bool:
    """Whether this process is a pytest-xdist worker (which collects every test but runs only those sent to it)."""
    return hasattr(config, "workerinput")


def reads_runs(item) -> bool:
    """Whether ``item`` reads the session's notebook runs (an nbval cell, ``fast_site`` or ``notebook_runs``)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool({"notebook_runs", "fast_site"} & fixtures) or (IPyNbFile is not None
                                                                and isinstance(item, SharedRunCell))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    readers = [i for i in items if reads_runs(i)]
    others = [i for i in items if not reads_runs(i)]
    if distributed(config):
        # Their group goes first, to a worker of its own: it waits for the notebooks' kernels (one core)
        # while the other worker runs the rest (xdist hands out groups in collection order).
        items[:] = readers + others
    else:
        # The tests that read the shared runs go last (in their own order), so that the background
        # thread executes the notebooks while the others run instead of the first reader waiting for all.
        items[:] = others + readers


def pytest_collection_finish(session):
    """Start the runs every selected test will read, in notebook order, while the other tests run."""
    if session.config.option.collectonly:
        return
    paths = set()
    for item in session.items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if IPyNbFile is not None and isinstance(item, SharedRunCell):
            paths.add(Path(item.path))
        elif "fast_site" in fixtures:
            paths.update(COURSE)
        elif "notebook_runs" in fixtures:
            callspec = getattr(item, "callspec", None)
            param = callspec.params.get("path") if callspec is not None else None
            paths.update([Path(param)] if param is not None else COURSE)
    paths = sorted(paths, key=lambda p: p.name)
    if distributed(session.config):
        session.config.stash[PENDING] = paths  # the worker that gets the readers starts them (below)
    elif paths:
        runs_of(session.config).prefetch(paths)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """On a pytest-xdist worker: start the notebook runs when the first test that reads them arrives."""
    paths = item.config.stash.get(PENDING, None)
    if paths and reads_runs(item):
        item.config.stash[PENDING] = []
        runs_of(item.config).prefetch(paths)


if IPyNbFile is not None:

    class SharedRunFile(IPyNbFile):
        """nbval's notebook collector, without a kernel of its own."""

        def setup(self):
            self.setup_sanitize_files()  # what nbval's setup does besides starting a kernel

        def teardown(self):
            pass

        def collect(self):
            for item in super().collect():
                yield SharedRunCell.from_parent(self, name=item.name, cell_num=item.cell_num, cell=item.cell,
                                                options=item.options)

    class SharedRunCell(IPyNbCell):
        """nbval's cell item, reading the cell's outputs from the session's shared run."""

        def runtest(self):
            if self.options["skip"]:
                pytest.skip()
            run = runs_of(self.config)(self.path)
            cells = run.code_cells()
            expected = sum(1 for c in self.parent.nb.cells if c.cell_type == "code")
            if len(cells) != expected:
                self.raise_cell_error(f"the shared run has {len(cells)} code cells, the notebook {expected}; "
                                      "the student copy must keep every cell of the source")
            cell, hidden = cells[self.cell_num]
            stop = run.stopped_at()
            if stop is not None and self.cell_num > stop:
                self.raise_cell_error(f"Cell not run: the notebook stopped at an earlier cell (Cell {stop}: "
                                      f"{run.error})")
            outs = copy.deepcopy(list(cell.outputs))
            self.test_outputs = outs
            errors = [o for o in outs if o.output_type == "error"]
            if errors and not self.options["check_exception"]:
                self.raise_cell_error("Cell execution caused an exception", "\n" + "\n".join(errors[0].traceback))
            hidden_errors = [o for o in hidden if o.get("output_type") == "error"]
            if hidden_errors:
                error = hidden_errors[0]
                self.raise_cell_error("The site's helper cell after this cell raised (after a check cell: the "
                                      f"source notebook's solution fails its check): {error.ename}",
                                      "\n" + "\n".join(error.traceback))
            if self.cell_num == stop:  # stopped here without an error output: a timeout or a dead kernel
                self.raise_cell_error(f"The run stopped at this cell: {run.error}")
            outs = coalesce_streams(outs)
            # What nbval's own runtest does with the outputs it collected:
            unrun = self.cell.execution_count is None
            if unrun and self.cell.outputs:
                self.raise_cell_error("Unrun reference cell has outputs")
            if self.options["check"] and not unrun:
                if not self.compare_outputs(outs, coalesce_streams(self.cell.outputs)):
                    self.raise_cell_error("Cell outputs differ", "\n".join(self.comparison_traceback))

    @pytest.hookimpl(wrapper=True)
    def pytest_collect_file(file_path, parent):
        collected = yield
        if not collected:
            return collected
        return [SharedRunFile.from_parent(parent, path=file_path) if type(c) is IPyNbFile else c
                for c in collected]
