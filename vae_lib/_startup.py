"""Ctrl-C while ``python -m vae_lib`` starts (torch takes a second or more to import): one line, exit status 130.

``vae_lib/__init__.py`` calls :func:`guard_interrupt` first; it acts only when this process is
``python -m vae_lib ...`` (``sys.argv[0]`` is ``"-m"`` while the package is being imported for
``-m``), so importing vae_lib anywhere else (a notebook, a script, pytest) changes nothing.
``vae_lib.__main__.main`` puts Python's own handler back once the imports are done, and the
command's own Ctrl-C handling (``--resume`` hint) takes over.
"""

from __future__ import annotations

import os
import signal
import sys


def _is_cli() -> bool:
    orig = list(getattr(sys, "orig_argv", []))
    return sys.argv[:1] == ["-m"] and "-m" in orig and orig[orig.index("-m") + 1 : orig.index("-m") + 2] == ["vae_lib"]


def _on_interrupt(signum, frame) -> None:  # noqa: ARG001
    sys.stderr.write("\ninterrupted while starting up; nothing was done\n")
    sys.stderr.flush()
    os._exit(130)


def guard_interrupt() -> None:
    if _is_cli() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_interrupt)
