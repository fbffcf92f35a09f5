"""Helpers shared by the book tests (notebook parsing, the built site)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
#: The built site; ``VAE_BOOK_BUILD_DIR`` (as in book/build.py) points the tests at another build.
SITE = Path(os.environ.get("VAE_BOOK_BUILD_DIR") or ROOT / "_build").resolve() / "html"
EDITIONS = ("ko", "en")
BUILD_COMMAND = [sys.executable, "-m", "book", "build"]


def notebooks(lang: str | None = None) -> list[Path]:
    """Chapter notebooks (``chapters/<lang>/NN_*.ipynb``), sorted."""
    langs = [lang] if lang else list(EDITIONS)
    return sorted(p for lg in langs for p in (CHAPTERS / lg).glob("[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def strip_comments(code: str) -> str:
    """Python source without ``#`` comments, trailing spaces and blank lines.

    Uses :mod:`tokenize`, so a ``#`` inside a string is kept. IPython magics (``%``/``!`` lines)
    are compared verbatim after removing a trailing `` # ...`` comment.
    """
    lines_out: list[str] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
        comments = {(t.start[0], t.start[1]) for t in tokens if t.type == tokenize.COMMENT}
        lines = code.splitlines()
        for lineno, line in enumerate(lines, start=1):
            cut = min((col for (row, col) in comments if row == lineno), default=None)
            kept = line[:cut] if cut is not None else line
            lines_out.append(kept.rstrip())
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines_out = [re.sub(r"\s#.*$|^#.*$", "", line).rstrip() for line in code.splitlines()]
    return "\n".join(line for line in lines_out if line.strip())


def _sources_mtime() -> float:
    paths = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "references.bib", ROOT / "package.json"]
    for folder, pattern in ((CHAPTERS, "**/*"), (ROOT / "book", "**/*"), (ROOT / "vae_lib", "**/*.py")):
        paths += [p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in paths if p.exists())


def ensure_site() -> Path:
    """Build the site with the README's build command unless ``_build/html`` is up to date.

    Up to date means: ``_build/html/index.html`` and both editions exist and are newer than
    every source (chapters, book machinery, configs, vae_lib). A lock file keeps pytest-xdist
    workers from building twice. Set ``VAE_BOOK_NO_BUILD=1`` to test whatever is there.
    """
    SITE.parent.mkdir(parents=True, exist_ok=True)
    with open(SITE.parent / ".site-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = SITE / "index.html"
        fresh = (SITE / ".build-ok").is_file() and all((SITE / lg / "index.html").is_file() for lg in EDITIONS) and (
            index.stat().st_mtime >= _sources_mtime()
        )
        if not fresh and os.environ.get("VAE_BOOK_NO_BUILD") != "1":
            result = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True)
            if result.returncode != 0 or not index.is_file():
                raise AssertionError(
                    f"`{' '.join(BUILD_COMMAND[1:])}` failed (exit {result.returncode}):\n"
                    + result.stdout[-8000:] + result.stderr[-4000:]
                )
    return SITE
