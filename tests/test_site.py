"""Checks on the built site (``_build/html``, built by the README's build command if stale)."""

from __future__ import annotations

import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from book_support import EDITIONS, ROOT, ensure_site, notebooks

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import book_site  # noqa: E402
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
            if parts.path.startswith("/"):  # site-absolute (the 404 page, served at any depth)
                target = (site / unquote(parts.path).lstrip("/")).resolve()
            else:
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
        scripts = [u for u in page(p).links if "tex-chtml.js" in u]
        assert scripts and not urlsplit(scripts[0]).scheme, f"MathJax is not loaded locally: {scripts}"
        assert (p.parent / urlsplit(scripts[0]).path).resolve().is_file()
        assert (site / lang / "_static" / "mathjax" / "newcm" / "chtml" / "woff2").is_dir()
        assert (site / lang / "_static" / "mathjax" / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()


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


# --- the rendered book as its readers see it (issue 10) -------------------------------------------

_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


class Resources(HTMLParser):
    """What a page LOADS (scripts, styles, icons, images, frames, preloads): not ordinary links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False
        self._script_type = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href") and set(a.get("rel", "").split()) & {"stylesheet", "icon", "preload", "modulepreload", "manifest"}:
            self.loads.append(a["href"])
        if "style" in a:
            self.loads += re.findall(r"url\(['\"]?([^)'\"]+)", a["style"])
        if tag == "script":
            self._in_script, self._script_type = True, a.get("type", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"{self._script_type}|{data}")


def _resources(path: Path) -> Resources:
    parser = Resources()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_no_page_loads_anything_from_outside_the_site(site: Path) -> None:
    """Item 1: scripts, styles, fonts, images come from the site itself (links may point outside)."""
    bad = []
    for path in html_files(site):
        res = _resources(path)
        bad += [f"{path.relative_to(site)}: loads {u}" for u in res.loads if _EXTERNAL.match(u)]
        for body in res.inline:  # scripts that would fetch from a CDN (MathJax config, widget managers)
            for url in re.findall(r"https?://[^\s\"'`]+", body):
                if re.search(r"\.(?:js|css|woff2?)\b|cdn|unpkg", url):
                    bad.append(f"{path.relative_to(site)}: inline script refers to {url}")
    for css in site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text(encoding="utf-8", errors="replace")):
            bad.append(f"{css.relative_to(site)}: url({url})")
    assert not bad, "\n".join(sorted(set(bad))[:40])


def test_no_widget_state_and_no_thebe(site: Path) -> None:
    """Item 1: no notebook widget state (it pulled require.js and the widget manager from CDNs) and
    no thebe configuration (unused; it declared THEBE_JS_URL twice, a console error on every page)."""
    bad = []
    for path in html_files(site):
        text = path.read_text(encoding="utf-8")
        for needle in ("application/vnd.jupyter.widget-state+json", "application/vnd.jupyter.widget-view+json",
                       "THEBE_JS_URL", "text/x-thebe-config", "require.min.js", "html-manager"):
            if needle in text:
                bad.append(f"{path.relative_to(site)}: {needle}")
    assert not bad, "\n".join(bad[:40])


def test_search_index_is_loaded_only_by_the_search_page(site: Path) -> None:
    """Item 11: the ~300 KB searchindex.js is not part of every page's weight."""
    for lang in EDITIONS:
        assert any("searchindex.js" in u for u in _resources(site / lang / "search.html").loads)
        for path in chapter_pages(site, lang):
            loads = _resources(path).loads
            assert not [u for u in loads if "searchindex.js" in u or "searchtools.js" in u], path.relative_to(site)


def test_icon_font_is_a_subset(site: Path) -> None:
    """Item 11: Font Awesome's 1.45 MB bundle is cut to the icons the pages use, and those are all in it."""
    for lang in EDITIONS:
        bundle = site / lang / "_static" / "scripts" / "fontawesome.js"
        text = bundle.read_text(encoding="utf-8")
        assert len(text.encode()) < 200_000, f"{bundle.relative_to(site)}: {len(text.encode())} bytes"
        used = set()
        for path in chapter_pages(site, lang):
            used |= set(re.findall(r'class="[^"]*\bfa-(?:solid|brands|regular)\b[^"]*\bfa-([a-z0-9-]+)', path.read_text(encoding="utf-8")))
            used |= set(re.findall(r'class="[^"]*\bfa[sb] fa-([a-z0-9-]+)', path.read_text(encoding="utf-8")))
        used -= {"lg", "xs", "sm", "fw", "2x", "3x", "spin", "pulse"}  # sizes and animations, not icons
        missing = [icon for icon in used if not re.search(rf'"?{re.escape(icon)}"?:\[\d+,\d+,', text)]
        assert not missing, f"icons used but not in the subset: {missing}"


def test_mathjax_is_the_smallest_local_component(site: Path) -> None:
    for lang in EDITIONS:
        loads = _resources(site / lang / "chapters" / lang / "04_kl_divergence.html").loads
        mathjax = [u for u in loads if "mathjax" in u.lower()]
        assert mathjax and all(u.split("?")[0].endswith("mathjax/tex-chtml.js") for u in mathjax), mathjax
        assert (site / lang / "_static" / "mathjax" / "newcm" / "chtml" / "woff2").is_dir()


def test_every_image_has_a_real_alt_text_in_its_language(site: Path) -> None:
    """Item 6: no alt is missing or a file path; output images of the Korean edition have Korean alt text."""
    bad = []
    for lang in EDITIONS:
        for path in chapter_pages(site, lang):
            for m in re.finditer(r"<img\b[^>]*>", path.read_text(encoding="utf-8")):
                tag = m.group(0)
                alt = re.search(r'\balt="([^"]*)"', tag)
                src = re.search(r'\bsrc="([^"]*)"', tag)
                where = f"{path.relative_to(site)}: {src.group(1) if src else tag[:60]}"
                if not alt or not alt.group(1).strip():
                    bad.append(f"{where}: no alt")
                elif re.fullmatch(r"\S*/\S*", alt.group(1)) or re.search(r"\.(png|svg|jpe?g|gif)$", alt.group(1)):
                    bad.append(f"{where}: alt is a path: {alt.group(1)}")
                elif lang == "ko" and "_images/" in (src.group(1) if src else "") and not re.search("[가-힣]", alt.group(1)):
                    bad.append(f"{where}: alt not in Korean: {alt.group(1)}")
    assert not bad, "\n".join(bad[:40])


def _ko_ui_leftovers(text: str) -> list[str]:
    found = []
    for m in re.finditer(r'\b(?:title|aria-label|placeholder|alt|data-bs-title)="([^"]*)"', text):
        if m.group(1).strip() in book_site.UI_KO:
            found.append(m.group(0))
    body = re.sub(r"<(script|style|pre)\b.*?</\1>", "", text, flags=re.S)
    for m in re.finditer(r">\s*([^<>]+?)\s*<", body):
        if m.group(1) in book_site.UI_KO and m.group(1) not in ("Page", "Main", "Home", "Proof", "Copy"):
            found.append(m.group(1))
    for needle in ("Proof.", "© Copyright", "Show code cell", "Hide code cell"):
        if needle in body:
            found.append(needle)
    author = re.search(r'<p class="component-author">\s*(.*?)\s*</p>', body, re.S)
    if author and not author.group(1).startswith("지은이"):
        found.append(f"footer: {author.group(1)!r}")
    return found


def test_korean_edition_shows_korean_ui(site: Path) -> None:
    """Item 3: no English UI string (tooltips, ARIA labels, toggles, footer, "Proof.") in the Korean edition,
    including the search page, the indices and the 404 page."""
    pages = chapter_pages(site, "ko") + [site / "ko" / n for n in ("search.html", "genindex.html", "prf-prf.html")]
    bad = [f"{p.relative_to(site)}: {s}" for p in pages if p.is_file() for s in _ko_ui_leftovers(p.read_text(encoding="utf-8"))]
    assert not bad, "\n".join(bad[:60])
    assert "증명." in (site / "ko" / "chapters" / "ko" / "04_kl_divergence.html").read_text(encoding="utf-8")
    not_found = (site / "404.html").read_text(encoding="utf-8")
    assert 'lang="ko"' in not_found and "페이지를 찾을 수 없습니다" in not_found
    # and the English edition stays English
    en = (site / "en" / "chapters" / "en" / "04_kl_divergence.html").read_text(encoding="utf-8")
    assert "Proof." in en and "Show code cell source" in en and "증명." not in en


def _chapter_number(path: Path) -> int | None:
    m = re.match(r"(\d\d)_", path.stem)
    return int(m.group(1)) if m else None


def test_numbering_is_per_chapter(site: Path) -> None:
    """Item 4: in chapter N, equations are (N.k), figures/tables/theorems/exercises "그림 N.k"... and
    titles carry no doubled number ("4. 04. ...")."""
    bad, seen = [], 0
    for lang in EDITIONS:
        for path in chapter_pages(site, lang)[1:]:
            n = _chapter_number(path)
            text = path.read_text(encoding="utf-8")
            title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
            h1 = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
            h1_text = re.sub(r"<[^>]+>", "", h1.group(1)) if h1 else ""
            # "4. 04. KL" (Sphinx's number + the notebook's) or a zero-padded "04." left in the title
            if re.match(r"\s*\d+\.\s*\d\d\.", h1_text) or re.match(r"\s*(?:\d+\.\s*)?0\d\.\s", title):
                bad.append(f"{path.relative_to(site)}: doubled number in title {title!r} / {h1_text.strip()!r}")
            if not n:
                continue
            numbers = re.findall(r'<span class="eqno">\((\d+(?:\.\d+)*)\)', text)
            numbers += re.findall(r'<span class="caption-number">[^<\d]*(\d+(?:\.\d+)*)', text)
            seen += len(numbers)
            bad += [f"{path.relative_to(site)}: number {x} is not {n}.k" for x in numbers if not re.fullmatch(rf"{n}\.\d+", x)]
            # references in the text resolve to the same kind of numbers
            for ref in re.findall(r'<span class="(?:std std-numref|std std-ref)">([^<]*)</span>', text):
                if "??" in ref or "None" in ref:
                    bad.append(f"{path.relative_to(site)}: unresolved reference {ref!r}")
    assert seen > 50, "no numbered equations/figures found: is numfig on?"
    assert not bad, "\n".join(bad[:40])


def test_shown_code_lines_fit_in_88_columns(site: Path) -> None:
    """Item 7: the code a reader sees (input cells of every chapter page) is at most 88 columns wide."""
    from html import unescape

    bad = []
    for lang in EDITIONS:
        for path in chapter_pages(site, lang):
            text = path.read_text(encoding="utf-8")
            for block in re.findall(r'<div class="cell_input[^"]*"[^>]*>.*?<pre>(.*?)</pre>', text, re.S):
                for line in unescape(re.sub(r"<[^>]+>", "", block)).splitlines():
                    if len(line) > 88:
                        bad.append(f"{path.relative_to(site)}: {len(line)} chars: {line.strip()[:60]}")
    assert not bad, f"{len(bad)} shown code lines > 88 columns:\n" + "\n".join(bad[:40])


def test_no_stray_object_reprs_in_outputs(site: Path) -> None:
    """Item 7: no ``<torch._C.Generator at 0x...>``-style reprs in the outputs."""
    bad = []
    for lang in EDITIONS:
        for path in chapter_pages(site, lang):
            for m in re.finditer(r"&lt;[\w.]+ (?:object )?at 0x[0-9a-f]+&gt;", path.read_text(encoding="utf-8")):
                bad.append(f"{path.relative_to(site)}: {m.group(0)}")
    assert not bad, "\n".join(bad[:40])


def test_favicon_and_404_page(site: Path) -> None:
    assert (site / "favicon.svg").is_file() and (site / "404.html").is_file()
    for lang in EDITIONS:
        for path in [site / lang / "search.html", *chapter_pages(site, lang)]:
            icons = [u for u in _resources(path).loads if "favicon" in u]
            assert icons and (path.parent / icons[0]).resolve().is_file(), f"{path.relative_to(site)}: no favicon"


def test_language_switch_on_index_and_search_pages_too(site: Path) -> None:
    """Item 9: genindex, search and the proof index have the switch as well."""
    for lang, other in (("ko", "en"), ("en", "ko")):
        for name in ("genindex.html", "search.html", "prf-prf.html"):
            p = site / lang / name
            if not p.is_file():
                continue
            switches = [a for a in page(p).anchors if "lang-switch" in a.get("class", "").split()]
            assert len(switches) == 1, f"{p.relative_to(site)}: {len(switches)} language switches"
            assert (p.parent / switches[0]["href"]).resolve() == (site / other / name).resolve()


def test_one_search_entry_and_no_doubled_title(site: Path) -> None:
    """Item 9: the sidebar's search box is the only one; the book title is shown once in the sidebar."""
    for lang in EDITIONS:
        text = (site / lang / "chapters" / lang / "04_kl_divergence.html").read_text(encoding="utf-8")
        header = re.search(r'<header id="pst-header".*?</header>', text, re.S)
        assert header is None or "search-button-field" not in header.group(0).split("navbar-persistent--mobile")[0]
        title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"] if lang == "ko" else None
        nav = re.search(r'<nav class="bd-docs-nav.*?</nav>', text, re.S)
        if title and nav:
            assert title not in nav.group(0), "the book title is repeated in the sidebar navigation"


def test_build_fingerprint_follows_the_data_the_notebooks_can_load(tmp_path: Path, monkeypatch) -> None:
    """Item 12: a notebook cached on the 8x8 fallback is never reused once MNIST is there."""
    from book import build

    no_data = {"folder": "x", "files": {}, "mnist": False, "binarized_mnist": False, "scikit_learn": True}
    with_data = {**no_data, "files": {"mnist/train-images-idx3-ubyte.gz": 9912422}, "mnist": True}
    assert build.build_fingerprint(ROOT, no_data) != build.build_fingerprint(ROOT, with_data)
    assert build.build_fingerprint(ROOT, with_data) == build.build_fingerprint(ROOT, {**with_data, "folder": "elsewhere"})
    cache, stamp = tmp_path / "cache", tmp_path / "stamp"
    cache.mkdir()
    assert build.invalidate_cache_if_library_changed(ROOT, cache, stamp, build.build_fingerprint(ROOT, no_data)) is True
    cache.mkdir()
    assert build.invalidate_cache_if_library_changed(ROOT, cache, stamp, build.build_fingerprint(ROOT, no_data)) is False
    assert build.invalidate_cache_if_library_changed(ROOT, cache, stamp, build.build_fingerprint(ROOT, with_data)) is True
    assert not cache.exists(), "MNIST arrived: the cache filled on the fallback must be gone"
    # the data folder really is looked at
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path / "data"))
    assert build.data_state()["mnist"] is False
    (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    assert build.data_state()["mnist"] is True


def test_npm_failure_is_one_line_and_cdn_fallback_is_honoured(tmp_path: Path, monkeypatch, capsys) -> None:
    """Item 12: npm present but its registry unreachable: one line, and VAE_BOOK_MATHJAX=cdn goes on."""
    from book import build

    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"mathjax": "4.1.3"}}))
    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho 'npm ERR! network request to https://registry.npmjs.org failed' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("VAE_BOOK_MATHJAX", raising=False)
    with pytest.raises(SystemExit) as err:
        build.ensure_mathjax(tmp_path)
    message = str(err.value)
    assert "\n" not in message and "VAE_BOOK_MATHJAX=cdn" in message and "npm ERR! network" in message
    monkeypatch.setenv("VAE_BOOK_MATHJAX", "cdn")
    assert "CDN" in build.ensure_mathjax(tmp_path)


