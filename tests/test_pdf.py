"""The PDF of each edition (``python -m book pdf``, book/pdf.py).

The PDFs are built by the first test that needs them when they are missing or older than a source
(after the site, whose build fills the notebook cache the PDF build reads). Without XeLaTeX the
tests are skipped, unless ``VAE_BOOK_REQUIRE_PDF=1`` (CI), where they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import book_support  # noqa: E402

from book import pdf  # noqa: E402

LANGS = ("ko", "en")
SOLUTIONS_HEAD = {"ko": ("부록 A", "해답"), "en": ("Appendix A", "Solutions")}
SOLUTION_TITLE = {"ko": r"연습문제 (\d+\.\d+)의 해답", "en": r"Solution to Exercise (\d+\.\d+)"}


def _sources_mtime() -> float:
    paths = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "references.bib"]
    for folder, pattern in ((ROOT / "chapters", "**/*"), (ROOT / "book", "**/*.py"), (ROOT / "vae_lib", "**/*.py")):
        paths += [p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in paths if p.exists())


@pytest.fixture(scope="module")
def pdfs() -> dict[str, Path]:
    if shutil.which("xelatex") is None:
        message = ("xelatex not found: apt-get install texlive-xetex texlive-lang-korean latexmk "
                   "texlive-latex-extra texlive-fonts-recommended fonts-freefont-otf fonts-dejavu-core")
        if os.environ.get("VAE_BOOK_REQUIRE_PDF") == "1":
            pytest.fail(message)
        pytest.skip(message)
    out = {lang: pdf.PDF_OUT / f"vae-book-{lang}.pdf" for lang in LANGS}
    pdf.PDF_OUT.mkdir(parents=True, exist_ok=True)
    with open(pdf.PDF_OUT / ".pdf-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        newest = _sources_mtime()
        if not all(p.is_file() and p.stat().st_mtime > newest for p in out.values()):
            if os.environ.get("VAE_BOOK_NO_BUILD") != "1":
                book_support.ensure_site()  # fills the notebook cache: the PDF build executes nothing
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "book", "pdf"], cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            print(done.stdout[-3000:])
            assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
            print(f"python -m book pdf: {seconds:.1f} s for both editions")
    return out


def _pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _normal(text: str) -> str:
    """NFKC (ligatures apart), typographic quotes made plain, no whitespace."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", "", text)


