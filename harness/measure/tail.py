"""The tail of a pool batch: the share of its usable workers left idle while the batch's
last tasks finish.

A pool takes tasks from one queue: a worker that finishes takes the next task, until
the queue is empty.  From then on every worker that finishes stays idle until the batch
ends, so each worker's last finishing time is among the batch's latest ones: with
``slots`` workers that can run at once (``min(workers, pinned CPUs)``), the ``slots``
latest finishing times are the moments the slots went idle for good.  The idle time
they leave, over ``slots`` times the batch's span, is the tail share: 0 when every slot
works to the end, near 0.5 when each worker had one task of uneven length.  With too
few tasks per worker it, not the work, caps the speedup (docs/method.md, "Tasks per
worker").

Pure arithmetic on the finishing times the pool's workers stamp
(gilbench.measure.batch.run_stamped), outside the timed region.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def tail_share(start: float, finish_times: Sequence[float], slots: int) -> float:
    """The share of ``slots`` workers' time, from ``start`` to the last finishing time,
    spent idle after the queue emptied (NaN without finishing times or a span)."""
    if not finish_times or slots < 1:
        return math.nan
    ends = sorted(finish_times)
    span = ends[-1] - start
    if span <= 0:
        return math.nan
    retired = ends[-slots:]  # each slot's last task (see the module docstring)
    idle = sum(ends[-1] - end for end in retired) + max(0, slots - len(ends)) * span
    return min(1.0, max(0.0, idle / (slots * span)))
