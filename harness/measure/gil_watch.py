"""The GIL checked where it matters (docs/design.md, rule 5): which step of a worker's start-up
turned it on, and which extension modules that step loaded.

On a free-threaded build an extension module that does not declare free-threading
support re-enables the GIL when it is imported, with only a warning, unless PYTHON_GIL=0
forces it off.  A worker therefore looks at ``sys._is_gil_enabled()`` after each step of
its start-up (the interpreter's own start, gilbench's worker imports, importing the
workload's module, the workload's setup, starting the pool) and names the first step that
found it on, with the extension modules (``.so``/``.pyd`` files) that step imported.

This module imports nothing but the standard library and takes its first look when it is
imported: the bridge imports it before psutil and pyperf, so their extension modules
count as a step of their own.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from gilbench.measure.interpreter import gil_enabled_now

EXTENSION_SUFFIXES = (".so", ".pyd")
#: At most this many extension modules are named in a reason.
MAX_NAMED = 4


@dataclass(frozen=True)
class Look:
    """The GIL's state and the loaded modules at one moment of a worker's start-up."""

    gil_enabled: bool
    modules: frozenset[str]

    @classmethod
    def now(cls) -> Look:
        """The state right now."""
        return cls(gil_enabled_now(), frozenset(sys.modules))


def extension_modules(names: frozenset[str] | set[str]) -> list[str]:
    """Those of ``names`` that are loaded extension modules (a ``.so`` or ``.pyd`` file)."""
    found = []
    for name in sorted(names):
        path = getattr(sys.modules.get(name), "__file__", None) or ""
        if path.endswith(EXTENSION_SUFFIXES):
            found.append(name)
    return found


#: The first look: when the bridge imported this module, before psutil and pyperf.
AT_IMPORT = Look.now()


class GilWatch:
    """Looks at the GIL after each step of a worker's start-up; remembers the first step
    that found it enabled (:attr:`reenabled_by`)."""

    def __init__(self, first: Look | None = None) -> None:
        """Start from ``first``, by default the look taken when this module was imported."""
        self._last = first if first is not None else AT_IMPORT
        self.reenabled_by: str | None = None
        if self._last.gil_enabled:
            self._blame("the interpreter's start-up", self._last.modules)

    def step(self, what: str) -> bool:
        """Look after the step described by ``what`` (``importing gilbench.benchmarks.cpu``);
        return whether the GIL is enabled now."""
        look = Look.now()
        if look.gil_enabled and not self._last.gil_enabled and self.reenabled_by is None:
            self._blame(what, look.modules - self._last.modules)
        self._last = look
        return look.gil_enabled

    def _blame(self, what: str, loaded: frozenset[str]) -> None:
        extensions = extension_modules(loaded)
        named = ", ".join(extensions[:MAX_NAMED])
        more = f" and {len(extensions) - MAX_NAMED} more" if len(extensions) > MAX_NAMED else ""
        self.reenabled_by = f"{what} (extension modules {named}{more})" if named else what
