"""Shared pytest configuration, and the one build of the course site that the tests share."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The committed student submissions are data for tests/test_grading.py, not
# notebooks for nbval to execute (one of them is deliberately not JSON).
# notebook_runs.py is the plugin registered below, non_editable.py a helper, not test modules.
collect_ignore = ["submissions", "conftest.py", "browser/conftest.py", "notebook_runs.py", "non_editable.py"]


def pytest_configure(config):
    # One execution of each notebook per session, which nbval's items, the site build, the figure audit
    # and the released-copy check all read (tests/notebook_runs.py).
    import notebook_runs

    if not config.pluginmanager.is_registered(notebook_runs):
        config.pluginmanager.register(notebook_runs, "notebook_runs")


@pytest.fixture(scope="session")
def notebook_runs(pytestconfig):
    """``runs(path) -> NotebookRun``: the session's one execution of a notebook (tests/notebook_runs.py)."""
    import notebook_runs as module

    return module.runs_of(pytestconfig)


# -- TensorFlow functions run eagerly in the test process ------------------------------------------
# Most tests in this process train models for 1 to 10 steps on tiny images. Tracing each Keras train
# and predict step into a graph costs seconds, much more than such steps: tests/test_semi_shift.py took
# 121 CPU-seconds traced and 39 eagerly (2026-12-07). These tests check what the code computes, not how
# TensorFlow compiles it; graph mode, what a student runs, is what the notebook runs (in their own
# kernels), the `segtutor train` subprocess tests and the benches use. A test that trains long enough
# for graphs to pay, or that checks tracing itself, is marked @pytest.mark.graph_mode (a module: its
# pytestmark). SEGTUTOR_TEST_GRAPH=1 runs every test in graph mode.

def run_tensorflow_eagerly(eager: bool) -> None:
    """``tf.config.run_functions_eagerly(eager)``; imports TensorFlow only when it must change something."""
    import sys

    from segtutor.modes import read_flag

    eager = eager and not read_flag("SEGTUTOR_TEST_GRAPH")
    if not eager and "tensorflow" not in sys.modules:
        return
    from segtutor.environment import import_tensorflow

    import_tensorflow().config.run_functions_eagerly(eager)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # before the item's fixtures, so a module-scoped fixture that trains runs in the item's mode
    run_tensorflow_eagerly(item.get_closest_marker("graph_mode") is None)


# -- markers by cost -----------------------------------------------------------------------------
# The quick tier (`python3 course.py test --quick`, README "Tests") is everything that is not marked
# notebooks, browser or slow: unit tests, doctests and the bad-input property tests. These lists mark
# what costs minutes (training, whole pipelines, a pytest or a notebook in a subprocess); the full
# test command still runs all of it.

# Whole modules: each test trains, grades a batch, builds the site or runs notebooks.
SLOW_MODULES = {
    "test_train_cli.py", "test_maskrcnn_training.py", "test_grading.py", "test_grading_dask.py",
    "test_grading_sandbox.py", "test_nbgrader.py", "test_site.py", "test_release.py",
    "test_released_notebooks_run.py", "test_wheel.py", "test_capstone.py", "test_bench_semi.py",
    "test_hub.py", "test_grading_round3.py", "test_notebook_runs.py",
    # tests/browser modules whose unmarked tests start JupyterLab or a pytest in a subprocess
    "test_without_chromium.py", "test_course_open_settings.py",
}
# Single tests that train a model (10 s to several minutes each on two busy cores).
SLOW_TESTS = {
    "test_semi.py": {"test_mean_teacher_and_efficiency_end_to_end", "test_self_training_round_uses_pseudo_labels",
                     "test_supervised_training_lowers_the_loss",
                     "test_mean_teacher_trains_the_student_and_averages_the_teacher",
                     "test_mean_teacher_student_sees_the_cutmix_view"},
    "test_maskrcnn.py": {"test_training_on_images_without_instances_keeps_losses_finite",
                         "test_detection_output_shapes"},
    "test_segmentation_models.py": {"test_loss_falls_when_a_unet_trains_from_scratch",
                                    "test_fit_checks_the_data_before_training"},
    "test_cnn.py": {"test_short_training_learns_something"},
}


