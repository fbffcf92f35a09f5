"""Checks on the built site (``_build/html``, built by the README's build command if stale)."""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from book_support import EDITIONS, ROOT, ensure_site, notebooks

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import korean_search  # noqa: E402
import lang_switch  # noqa: E402


class Page(HTMLParser):
    """Links, ids, ``<html lang>`` and the text outside math/code of one HTML file."""

    SKIP = {"script", "style", "pre", "code", "textarea"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.lang = ""
        self.text: list[str] = []
        self.anchors: list[dict[str, str]] = []
        self._stack: list[bool] = []  # per open element: inside math/code?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag in ("a", "link") and "href" in a:
            self.links.append(a["href"])
        if tag in ("script", "img", "iframe") and "src" in a:
            self.links.append(a["src"])
        if tag == "a":
            self.anchors.append(a)
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr", "col", "area", "base", "embed"):
            return
        hidden = (self._stack[-1] if self._stack else False) or tag in self.SKIP or "math" in a.get("class", "").split()
        self._stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self._stack and self._stack[-1]):
            self.text.append(data)


_PAGES: dict[Path, Page] = {}


def page(path: Path) -> Page:
    if path not in _PAGES:
        parser = Page()
        parser.feed(path.read_text(encoding="utf-8"))
        _PAGES[path] = parser
    return _PAGES[path]


@pytest.fixture(scope="module")
def site() -> Path:
    return ensure_site()


def html_files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def chapter_pages(site: Path, lang: str) -> list[Path]:
    pages = [site / lang / "chapters" / lang / "index.html"]
    pages += [site / lang / "chapters" / lang / (nb.stem + ".html") for nb in notebooks(lang)]
    return pages


def test_root_page_links_both_editions(site: Path) -> None:
    root = page(site / "index.html")
    for lang in EDITIONS:
        assert f"{lang}/index.html" in root.links, f"the root page must link {lang}/index.html"
        assert (site / lang / "index.html").is_file()


def test_edition_pages_exist_and_have_their_language(site: Path) -> None:
    for lang in EDITIONS:
        pages = chapter_pages(site, lang)
        missing = [p for p in pages if not p.is_file()]
        assert not missing, f"not built: {missing}"
        for p in pages:
            assert page(p).lang == lang, f"{p.relative_to(site)}: <html lang={page(p).lang!r}>, expected {lang!r}"


