"""Release student copies and grade submissions (the ``segtutor`` command).

``segtutor release SRC... --to DIR [--update]``
    Student copies: solutions become stubs, outputs and secret metadata go,
    check cells are locked. See :mod:`segtutor.grading.release`.
``segtutor grade SUBMISSIONS... --source SRC --out gradebook.csv [--jobs N] [--scheduler local|ADDRESS]``
    A bubblewrap sandbox and a fresh kernel per submission, probe cells,
    comparison in the grader's process. See :mod:`segtutor.grading.grade`,
    :mod:`segtutor.grading.sandbox` and ``TRUST.md`` beside this file for
    what it defends against.
"""

import lazy_loader as _lazy

# The submodules, in __init__.pyi, load on first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