def test_korean_index_is_spacing_insensitive() -> None:
    """Item 8: "정규 분포" is indexed with the bigram across the space, so the query 정규분포 finds it."""
    terms = korean_search.SearchKorean({}).split("정규 분포를 따른다")
    assert {"정규", "분포", "규분"} <= set(terms)
    assert "포를" in terms and "를따" in terms
    assert "규분" not in korean_search.SearchKorean({}).split("정규. 분포"), "only across plain spaces"


def test_pages_workflow_runs_the_same_build_and_deploys_the_site() -> None:
    """Item 13: one push publishes: the workflow runs the README's build command and deploys _build/html."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "python -m book build" in runs and "pip install -r requirements.txt" in runs
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-pages-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in steps)
    assert workflow["permissions"]["pages"] == "write"


# --- unit tests of book_site (no site needed) --------------------------------------------------------


def test_translate_ui_replaces_attributes_and_phrases_but_not_single_words_of_content() -> None:
    html = ('<a title="Link to this heading" href="#x">#</a><p>Show code cell source</p>'
            '<code><span class="pre">Light</span></code><button title="Light">x</button><pre>Show code cell source</pre>')
    out = book_site.translate_ui(html)
    assert 'title="이 제목의 링크"' in out and "<p>코드 보기</p>" in out
    assert '<span class="pre">Light</span>' in out, "a single English word in the content stays"
    assert 'title="밝게"' in out and "<pre>Show code cell source</pre>" in out


def test_accessibility_fixes_and_image_width_marks() -> None:
    html = ('<summary aria-label="Toggle hidden content"><p>Show</p></summary>'
            '<button class="btn search-button-field search-button__button" title="Search" aria-label="Search">'
            '<div role="list" class="citation-list"><div class="citation" role="doc-biblioentry">'
            '<img alt="x" src="../../_images/a.png" width="495" height="170" />')
    out = book_site.mark_image_widths(book_site.fix_accessibility(html))
    assert "aria-label" not in out and 'role="listitem"' in out and "doc-biblioentry" not in out
    assert 'style="--w:495px"' in out


def test_fontawesome_subset_keeps_used_icons_and_valid_object_literals(tmp_path: Path) -> None:
    icons = ",".join(f'"icon-{i}":[512,512,[],"f{i:03x}","M0 0h{i}"]' for i in range(300))
    bundle = f'var p={{github:[496,512,[],"f09b","M1 1"],{icons},"rocket":[512,512,[128640],"f135","M2 2"]}};bunker(p);'
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "fontawesome.js").write_text(bundle)
    page = tmp_path / "p.html"
    page.write_text('<i class="fa-brands fa-github"></i><i class="fas fa-rocket"></i><i class="fa-solid fa-icon-7"></i>')
    old, new = book_site.subset_fontawesome(tmp_path, [page])
    text = (tmp_path / "scripts" / "fontawesome.js").read_text()
    assert new < old and "github:" in text and '"rocket":' in text and '"icon-7":' in text and '"icon-8":' not in text
    assert ",," not in text and "{," not in text


def test_tex_to_text_for_alt_attributes() -> None:
    assert book_site._tex_to_text(r"\mathrm{KL}(q\,\|\,p_\theta(z\mid x))") == "KL(q ‖ pθ(z | x))"


def test_glue_inline_math_groups_a_formula_with_the_characters_it_touches() -> None:
    from docutils import nodes

    def math(tex: str) -> nodes.math:
        return nodes.math(tex, tex)

    def shown(children: list) -> list:
        return [
            ("glue", [c.astext() for c in child.children]) if isinstance(child, nodes.inline) else child.astext()
            for child in children
        ]

    # "the sizes ($K = 32$, one layer)": "(" and "," join the formula; the words stay text
    glued = book_site.glue_inline_math([nodes.Text("the sizes ("), math("K = 32"), nodes.Text(", one layer)")])
    assert shown(glued) == ["the sizes ", ("glue", ["(", "K = 32", ","]), " one layer)"]
    assert glued[1]["classes"] == [book_site.MATH_GLUE]
    # Korean particles; a lone formula stays as it is
    glued = book_site.glue_inline_math([nodes.Text("분포 "), math("q"), nodes.Text("를 그리고 "), math("c")])
    assert shown(glued) == ["분포 ", ("glue", ["q", "를"]), " 그리고 ", "c"]
    # one formula per group, so that two joined without a space may go to two lines: the text between
    # goes with the first, its opening brackets with the second
    glued = book_site.glue_inline_math([math("A"), nodes.Text("입니다("), math("B"), nodes.Text(")."),
                                        nodes.Text(" "), math("a"), nodes.Text(","), math("b")])
    assert shown(glued) == [("glue", ["A", "입니다"]), ("glue", ["(", "B", ")."]), " ", ("glue", ["a", ","]), "b"]
    # other nodes (a reference) end a group; text without math is untouched
    ref = nodes.reference("", "(6.7)")
    glued = book_site.glue_inline_math([math("x"), ref, nodes.Text("를 보면")])
    assert shown(glued) == ["x", "(6.7)", "를 보면"]
    assert book_site.glue_inline_math([nodes.Text("no math, here")])[0].astext() == "no math, here"


# --- what the reader must never see in a page (issue 17 section 4, issue 20) ---------------------------

#: Warning text in a page's outputs: Python warnings, matplotlib's missing glyphs, stderr noise.
_WARNING_TEXT = re.compile(r"\b\w*Warning\b|does not have a glyph|Glyph \d+ .*missing|missing from (?:the )?(?:current )?font"
                           r"|falling back to|DeprecationWarning|FutureWarning")


class Outputs(HTMLParser):
    """The text of a page's code-cell outputs (``div.cell_output``), and whether it came from stderr."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outputs: list[str] = []
        self._depth = 0  # >0 inside a cell_output
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr", "col", "area", "base", "embed"):
            return
        classes = (dict(attrs).get("class") or "").split()
        if self._depth:
            self._depth += 1
        elif "cell_output" in classes:
            self._depth, self._buf = 1, []

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1
            if not self._depth:
                self.outputs.append("".join(self._buf))

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._buf.append(data)


