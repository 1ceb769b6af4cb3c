# The submodules of segtutor.grading, read by lazy_loader.attach_stub in __init__.py: each loads on
# first use (tests/test_lazy_stubs.py). The stages of `segtutor grade` are submissions, jobs,
# launch and score (chained in grade); gradebook writes the rows.

from . import (
    assignment,
    cluster,
    collect,
    commands,
    flags,
    grade,
    gradebook,
    jobs,
    launch,
    options,
    peaks,
    probe,
    release,
    results,
    runner,
    sandbox,
    score,
    submissions,
)
