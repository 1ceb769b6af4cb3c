"""How a batch is graded: :class:`GradeOptions`.

A module of its own so that the argument checks (:mod:`._checks`) and the
grader (:mod:`.grade`) can both import it without importing each other.

Example
-------
>>> GradeOptions(seed=3).validate()
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GradeOptions", "MIN_SECONDS"]

#: The shortest time limit (seconds) :meth:`GradeOptions.validate` accepts for a cell, a probe or a notebook.
MIN_SECONDS = 1


@dataclass
class GradeOptions:
    """How to run submissions.

    Attributes
    ----------
    seed : int
        Batch seed for the hidden cases (recorded in the gradebook).
    cell_timeout, probe_timeout, notebook_timeout : float
        Seconds for each student cell, each probe cell and the whole run.
    memory_limit_mb : int
        RLIMIT_DATA of the kernel and the watchdog's resident-memory limit.
    sandbox : bool
        Run each submission in a bubblewrap sandbox (default). False is
        good-faith grading: the kernel runs as the grading user and can see
        what that user sees; the gradebook records it on every row.
    no_network : bool
        Without the sandbox only: run the kernel in a user namespace whose
        only network is loopback (``unshare -rn``). The sandbox always cuts
        the network.
    fast : bool
        Run notebooks in the course's fast mode (``SEGTUTOR_FAST=1``).
    data : list of path
        Public data folders visible (read-only) in each submission's folder.
    probe_cap : int
        Bytes of stdout kept per probe; the rest is dropped unread.
    """

    seed: int = 0
    cell_timeout: float = 120
    probe_timeout: float = 30
    notebook_timeout: float = 900
    memory_limit_mb: int = 4096
    sandbox: bool = True
    no_network: bool = False
    fast: bool = True
    data: list = field(default_factory=list)
    probe_cap: int = 1 << 20

    def validate(self) -> None:
        """Raise ValueError naming the first option out of range."""
        for name in ("cell_timeout", "probe_timeout", "notebook_timeout"):
            value = getattr(self, name)
            # Below a second nothing runs (a kernel takes longer to start): every honest student would be
            # recorded as a timeout, so a tiny value is a typo, not a choice.
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or not MIN_SECONDS <= value <= 86400:
                raise ValueError(f"{name} must be a number of seconds from {MIN_SECONDS} to 86400, got {value!r}.")
        if isinstance(self.memory_limit_mb, bool) or not isinstance(self.memory_limit_mb, int) \
                or not 256 <= self.memory_limit_mb <= 1 << 20:
            raise ValueError(f"memory_limit_mb must be an integer from 256 to 1048576 MiB, got {self.memory_limit_mb!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer from 0 to 2**63 - 1, got {self.seed!r}.")
        if not isinstance(self.probe_cap, int) or not 1024 <= self.probe_cap <= 1 << 28:
            raise ValueError(f"probe_cap must be 1024 to 2**28 bytes, got {self.probe_cap!r}.")
        for folder in self.data:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"data folder {folder} does not exist; pass existing folders to --data.")
