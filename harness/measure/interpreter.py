"""Facts about the interpreter that runs a point: version, build, and the GIL's real state."""

from __future__ import annotations

import platform
import sys
import sysconfig
from dataclasses import dataclass


def is_free_threaded_build() -> bool:
    """True on a free-threaded (``--disable-gil``, "3.14t") CPython build."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled_now() -> bool:
    """Whether the GIL is enabled in this process right now (always True before 3.13)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def interpreter_tag(
    implementation: str,
    version: tuple[int, int],
    free_threaded: bool,
    gil_requested: str | None,
    gil_enabled: bool = False,
) -> str:
    """A short name used in file names and tables: ``cpython3.14t``, ``cpython3.14t-gil``.

    The ``-gil`` suffix marks a free-threaded build running with the GIL: asked for with
    PYTHON_GIL=1, or, with PYTHON_GIL unset, re-enabled by an extension module
    (``gil_enabled``, as a worker found it), so the three builds of the interpreter
    comparison never share a tag and a GIL-on point never passes for a free-threaded one.
    """
    tag = f"{implementation.lower()}{version[0]}.{version[1]}"
    if free_threaded:
        tag += "t"
        if gil_requested == "1" or (gil_requested is None and gil_enabled):
            tag += "-gil"
    return tag


def base_tag(tag: str) -> str:
    """The build's tag without the ``-gil`` suffix: ``cpython3.14t-gil`` -> ``cpython3.14t``."""
    return tag.removesuffix("-gil")


@dataclass(frozen=True)
class InterpreterInfo:
    """The interpreter this process runs on."""

    implementation: str
    version: str
    free_threaded: bool
    gil_enabled: bool
    executable: str
    tag: str

    @classmethod
    def current(
        cls, gil_requested: str | None = None, *, as_found: bool = False
    ) -> InterpreterInfo:
        """Describe this process's interpreter.

        The tag says what was asked for (PYTHON_GIL), as a run's plan names its file;
        ``as_found`` (in a measuring worker) tags a GIL that an extension module
        re-enabled as the GIL-on variant too.
        """
        free_threaded = is_free_threaded_build()
        gil_enabled = gil_enabled_now()
        return cls(
            implementation=platform.python_implementation(),
            version=platform.python_version(),
            free_threaded=free_threaded,
            gil_enabled=gil_enabled,
            executable=sys.executable,
            tag=interpreter_tag(
                platform.python_implementation(),
                sys.version_info[:2],
                free_threaded,
                gil_requested,
                gil_enabled=as_found and gil_enabled,
            ),
        )
