"""The pyperf settings a run recorded (``pyperf_settings``), read back: how many time-paired
batches and rounds its profile asks of each point.

Every point of a run carries its profile's settings as one line of text, e.g.
``processes=2 rounds=2 values=4 warmups=0 loops=1 min_time=0.05 ...`` (written by
gilbench.run.profiles).  Each timed value of a throughput point other than serial has a
serial partner (gilbench.measure.pairs), so the profile asks for processes x values pairs
per point (the values being the point's ``values_per_process`` where recorded), over
``rounds`` rounds; settling may add more, a lost worker fewer.  The tidy table carries
both (``profile_pairs``, ``profile_rounds``) beside what a point got (``pairs``,
``paired_rounds``), and gilbench.analysis.noise warns where it got fewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NAN = float("nan")


def recorded_settings(meta: Mapping[str, Any]) -> dict[str, str]:
    """``pyperf_settings`` as a mapping of names to their text ({} where not recorded)."""
    out = {}
    for item in str(meta.get("pyperf_settings", "")).split():
        key, sep, value = item.partition("=")
        if sep and key:
            out[key] = value
    return out


def _whole(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def profile_pairs(meta: Mapping[str, Any]) -> dict[str, float]:
    """``profile_pairs`` (processes x values) and ``profile_rounds`` (rounds) of the run's
    recorded settings; NaN where they were not recorded or do not read as counts.  The
    values are the point's own ``values_per_process`` where it records them (a headline
    point may get more than the profile's ``values``)."""
    settings = recorded_settings(meta)
    processes = _whole(settings.get("processes"))
    own = meta.get("values_per_process")
    values = _whole(str(own) if own is not None else settings.get("values"))
    rounds = _whole(settings.get("rounds"))
    return {
        "profile_pairs": float(processes * values) if processes and values else NAN,
        "profile_rounds": float(rounds) if rounds else NAN,
    }