def test_no_warning_text_in_any_output(site: Path) -> None:
    """Issue 17 section 4: no page shows a warning in its outputs ("UserWarning", "does not have a glyph", ...)."""
    bad = []
    for lang in EDITIONS:
        for path in chapter_pages(site, lang):
            parser = Outputs()
            parser.feed(path.read_text(encoding="utf-8"))
            for text in parser.outputs:
                for m in _WARNING_TEXT.finditer(text):
                    line = next((ln for ln in text.splitlines() if m.group(0) in ln), m.group(0))
                    bad.append(f"{path.relative_to(site)}: {line.strip()[:120]}")
    counts: dict[str, int] = {}
    for line in bad:
        counts[line] = counts.get(line, 0) + 1
    assert not bad, f"{len(bad)} warning(s) shown in outputs:\n" + "\n".join(f"{n} x {line}" for line, n in list(counts.items())[:40])


def _tex_leftovers(text: str) -> list[str]:
    """``$...$`` (math MyST did not parse) and backslashes (TeX commands) in text outside typeset math."""
    found = [m.group(0) for m in re.finditer(r"\$[^$\s][^$\n]{0,80}?\$|\$\$", text)]
    found += [text[max(0, m.start() - 30):m.end() + 30].replace("\n", " ") for m in re.finditer(r"\\(?:[A-Za-z]+|[,;:!{}()\[\]|])", text)]
    return found


