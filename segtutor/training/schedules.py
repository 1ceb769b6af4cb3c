"""Learning-rate schedules of the course's training.

:func:`cosine_schedule` (Loshchilov and Hutter 2017) decays Adam's rate from
its start to 0 on half a cosine over the run. It is defined in
:mod:`segtutor.learning`, below the models, so that a model's own training
recipe can use it; training code and notebooks find it here.

Examples
--------
>>> schedule = cosine_schedule(1e-3, 100)
>>> round(float(schedule(0)), 6), round(float(schedule(100)), 6)
(0.001, 0.0)
"""

from __future__ import annotations

from ..learning import cosine_schedule

__all__ = ["cosine_schedule"]