# -- two workers (pytest-xdist) --------------------------------------------------------------------
# `course.py test` runs `-n 2 --dist loadgroup --no-loadscope-reorder`. The controller hands each worker
# a whole group at a time, in collection order (the scheduler below). A group is a test module (its
# module-scoped fixtures and its background job are set up once), except that every module reading the
# shared notebook runs is in one group (notebook_runs.GROUP), so each notebook still runs once. The
# groups go out heaviest first, so that the last ones to finish are short: the readers' group, then
# HEAVIEST_FIRST, then the rest in collection order.
# (pytest-xdist's own loadgroup reads xdist_group marks by renaming each test's node id, which pytest 9
# no longer lets it do; the groups here are read off the node ids instead.)
READER_MODULES = ("tests/test_site.py", "tests/test_released_notebooks_run.py", "tests/browser/test_offline.py")
# The seconds are from before eager TensorFlow functions in the tests (README, "Where the full command's time
# goes"); the order was kept, not re-measured.
HEAVIEST_FIRST = (  # seconds of pytest each took in a full run on two workers at load 7 (commit cae562c)
    "tests/browser/test_widgets_in_jupyterlab.py",  # 769
    "tests/test_train_cli.py",  # 725
    "tests/test_semi_shift.py",  # 559
    "tests/test_grading.py",  # 285
    "tests/test_grading_round3.py",  # 207
    "tests/test_maskrcnn_training.py",  # 145
    "tests/test_semi.py",  # 116
    "tests/test_hub.py",  # 115
    "tests/test_bad_input.py",  # 106
    "tests/test_grading_sandbox.py",  # 64
    "tests/test_python_versions.py",  # 55
    "segtutor/semi/adapt.py",  # 51 (doctests)
    "tests/test_segmentation_models.py",  # 44
)


def xdist_group(nodeid: str) -> str:
    """The group of the test ``nodeid``: its file, or notebook_runs.GROUP for the notebooks and their readers."""
    import notebook_runs

    path = nodeid.split("::")[0]
    return notebook_runs.GROUP if path.endswith(".ipynb") or path in READER_MODULES else path


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """For ``--dist loadgroup``: whole groups (:func:`xdist_group`) to one worker each, in collection order."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return xdist_group(nodeid)

    return GroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    import notebook_runs

    for item in items:
        path = str(getattr(item, "path", item.fspath))
        name = path.rsplit("/", 1)[-1]
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.notebooks)
        elif name in SLOW_MODULES or getattr(item, "originalname", item.name) in SLOW_TESTS.get(name, ()):
            item.add_marker(pytest.mark.slow)
    if not notebook_runs.distributed(config):
        return
    for item in items:
        if notebook_runs.reads_runs(item) and xdist_group(item.nodeid) != notebook_runs.GROUP:
            # on another worker it would execute the notebooks a second time
            raise pytest.UsageError(f"{item.nodeid} reads the shared notebook runs: add its module to "
                                    "READER_MODULES in tests/conftest.py")
    rank = {path: i for i, path in enumerate(HEAVIEST_FIRST)}
    # (notebook_runs puts the readers' group before all of these: its own hook runs last)
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def load_site_builder():
    """tools/build_site.py as a module (tools/ is not a package)."""
    import notebook_runs

    return notebook_runs.load_site_builder()


@pytest.fixture(scope="session")
def fast_site(tmp_path_factory, notebook_runs):
    """The whole course built as a site in fast mode, once per session: (folder, page records).

    tests/test_site.py checks its pages; tests/browser/test_offline.py opens
    them in Chromium with the network blocked. The pages render the session's
    one execution of each notebook (``notebook_runs``), which nbval's items read too.
    """
    out = tmp_path_factory.mktemp("site")
    pages = load_site_builder().build_site(out, fast=True, log=lambda *a, **k: None, runs=notebook_runs)
    return out, pages


# -- slow set-ups on the background thread, and one non-editable install per session ---------------

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Let each selected test module queue its slow set-up on the background thread, after the notebook runs.

    A module opts in with ``queue_in_background(config, items)`` (its selected items).
    """
    if session.config.option.collectonly:
        return
    import notebook_runs

    by_module: dict = {}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "queue_in_background"):
            by_module.setdefault(module, []).append(item)
    if notebook_runs.distributed(session.config):
        # A worker collects every test but runs only its groups: it queues a module's set-up when
        # that module's first test reaches it (pytest_runtest_protocol below).
        session.config.stash[_QUEUE_LATER] = by_module
        return
    for module, items in by_module.items():
        module.queue_in_background(session.config, items)


_QUEUE_LATER = pytest.StashKey[dict]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """On a pytest-xdist worker: queue a module's background set-up when its first test arrives."""
    waiting = item.config.stash.get(_QUEUE_LATER, {})
    module = getattr(item, "module", None)
    if module in waiting:
        module.queue_in_background(item.config, waiting.pop(module))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: keep what a worker's browser conftest left out, for the summary line."""
    left_out = getattr(node, "workeroutput", {}).get("browser_left_out")
    if left_out:
        _BROWSER_LEFT_OUT[:] = left_out


_BROWSER_LEFT_OUT: list = []


def pytest_terminal_summary(terminalreporter):
    if _BROWSER_LEFT_OUT:  # (without workers tests/browser/conftest.py prints this line itself)
        count, why = _BROWSER_LEFT_OUT
        terminalreporter.write_line(f"SKIPPED {count} browser tests: {why}", yellow=True)


@pytest.fixture(scope="session")
def non_editable_site(pytestconfig, tmp_path_factory):
    """``pip install --no-deps --target <tmp>/site-packages <checkout>``: a non-editable copy of the course."""
    import non_editable
    import notebook_runs

    queued = notebook_runs.runs_of(pytestconfig).job(non_editable.JOB)
    if queued is not None:
        return queued.result()
    return non_editable.install(tmp_path_factory.mktemp("prefix") / "lib" / "site-packages")