def test_no_dollar_math_or_backslash_outside_typeset_math(site: Path) -> None:
    """Issue 17 section 4: in the rendered text (prose, captions, outputs shown as text; code aside), no
    ``$...$`` and no TeX backslash outside the math that MathJax typesets."""
    bad = []
    for lang in EDITIONS:
        for path in chapter_pages(site, lang) + [site / lang / "chapters" / lang / f"{n}.html" for n in ("glossary", "notation", "course_plan")]:
            if not path.is_file():
                continue
            text = "".join(page(path).text)
            bad += [f"{path.relative_to(site)}: {t!r}" for t in _tex_leftovers(text)]
    assert not bad, f"{len(bad)} TeX leftover(s) in the rendered text:\n" + "\n".join(bad[:60])


class Cells(HTMLParser):
    """The text of every table cell outside math elements (``<span class="math">`` is typeset)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._in_cell = 0
        self._math = 0
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr", "col", "area", "base", "embed"):
            return
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("td", "th"):
            self._in_cell, self._buf = 1, []
        elif self._in_cell:
            self._in_cell += 1
        if self._math or "math" in classes:
            self._math += 1

    def handle_endtag(self, tag: str) -> None:
        if self._math:
            self._math -= 1
        if self._in_cell:
            self._in_cell -= 1
            if not self._in_cell:
                self.cells.append("".join(self._buf))

    def handle_data(self, data: str) -> None:
        if self._in_cell and not self._math:
            self._buf.append(data)


def test_no_raw_tex_in_table_cells(site: Path) -> None:
    """Issue 17 section 4: a table cell (Markdown tables and the tables code cells display) shows no raw TeX."""
    bad = []
    for lang in EDITIONS:
        for path in sorted((site / lang / "chapters" / lang).glob("*.html")):
            parser = Cells()
            parser.feed(path.read_text(encoding="utf-8"))
            for cell in parser.cells:
                if _tex_leftovers(cell) or re.search(r"\\[A-Za-z]+|\^\{|_\{", cell):
                    bad.append(f"{path.relative_to(site)}: {cell.strip()[:100]!r}")
    assert not bad, f"{len(bad)} table cell(s) with raw TeX:\n" + "\n".join(bad[:60])


def test_check_cells_are_folded_with_a_summary_in_the_editions_language(site: Path) -> None:
    """Issue 20: every code cell tagged ``check`` is one folded line "✓ 확인: ..." / "✓ Check: ..." (its code
    inside the fold), in the edition's language; none failed."""
    bad, seen = [], 0
    word = {"ko": "✓ 확인", "en": "✓ Check"}
    for lang in EDITIONS:
        for path in chapter_pages(site, lang)[1:]:
            nb = ROOT / "chapters" / lang / (path.stem + ".ipynb")
            expected = sum(1 for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                           if c["cell_type"] == "code" and "check" in c.get("metadata", {}).get("tags", [])
                           and not {"remove-cell", "remove-input"} & set(c["metadata"].get("tags", [])))
            text = path.read_text(encoding="utf-8")
            folds = re.findall(r'<details class="[^"]*\bcheck-fold\b[^"]*"( open)?>\s*<summary[^>]*>\s*<p class="collapsed admonition-title">([^<]*)</p>', text)
            seen += len(folds)
            if len(folds) != expected:
                bad.append(f"{path.relative_to(site)}: {expected} check cells, {len(folds)} folded")
            for is_open, summary in folds:
                if is_open or not summary.startswith(word[lang]):
                    bad.append(f"{path.relative_to(site)}: check not passed or not in {lang}: {summary!r}")
                if lang == "ko" and re.search(r"\b(?:Check|passed|show code)\b", summary):
                    bad.append(f"{path.relative_to(site)}: English in a Korean check summary: {summary!r}")
            # the code of a check cell is inside its fold, not on the page
            for cell in re.findall(r'<div class="cell (?:[^"]*\s)?tag_check[^"]*">(.*?)<div class="cell', text + '<div class="cell', re.S):
                head = cell.lstrip()[:300]
                if not head.startswith('<details class="admonition hide above-input check-fold'):
                    bad.append(f"{path.relative_to(site)}: a check cell starts with {head[:80]!r}")
    assert seen > 100, f"only {seen} folded check cells found"
    assert not bad, "\n".join(bad[:40])


