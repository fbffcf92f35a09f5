"""Check cells of the coding exercises: messages in the edition's language, and a visible "passed".

The convention of a chapter's check cell (tag ``exercise-check``; CONTRIBUTING.md)::

    from vae_lib.exercises import check, passed   # once, in the chapter's import cell

    check(abs(mine - torch_kl) < 1e-3 * max(1.0, abs(torch_kl)), TEXT["ex_mvn_trace"],
          mine=mine, torch_kl=torch_kl)
    passed("ex-ch04-5")

* :func:`check` raises ``AssertionError`` with ``message.format(**values)`` when the condition
  is false. The message comes from the ``TEXT`` dict of the ``lang`` cell, so it is in the
  edition's language, says what is wrong and what to look at, and can show numbers
  (``"... (yours {mine:.4g}, torch {torch_kl:.4g}) ..."``); it is always one string, never a
  tuple such as ``('kl_mvn: differs from torch; ...', 11.88, 8.885)``.
* :func:`passed`, the last line of the cell, prints ``✓ 연습 4.5 통과`` / ``✓ Exercise 4.5 passed``.

The language is the ``lang`` argument, else the ``LANG`` global of the calling code (the
notebook's ``lang`` cell), else English; so a check cell is the same code in both twins.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

__all__ = ["check", "passed", "PASSED", "exercise_number"]

LANGUAGES = ("ko", "en")
#: What a passing check cell prints; ``{number}`` is "4.5".
PASSED = {"ko": "✓ 연습 {number} 통과", "en": "✓ Exercise {number} passed"}
_LABEL = re.compile(r"ex-ch(\d+)-(\w+)")


def _language(lang: str | None, depth: int = 2) -> str:
    if lang is None:
        frame = inspect.currentframe()
        try:
            for _ in range(depth):
                frame = frame.f_back if frame is not None else None
            lang = frame.f_globals.get("LANG") if frame is not None else None
        finally:
            del frame
    if lang is None:
        return "en"
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    return lang


def exercise_number(exercise: str) -> str:
    """``"ex-ch04-5"`` → ``"4.5"``; a number such as ``"4.5"`` is returned as it is."""
    m = _LABEL.fullmatch(str(exercise).strip())
    return f"{int(m.group(1))}.{m.group(2)}" if m else str(exercise).strip()


def check(condition: Any, message: str | dict[str, str], **values: Any) -> None:
    """Raise ``AssertionError(message.format(**values))`` unless ``condition`` is true.

    ``message``: one string in the edition's language (normally ``TEXT[...]``), or a dict
    ``{"ko": ..., "en": ...}`` of which the edition's entry is used. ``values`` fill its
    ``{name}`` / ``{name:.4g}`` fields; a field without a value is left as written.
    """
    if bool(condition):
        return
    if isinstance(message, dict):
        lang = _language(None)
        message = message.get(lang) or next(iter(message.values()))
    text = str(message)
    if values:
        try:
            text = text.format(**values)
        except (KeyError, IndexError, ValueError):
            shown = ", ".join(f"{k} = {v}" for k, v in values.items())
            text = f"{text} ({shown})"
    raise AssertionError(text)


def passed(exercise: str, lang: str | None = None) -> str:
    """Print (and return) the line of a passing check cell: "✓ 연습 4.5 통과" / "✓ Exercise 4.5 passed"."""
    line = PASSED[_language(lang)].format(number=exercise_number(exercise))
    print(line)
    return line