def _chapter_titles(lang: str) -> list[str]:
    titles = []
    for path in book_support.notebooks(lang):
        nb = json.loads(path.read_text(encoding="utf-8"))
        first = next(book_support.source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
        title = re.search(r"^# (.+)$", first, re.M).group(1)
        titles.append(re.sub(r"^\d+\.\s*", "", title))
    for page in ("glossary", "notation"):
        text = (ROOT / "chapters" / lang / f"{page}.md").read_text(encoding="utf-8")
        titles.append(re.search(r"^# (.+)$", text, re.M).group(1))
    return titles


def _plain_title(title: str) -> str:
    """A MyST title as typeset: without markup (`code`, *emphasis*, $math$ kept as its letters)."""
    return re.sub(r"[`*$\\]", "", title)


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_exists_and_page_count(lang: str, pdfs: dict[str, Path]) -> None:
    pages = pdf.page_count(pdfs[lang])
    print(f"{pdfs[lang].name}: {pages} pages")
    assert pages > 100, pages  # 12 chapters, the solutions and the back matter


@pytest.mark.parametrize("lang", LANGS)
def test_every_chapter_title_is_in_the_pdf(lang: str, pdfs: dict[str, Path]) -> None:
    text = _normal("".join(_pages(pdfs[lang])))
    missing = [t for t in _chapter_titles(lang) if _normal(_plain_title(t)) not in text]
    assert not missing, f"chapter titles not found by pdftotext in {pdfs[lang].name}: {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_all_fonts_embedded(lang: str, pdfs: dict[str, Path]) -> None:
    listing = subprocess.run(["pdffonts", str(pdfs[lang])], capture_output=True, text=True, check=True).stdout
    rows = listing.splitlines()[2:]
    assert rows, listing
    not_embedded = [row for row in rows if row.split()[-5] != "yes"]  # columns: ... emb sub uni object ID
    assert not not_embedded, "fonts not embedded:\n" + "\n".join(not_embedded)
    if lang == "ko":
        assert any("Nanum" in row for row in rows), listing


@pytest.mark.parametrize("lang", LANGS)
def test_no_missing_characters_in_the_latex_log(lang: str, pdfs: dict[str, Path]) -> None:
    log = pdfs[lang].with_suffix(".log")
    assert log.is_file()
    missing = pdf.missing_characters(log)
    assert not missing, "\n".join(missing[:20])
    assert "Output written on" in log.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("lang", LANGS)
def test_solutions_are_in_an_appendix(lang: str, pdfs: dict[str, Path]) -> None:
    pages = _pages(pdfs[lang])
    label, name = SOLUTIONS_HEAD[lang]
    head = re.compile(rf"^\s*{re.escape(label)}\s*$", re.M)
    start = next(i for i, page in enumerate(pages) if head.search(page) and name in page)
    nxt = re.compile(rf"^\s*{re.escape(label[:-1])}B\s*$", re.M)
    end = next((i for i, page in enumerate(pages) if i > start and nxt.search(page)), len(pages))
    title = re.compile(SOLUTION_TITLE[lang])
    inline = [i + 1 for i, page in enumerate(pages) if title.search(page) and not start <= i < end]
    assert not inline, f"solutions outside the appendix (pages {start + 1}-{end}) on pages {inline}"
    found = [m.group(1) for page in pages[start:end] for m in title.finditer(page)]
    expected = 0
    for path in book_support.notebooks(lang):
        nb = json.loads(path.read_text(encoding="utf-8"))
        expected += sum(book_support.source(c).count("{solution}") for c in nb["cells"] if c["cell_type"] == "markdown")
    assert len(found) == expected, (len(found), expected)
    assert "4.3" in found  # numbered per chapter, as the exercises


def test_running_footer_and_numbers_in_the_edition_language(pdfs: dict[str, Path]) -> None:
    ko, en = "\f".join(_pages(pdfs["ko"])), "\f".join(_pages(pdfs["en"]))
    assert re.search(r"^4장\s+KL 발산\s+\d+\s*$", ko, re.M), "Korean footer '4장 KL 발산' not found"
    assert not re.search(r"^\s*(Chapter|CHAPTER) \d+\.?\s+\S.*\s\d+\s*$", ko, re.M), "an English footer in the Korean PDF"
    assert not re.search(r"^\s*(Chapter|Appendix) [0-9A-Z]+\s*$", ko, re.M), "an English chapter head in the Korean PDF"
    assert re.search(r"^Chapter 4\s+KL divergence\s+\d+\s*$", en, re.M)
    assert "연습문제 4.3" in ko and "Exercise 4.3" in en
    assert re.search(r"정리 4\.1\b", ko) and re.search(r"Theorem 4\.1\b", en)
    assert "(4.1)" in ko and "(4.1)" in en  # equations numbered per chapter


@pytest.mark.parametrize("lang", LANGS)
def test_explorables_leave_only_their_static_figure(lang: str, pdfs: dict[str, Path]) -> None:
    text = _normal("".join(_pages(pdfs[lang])))
    assert _normal("JavaScript가 필요합니다" if lang == "ko" else "needs JavaScript") not in text


@pytest.mark.parametrize("lang", LANGS)
def test_no_solution_markers_in_the_pdf(lang: str, pdfs: dict[str, Path]) -> None:
    text = "".join(_pages(pdfs[lang]))
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text


# ------------------------------------------------------------------------------ without XeLaTeX
def test_solution_markers_are_dropped_from_code_blocks() -> None:
    from docutils import nodes
    from docutils.utils import new_document
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser

    doc = new_document("test", get_default_settings(Parser))
    code = "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n"
    doc += nodes.literal_block(code, code)
    doc += nodes.literal_block("print(1)", "print(1)")
    assert pdf.strip_solution_markers(doc) == 1
    blocks = list(doc.findall(nodes.literal_block))
    assert blocks[0].astext() == "def f(x):\n    return 2 * x\n" and blocks[0].rawsource == blocks[0].astext()
    assert blocks[1].astext() == "print(1)"


def test_korean_is_known_to_sphinx_babel_lookup() -> None:
    """Sphinx warned ``no Babel option known for language 'ko'``; kotex does Hangul, polyglossia stays English."""
    from sphinx.builders.latex.util import ExtBabel

    pdf.register_languages()
    babel = ExtBabel("ko", True)
    assert babel.get_language() == "english" and babel.is_supported_language()


def test_theorem_header_is_kept_with_its_content() -> None:
    """A theorem-like block asks for room (``\\needspace``) before its header: never alone at a page's foot."""

    class Writer:
        body: list[str] = []
        curfilestack = ["chapters/ko/04_kl_divergence"]

    writer = Writer()
    node = type("Node", (), {"attributes": {"label": "thm-ch04-gibbs"}})()
    pdf._visit_proof(writer, node)
    joined = "".join(writer.body)
    assert rf"\needspace{{{pdf.KEEP_WITH_HEADER}\baselineskip}}" in joined
    assert joined.index(r"\needspace") < joined.index(r"\label{")
    assert r"\usepackage{needspace}" in pdf.latex_elements("ko")["preamble"]