def test_check_summary_sources() -> None:
    assert book_site.check_summary("# 확인: 닫힌 형태와 몬테카를로가 일치\nassert x", {}, "ko") == "✓ 확인: 닫힌 형태와 몬테카를로가 일치"
    assert book_site.check_summary("# Check: closed form = MC\nassert x", {}, "en") == "✓ Check: closed form = MC"
    assert book_site.check_summary("x = 1  # not a summary\nassert x", {}, "ko") == "✓ 확인 통과 (코드 보기)"
    assert book_site.check_summary("assert x", {}, "en") == "✓ Check passed (show code)"
    meta = {"check_summary": {"ko": "분산이 1/n로 준다", "en": "the variance falls as 1/n"}}
    assert book_site.check_summary("# Check: other\nassert x", meta, "ko") == "✓ 확인: 분산이 1/n로 준다"
    assert book_site.check_summary("assert x", meta, "en", passed=False) == "✗ Check failed: the variance falls as 1/n"


def test_images_are_lazy_and_redirects_have_an_icon(site: Path) -> None:
    """Issue 20: content images load lazily; the edition redirects (ko/index.html) name the favicon, so the
    browser does not ask for /favicon.ico (a 404)."""
    for lang in EDITIONS:
        text = (site / lang / "chapters" / lang / "04_kl_divergence.html").read_text(encoding="utf-8")
        images = re.findall(r'<img\b[^>]*_images/[^>]*>', text)
        assert images and all('loading="lazy"' in tag for tag in images)
        redirect = (site / lang / "index.html").read_text(encoding="utf-8")
        assert 'rel="icon"' in redirect
    assert 'rel="icon"' in (site / "index.html").read_text(encoding="utf-8")