def test_internal_links_and_anchors_resolve(site: Path) -> None:
    broken: list[str] = []
    for path in html_files(site):
        for link in page(path).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or not (parts.path or parts.fragment):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site)} -> {link} (missing file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in page(target).ids:
                broken.append(f"{path.relative_to(site)} -> {link} (missing anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])


def test_every_page_has_a_language_switch_to_its_twin(site: Path) -> None:
    for lang, other in (("ko", "en"), ("en", "ko")):
        for p in chapter_pages(site, lang):
            switches = [a for a in page(p).anchors if "lang-switch" in a.get("class", "").split()]
            assert len(switches) == 1, f"{p.relative_to(site)}: expected one language switch, found {len(switches)}"
            target = (p.parent / switches[0]["href"]).resolve()
            expected = site / other / p.relative_to(site / lang).as_posix().replace(f"chapters/{lang}/", f"chapters/{other}/")
            assert target == expected.resolve(), f"{p.relative_to(site)}: switch points to {target}, not {expected}"
            assert target.is_file() and switches[0].get("hreflang") == other


def test_launch_buttons_on_every_notebook_page(site: Path) -> None:
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    org_repo = urlsplit(repo["url"]).path.strip("/")
    for lang in EDITIONS:
        for nb in notebooks(lang):
            links = page(site / lang / "chapters" / lang / (nb.stem + ".html")).links
            colab = f"https://colab.research.google.com/github/{org_repo}/blob/{repo['branch']}/chapters/{lang}/{nb.name}"
            assert colab in links, f"{nb.name} ({lang}): no Colab launch button {colab}"
            binder = [u for u in links if u.startswith(f"https://mybinder.org/v2/gh/{org_repo}/{repo['branch']}")]
            assert binder and f"chapters/{lang}/{nb.name}" in binder[0], f"{nb.name} ({lang}): no Binder button"


def test_no_unrendered_math_delimiters(site: Path) -> None:
    """Outside math elements (which MathJax typesets) and code, no TeX delimiter is left."""
    bad = []
    for lang in EDITIONS:
        for p in chapter_pages(site, lang):
            text = "".join(page(p).text)
            for delimiter in ("$$", "\\(", "\\[", "\\begin{"):
                if delimiter in text:
                    i = text.index(delimiter)
                    bad.append(f"{p.relative_to(site)}: {delimiter!r} in ...{text[max(0, i - 40):i + 40]!r}")
    assert not bad, "\n".join(bad)


def test_math_is_served_locally(site: Path) -> None:
    for lang in EDITIONS:
        p = site / lang / "chapters" / lang / "index.html"
        scripts = [u for u in page(p).links if "tex-mml-chtml.js" in u]
        assert scripts and not urlsplit(scripts[0]).scheme, f"MathJax is not loaded locally: {scripts}"
        assert (p.parent / urlsplit(scripts[0]).path).resolve().is_file()
        assert (site / lang / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def _search_terms(site: Path, lang: str) -> dict:
    text = (site / lang / "searchindex.js").read_text(encoding="utf-8")
    data = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    return {**data["terms"], **data["titleterms"]}  # words of titles are only in titleterms


def test_korean_search_index_has_syllable_bigrams(site: Path) -> None:
    terms = _search_terms(site, "ko")
    assert "분포" in terms, "the Korean index must contain the word 분포 (from 사후 분포 / 확률 분포)"
    assert "글씨" in terms, "the bigram 글씨 of 손글씨 must be indexed (chapter 00)"
    assert "손글씨" in terms, "whole Hangul runs stay indexed too"
    js = (site / "ko" / "_static" / "language_data.js").read_text(encoding="utf-8")
    assert "function splitQuery" in js, "the Korean query splitter must reach the browser"


def test_english_search_index_uses_english(site: Path) -> None:
    from sphinx.search.en import SearchEnglish

    terms = _search_terms(site, "en")
    stem = SearchEnglish({}).stem("autoencoders")
    assert stem != "autoencoders" and stem in terms, "the English edition indexes Porter-stemmed words"
    js = (site / "en" / "_static" / "language_data.js").read_text(encoding="utf-8")
    assert "function splitQuery" not in js, "the English edition keeps Sphinx's default query splitter"


# --- unit tests of the extensions (no site needed) -------------------------------------------


def test_korean_split_finds_words_inside_compounds() -> None:
    lang = korean_search.SearchKorean({})
    terms = lang.split("정규분포와 잠재변수 encoders")
    assert "분포" in terms and "정규" in terms and "변수" in terms
    assert "정규분포와" in terms and "encoders" in terms
    assert "규분포와" not in terms, "only whole runs and 2-syllable n-grams are indexed"
    assert lang.stem("encoders") == lang.stem("encoder"), "Latin words are Porter-stemmed"
    assert lang.stem("분포") == "분포"


def test_twin_url() -> None:
    assert lang_switch.twin_url("chapters/ko/04_kl", "ko", "en") == "../../../en/chapters/en/04_kl.html"
    assert lang_switch.twin_url("genindex", "en", "ko") == "../ko/genindex.html"


def test_notebook_cache_is_cleared_when_vae_lib_code_or_shipped_results_change(tmp_path: Path) -> None:
    """The executed notebooks depend on vae_lib's code and on its shipped weights: either change clears the cache."""
    from book.build import invalidate_cache_if_library_changed, vae_lib_fingerprint

    root, cache, stamp = tmp_path, tmp_path / "cache", tmp_path / "stamp"
    (root / "vae_lib" / "results").mkdir(parents=True)
    (root / "vae_lib" / "__pycache__").mkdir()
    (root / "vae_lib" / "models.py").write_text("x = 1\n")
    (root / "vae_lib" / "results" / "flagship.pt").write_bytes(b"weights v1")
    assert invalidate_cache_if_library_changed(root, cache, stamp) is False  # first run: nothing cached yet
    cache.mkdir()
    (root / "vae_lib" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"bytecode")
    assert invalidate_cache_if_library_changed(root, cache, stamp) is False and cache.exists()  # bytecode ignored
    before = vae_lib_fingerprint(root)
    (root / "vae_lib" / "results" / "flagship.pt").write_bytes(b"weights v2")
    assert vae_lib_fingerprint(root) != before
    assert invalidate_cache_if_library_changed(root, cache, stamp) is True and not cache.exists()


def test_tables_displayed_by_code_cells_are_rendered(site: Path) -> None:
    """Chapters 9 and 10 display tables with IPython.display.Markdown: they must become HTML tables."""
    for lang in EDITIONS:
        for page, tables in (("10_results", 3), ("09_evaluating_and_extending", 2)):
            html = (site / lang / "chapters" / lang / f"{page}.html").read_text(encoding="utf-8")
            # (with the default CommonMark renderer the output tables stay as "| a | b |" paragraphs: 0 and 1 tables)
            assert html.count("<table") >= tables, f"{lang}/{page}: expected at least {tables} tables"
