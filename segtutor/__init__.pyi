# Lazy submodules and public names of segtutor, read by lazy_loader.attach_stub in __init__.py:
# each `from . import x` is a submodule loaded on first use, each `from .m import f` a name
# imported from its submodule on first use. Keep it in step with the package (tests/test_lazy_stubs.py).

__version__: str

from . import (
    boxes,
    classical,
    convolution,
    datasets,
    dense,
    environment,
    exercises,
    grading,
    instances,
    interpret,
    learning,
    losses,
    maskrcnn,
    metrics,
    models,
    modes,
    pseudo_labels,
    semi,
    training,
    viz,
    widgets,
)
from .environment import doctor, seed_everything