def test_korean_citations_read_as_korean(site: Path) -> None:
    """Issue 20: no "and"/"et al." of a citation inside the Korean edition's sentences."""
    bad = []
    for path in chapter_pages(site, "ko"):
        text = "".join(page(path).text)
        bad += [f"{path.relative_to(site)}: {m.group(0)!r}" for m in re.finditer(r"[A-Z][a-z]+(?: and [A-Z][a-z]+| et al\.) \[\d{4}", text)]
    assert not bad, "\n".join(bad[:20])
    en = "".join(page(site / "en" / "chapters" / "en" / "04_kl_divergence.html").text)
    assert re.search(r"[A-Z][a-z]+ and [A-Z][a-z]+ \[\d{4}", en), "the English edition keeps 'and'"


def test_chapter_zero_numbers_carry_the_chapter(site: Path) -> None:
    """Issue 20: chapter 00 (outside the numbered part) numbers "그림 0.1", "연습 0.1", not "그림 1"."""
    for lang in EDITIONS:
        path = next((site / lang / "chapters" / lang).glob("00_*.html"))
        text = path.read_text(encoding="utf-8")
        numbers = re.findall(r'<span class="eqno">\((\d+(?:\.\d+)*)\)', text)
        numbers += re.findall(r'<span class="caption-number">[^<\d]*(\d+(?:\.\d+)*)', text)
        numbers += re.findall(r'<p class="admonition-title">\s*(?:연습|Exercise)\s*(\d+(?:\.\d+)*)', text)
        assert numbers, f"{path.relative_to(site)}: nothing numbered"
        assert all(re.fullmatch(r"0\.\d+", n) for n in numbers), f"{path.relative_to(site)}: {numbers}"
