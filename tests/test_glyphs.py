"""The notebooks, as executed by the book build, print no warnings and miss no glyphs.

Scans the executed notebooks that the build writes to
``_build/editions/<lang>/_build/jupyter_execute/`` (built by the README's build command if stale).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from book_support import EDITIONS, ROOT, ensure_site, notebooks

WARNING_MARKERS = ("Warning:", "IProgress not found", "Traceback (most recent call last)")


def executed(lang: str) -> list[Path]:
    ensure_site()
    folder = ROOT / "_build" / "editions" / lang / "_build" / "jupyter_execute" / "chapters" / lang
    found = sorted(folder.glob("*.ipynb"))
    expected = {nb.name for nb in notebooks(lang)}
    assert expected <= {p.name for p in found}, f"executed notebooks missing in {folder}: {expected - {p.name for p in found}}"
    return [p for p in found if p.name in expected]


def output_texts(path: Path) -> list[tuple[int, str]]:
    """(cell index, text) of every stream, error and text/plain output."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    texts = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                texts.append((i, "".join(out["text"]) if isinstance(out["text"], list) else out["text"]))
            elif out["output_type"] == "error":
                texts.append((i, "\n".join(out.get("traceback", [])) + out.get("evalue", "")))
            elif "text/plain" in out.get("data", {}):
                t = out["data"]["text/plain"]
                texts.append((i, "".join(t) if isinstance(t, list) else t))
    return texts


def output_lines_matching(lang: str, matches) -> list[str]:
    """``"<notebook> cell <i>: <line>"`` for every output line of an edition for which ``matches(line)``."""
    return [
        f"{p.name} cell {i}: {line.strip()[:160]}"
        for p in executed(lang)
        for i, text in output_texts(p)
        for line in text.splitlines()
        if matches(line)
    ]


@pytest.mark.parametrize("lang", EDITIONS)
def test_no_missing_glyphs(lang: str) -> None:
    bad = output_lines_matching(lang, lambda line: "Glyph" in line and "missing" in line)
    assert not bad, "matplotlib could not draw some characters (call vae_lib.use_korean_font()):\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", EDITIONS)
def test_no_warnings_in_outputs(lang: str) -> None:
    bad = output_lines_matching(lang, lambda line: any(marker in line for marker in WARNING_MARKERS))
    assert not bad, "executed notebooks show warnings:\n" + "\n".join(bad)


def test_detector_sees_a_glyph_warning(tmp_path: Path) -> None:
    """The scan reads stream outputs (guards against a detector that never fires)."""
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stderr",
          "text": ["UserWarning: Glyph 48516 (\\N{HANGUL SYLLABLE BUN}) missing from font(s) DejaVu Sans.\n"]}]}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    assert any("Glyph" in t and "missing" in t for _, t in output_texts(path))
