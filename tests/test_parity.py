"""The Korean and English editions are twins: same files, same code, same labels and figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from book_support import CHAPTERS, ROOT, load, notebooks, source, strip_comments, tags

KO = {p.name for p in notebooks("ko")}
EN = {p.name for p in notebooks("en")}
PAIRS = sorted(KO & EN)

EQ_LABEL = re.compile(r"\$\$\s*\((eq-[\w-]+)\)")
DIRECTIVE_LABEL = re.compile(r"^:label:\s*(\S+)", re.M)
TARGET = re.compile(r"^\(([\w-]+)\)=\s*$", re.M)
EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise\}", re.M)
SOLUTION = re.compile(r"^(`{3,}|:{3,})\{solution\}\s*(\S+)", re.M)
MD_FIGURE_NAME = re.compile(r"^(`{3,}|:{3,})\{figure\}[^\n]*\n(?::[^\n]*\n)*?:name:\s*(\S+)", re.M)


def test_every_chapter_has_a_twin() -> None:
    assert KO == EN, f"only in chapters/ko: {sorted(KO - EN)}; only in chapters/en: {sorted(EN - KO)}"


def test_preface_pages_exist() -> None:
    assert (CHAPTERS / "ko" / "index.md").is_file() and (CHAPTERS / "en" / "index.md").is_file()


def test_strip_comments_keeps_hashes_in_strings() -> None:
    code = 'x = "a # b"  # 주석\n# whole line\ny = 1\n'
    assert strip_comments(code) == 'x = "a # b"\ny = 1'


def _markdown(nb: dict) -> str:
    return "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def _figure_names(nb: dict) -> list[str]:
    names = [
        c["metadata"]["mystnb"]["figure"]["name"]
        for c in nb["cells"]
        if c["cell_type"] == "code" and "figure" in c.get("metadata", {}).get("mystnb", {})
    ]
    return names + [m.group(2) for m in MD_FIGURE_NAME.finditer(_markdown(nb))]


def _pair(name: str) -> tuple[dict, dict]:
    return load(CHAPTERS / "ko" / name), load(CHAPTERS / "en" / name)


@pytest.mark.parametrize("name", PAIRS)
def test_code_cells_identical_without_comments(name: str) -> None:
    ko, en = _pair(name)
    code_ko = [c for c in ko["cells"] if c["cell_type"] == "code" and "lang" not in tags(c)]
    code_en = [c for c in en["cells"] if c["cell_type"] == "code" and "lang" not in tags(c)]
    assert len(code_ko) == len(code_en), f"{name}: {len(code_ko)} code cells in ko, {len(code_en)} in en"
    for i, (a, b) in enumerate(zip(code_ko, code_en)):
        assert strip_comments(source(a)) == strip_comments(source(b)), (
            f"{name}: code cell {i} differs between the editions (apart from comments); "
            "user-visible strings belong in the `lang` cell's TEXT dict"
        )
        assert sorted(tags(a)) == sorted(tags(b)), f"{name}: code cell {i} has different tags"


@pytest.mark.parametrize("name", PAIRS)
def test_same_lang_keys(name: str) -> None:
    ko, en = _pair(name)
    keys = []
    for nb in (ko, en):
        lang_cells = [source(c) for c in nb["cells"] if c["cell_type"] == "code" and "lang" in tags(c)]
        assert len(lang_cells) == 1, f"{name}: exactly one code cell tagged `lang`"
        namespace: dict = {}
        exec(lang_cells[0], namespace)  # noqa: S102  (our own notebooks)
        keys.append(set(namespace["TEXT"]))
    assert keys[0] == keys[1], f"{name}: TEXT keys differ: {sorted(keys[0] ^ keys[1])}"


@pytest.mark.parametrize("name", PAIRS)
def test_same_labels_exercises_and_figures(name: str) -> None:
    ko, en = _pair(name)
    md_ko, md_en = _markdown(ko), _markdown(en)
    assert EQ_LABEL.findall(md_ko) == EQ_LABEL.findall(md_en), f"{name}: equation labels differ"
    assert DIRECTIVE_LABEL.findall(md_ko) == DIRECTIVE_LABEL.findall(md_en), (
        f"{name}: :label: options (theorems, definitions, exercises, ...) differ"
    )
    assert TARGET.findall(md_ko) == TARGET.findall(md_en), f"{name}: (section-label)= targets differ"
    assert len(EXERCISE.findall(md_ko)) == len(EXERCISE.findall(md_en)), f"{name}: number of exercises differs"
    assert [m[1] for m in SOLUTION.findall(md_ko)] == [m[1] for m in SOLUTION.findall(md_en)], (
        f"{name}: solutions differ"
    )
    assert _figure_names(ko) == _figure_names(en), f"{name}: figure names differ"


def test_parity_checks_can_fail() -> None:
    """The label extraction sees a real difference (guards against regexes that match nothing)."""
    md = "$$\nx\n$$ (eq-ch00-a)\n\n```{exercise}\n:label: ex-ch00-1\n```\n"
    assert EQ_LABEL.findall(md) == ["eq-ch00-a"]
    assert DIRECTIVE_LABEL.findall(md) == ["ex-ch00-1"]
    assert len(EXERCISE.findall(md)) == 1
