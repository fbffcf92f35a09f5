"""The rendered book as its readers see it: one Sphinx extension for what the theme gets wrong.

Doctree (at read time, so titles, the search index and alt texts agree):

* **Chapter titles without their file number.** ``# 04. KL divergence`` keeps its number in the
  notebook (Colab shows it), but the book numbers chapters itself (``numbered: true`` in
  ``_toc.yml``), so the page title loses ``04.``: the sidebar reads "4. KL divergence", not
  "4. 04. KL divergence". Chapter 00 (set-up, outside the numbered part) reads "0. ...".
* **Alt text of figures** in the edition's language: every image inside a figure gets the plain
  text of the caption (TeX turned into readable text); an output image without a caption gets
  "<figure word>: <page title>". No ``alt`` is a file path.
* **Inline math on the line of the text it touches** (HTML): a formula and the comma, bracket or
  Korean particle touching it form one group that lines do not break around (:class:`GlueInlineMath`,
  ``book.css``), so no line starts with ", one hidden layer" or "를".
* **"Proof."** of sphinx-proof's ``{prf:proof}`` is translated ("증명." in Korean) and set in
  italics, and the proof box loses its duplicated ``id="proof"``.

HTML (``html-page-context`` and a pass over the written pages in ``build-finished``):

* scripts: sphinx-thebe (unused: ``launch_buttons.thebe: false``; it declared ``THEBE_JS_URL``
  twice, a console error on every page) and duplicated inline scripts are dropped; the
  search index (``searchindex.js``, ~300 KB) and the search scripts are loaded only on the
  search page (the theme loads them on every page for a search-as-you-type box the book does
  not use); notebook widget state (``application/vnd.jupyter.widget-state+json``) is removed,
  with it the require.js/html-manager CDN scripts of myst-nb;
* the Korean edition gets Korean UI strings (:data:`UI_KO`: tooltips, ARIA labels, code-cell
  toggles, the footer, the search box...), so no English is seen or read out by a screen reader;
* ``fontawesome.js`` (1.45 MB, every icon of Font Awesome) is replaced by a subset with the
  icons that the built pages use (:func:`subset_fontawesome`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Chapter pages: chapters/<lang>/NN_name
_CHAPTER = re.compile(r"^chapters/[a-z]{2}/(\d\d)_")
_NUMBER_PREFIX = re.compile(r"^\s*(\d{1,2})\.\s+")

WORDS = {
    "ko": {"figure": "그림", "proof": "증명."},
    "en": {"figure": "Figure", "proof": "Proof."},
}

#: English UI strings of the theme/extensions and their Korean text, for the Korean edition.
#: Applied to attribute values (title, aria-label, alt, placeholder) and to element text.
UI_KO: dict[str, str] = {
    "Link to this heading": "이 제목의 링크",
    "Link to this equation": "이 식의 링크",
    "Link to this image": "이 그림의 링크",
    "Link to this table": "이 표의 링크",
    "Link to this code": "이 코드의 링크",
    "Link to this definition": "이 정의의 링크",
    "Search this book...": "이 책에서 검색…",
    "Search the docs ...": "이 책에서 검색…",
    "Version warning": "버전 경고",
    "Site navigation": "사이트 탐색",
    "Main": "본문",
    "Toggle primary sidebar": "목차 열기/닫기",
    "Toggle secondary sidebar": "이 페이지의 차례 열기/닫기",
    "Color mode": "색상 모드",
    "Light": "밝게",
    "Dark": "어둡게",
    "System Settings": "시스템 설정",
    "Skip to main content": "본문으로 건너뛰기",
    "Back to top": "맨 위로",
    "Toggle hidden content": "숨긴 내용 보기/숨기기",
    "Show code cell source": "코드 보기",
    "Hide code cell source": "코드 숨기기",
    "Show code cell outputs": "출력 보기",
    "Hide code cell outputs": "출력 숨기기",
    "Show code cell content": "셀 보기",
    "Hide code cell content": "셀 숨기기",
    "On this page": "이 페이지의 차례",
    "Launch interactive content": "노트북 실행하기",
    "Launch on Binder": "Binder에서 실행",
    "Launch on Colab": "Colab에서 실행",
    "Binder logo": "Binder 로고",
    "Colab logo": "Colab 로고",
    "Source repository": "소스 저장소",
    "Download this page": "이 페이지 내려받기",
    "Download source file": "원본 파일 내려받기",
    "Fullscreen mode": "전체 화면",
    "Page": "페이지",
    "previous page": "이전 페이지",
    "next page": "다음 페이지",
    "Copy": "복사",
    "Copied!": "복사했습니다!",
    "Copy to clipboard": "클립보드에 복사",
    "Breadcrumb": "위치",
    "Home": "처음",
    "Please activate JavaScript to enable the search functionality.": "검색하려면 JavaScript를 켜세요.",
    "Search Results": "검색 결과",
}

#: Korean strings of the themes' own translations that read wrong (sphinx-book-theme's ko catalogue).
KO_FIXES: dict[str, str] = {
    "전체 화면으로보기": "전체 화면으로 보기",
    "시작하다": "실행하기",
    "스핑크스 도서 테마": "Sphinx Book Theme",
}

#: Single words of the proof index page (``prf-prf.html``): translated only there, where they are
#: the kinds of entries; elsewhere such a word may be content (e.g. inline code).
UI_KO_PROOF_INDEX: dict[str, str] = {
    "Proof Index": "정리·정의 색인",
    "Proof": "정리·정의",
    "theorem": "정리",
    "definition": "정의",
    "lemma": "보조정리",
    "corollary": "따름정리",
    "proposition": "명제",
    "example": "예제",
    "remark": "주의",
}

_UI_ATTR = re.compile(r'\b(title|aria-label|alt|placeholder|data-bs-title|data-tooltip)="([^"]*)"')
_TEXT_NODE = re.compile(r">(\s*)([^<>]*?[A-Za-z][^<>]*?)(\s*)<")


def _tex_to_text(tex: str) -> str:
    """Readable text for an alt attribute from a bit of TeX: ``\\mathrm{KL}(q\\,\\|\\,p)`` -> ``KL(q ‖ p)``."""
    greek = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
             "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "phi": "φ", "pi": "π", "tau": "τ",
             "Sigma": "Σ", "Lambda": "Λ", "mid": " | ", "|": "‖", "Vert": "‖", "le": "≤", "ge": "≥",
             "approx": "≈", "sim": "~", "infty": "∞", "cdot": "·", "times": "×", "to": "→"}
    text = re.sub(r"\\(?:mathrm|mathbf|mathcal|mathbb|operatorname|text|boldsymbol|bm)\s*\{([^{}]*)\}", r"\1", tex)
    text = re.sub(r"\\([A-Za-z]+|\|)", lambda m: greek.get(m.group(1), m.group(1)), text)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = text.replace("{", "").replace("}", "").replace("_", "").replace("^", "")
    return re.sub(r"\s+", " ", text).strip()


def _plain(node: nodes.Node) -> str:
    parts: list[str] = []
    for child in node.traverse(nodes.Text):
        parent = child.parent
        is_math = isinstance(parent, nodes.math)
        parts.append(_tex_to_text(child.astext()) if is_math else child.astext())
    return re.sub(r"\s+", " ", "".join(parts)).strip()


class ChapterTitles(SphinxTransform):
    """Drop the ``NN. `` prefix of chapter titles (the toctree numbers them); chapter 00 -> "0. "."""

    default_priority = 5  # before the title collector sees the document

    def apply(self, **kwargs: Any) -> None:
        match = _CHAPTER.match(self.env.docname)
        if not match:
            return
        for section in self.document.findall(nodes.section):
            title = section.next_node(nodes.title)
            if title is None or not title.children or not isinstance(title.children[0], nodes.Text):
                return
            text = str(title.children[0])
            prefix = _NUMBER_PREFIX.match(text)
            if prefix:
                number = int(match.group(1))
                rest = text[prefix.end():]
                title.children[0].parent.replace(title.children[0], nodes.Text(f"0. {rest}" if number == 0 else rest))
            return  # only the first title of the page


class FigureAltText(SphinxTransform):
    """Alt text of images from their figure caption (plain text, edition's language)."""

    default_priority = 880  # after myst-nb has turned outputs into image/figure nodes

    def apply(self, **kwargs: Any) -> None:
        lang = self.config.language if self.config.language in WORDS else "en"
        word = WORDS[lang]["figure"]
        page_title = ""
        first = self.document.next_node(nodes.title)
        if first is not None:
            page_title = _NUMBER_PREFIX.sub("", _plain(first))
        for image in self.document.findall(nodes.image):
            figure = image.parent
            while figure is not None and not isinstance(figure, nodes.figure):
                figure = figure.parent
            caption = figure.next_node(nodes.caption) if figure is not None else None
            alt = image.get("alt", "")
            looks_like_path = not alt or "/" in alt or re.search(r"\.(png|svg|jpe?g|gif)$", alt)
            if caption is not None and caption.astext().strip():
                image["alt"] = _plain(caption)
            elif looks_like_path:
                image["alt"] = f"{word}: {page_title}" if page_title else word


def _register_korean_citations() -> None:
    """The referencing style ``author_year_ko`` (``bibtex_reference_style`` of the Korean edition):
    sphinxcontrib-bibtex's ``author_year`` with Korean joiners, so a citation reads inside a Korean
    sentence "Cover·Thomas [2006]", "Kingma 외 [2016]" (not "Cover and Thomas", "Kingma et al.")."""
    try:
        from dataclasses import dataclass, field

        from sphinxcontrib.bibtex.plugin import register_plugin
        from sphinxcontrib.bibtex.style.referencing import PersonStyle
        from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
    except ImportError:  # pragma: no cover - sphinxcontrib-bibtex comes with jupyter-book
        return

    def korean_persons() -> PersonStyle:
        return PersonStyle(sep="·", sep2="·", last_sep="·", other=" 외")

    @dataclass
    class KoreanAuthorYearReferenceStyle(AuthorYearReferenceStyle):
        person: PersonStyle = field(default_factory=korean_persons)

    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_ko", KoreanAuthorYearReferenceStyle, force=True)


def _number_chapter_zero(app: Sphinx, env: Any) -> list[str]:
    """Chapter 00 stands outside the numbered part of the TOC, so Sphinx numbered its figures, tables,
    equations and exercises "그림 1", "연습 1" with no chapter. They become "그림 0.1", "연습 0.1", (0.1),
    like every other chapter's (references to them follow: they read the same numbers)."""
    for docname, kinds in getattr(env, "toc_fignumbers", {}).items():
        match = _CHAPTER.match(docname)
        if not match or int(match.group(1)) != 0:
            continue
        for numbers in kinds.values():
            for key, number in list(numbers.items()):
                if number and (len(number) < 2 or number[0] != 0):
                    numbers[key] = (0, *number)
    return []


def _patch_proof_directive() -> None:
    """``{prf:proof}``: translated, italic "Proof." and no duplicated ``id="proof"``."""
    try:
        from sphinx_proof.directive import ProofDirective
    except ImportError:  # pragma: no cover - sphinx-proof is in requirements.txt
        return
    if getattr(ProofDirective, "_book_site_patched", False):
        return
    original = ProofDirective.run

    def run(self):  # type: ignore[no-untyped-def]
        result = original(self)
        lang = self.config.language if self.config.language in WORDS else "en"
        label = WORDS[lang]["proof"]
        for section in result[0].findall(nodes.admonition):
            section["ids"] = []  # was "proof" on every proof of a page (duplicate id)
            section["classes"].append("book-proof")
            for text in section.findall(nodes.Text):
                if str(text).startswith("Proof. "):
                    para = text.parent
                    index = para.index(text)
                    para.remove(text)
                    para.insert(index, nodes.Text(str(text)[len("Proof. "):]))
                    para.insert(index, nodes.Text(" "))
                    para.insert(index, nodes.emphasis(label, label, classes=["proof-label"]))
                    break
            break
        return result

    ProofDirective.run = run  # type: ignore[method-assign]
    ProofDirective._book_site_patched = True  # type: ignore[attr-defined]


# --- Check cells: folded into one line that says what was checked ---------------------------------

#: Words of the folded check cells, per edition (:class:`FoldCheckCells`).
CHECK_WORDS = {
    "ko": {"marker": "확인", "generic": "✓ 확인 통과 (코드 보기)", "passed": "✓ 확인: {}",
           "failed": "✗ 확인 실패: {}", "failed_generic": "✗ 확인 실패 (코드 보기)", "hide": "코드 숨기기"},
    "en": {"marker": "Check", "generic": "✓ Check passed (show code)", "passed": "✓ Check: {}",
           "failed": "✗ Check failed: {}", "failed_generic": "✗ Check failed (show code)", "hide": "hide code"},
}
_CHECK_COMMENT = re.compile(r"^\s*#\s*(?:확인|Check|check)\s*[:：]\s*(.+?)\s*$")


def check_summary(source: str, metadata: dict, lang: str, passed: bool = True) -> str:
    """The one line that stands for a folded check cell (CONTRIBUTING.md, "Check cells").

    From, in this order: the cell metadata ``check_summary`` (a string, or ``{"ko": ..., "en": ...}``);
    the cell's first line when it is a comment ``# 확인: ...`` (Korean) / ``# Check: ...`` (English);
    else the generic line of the edition ("✓ 확인 통과 (코드 보기)"). "✓ ... passed" only when the
    executed cell shows no error; otherwise "✗ ... failed".
    """
    words = CHECK_WORDS.get(lang, CHECK_WORDS["en"])
    text = metadata.get("check_summary") if isinstance(metadata, dict) else None
    if isinstance(text, dict):
        text = text.get(lang) or text.get("en")
    if not text:
        first = next((line for line in source.splitlines() if line.strip()), "")
        m = _CHECK_COMMENT.match(first)
        text = m.group(1) if m else None
    if text:
        text = re.sub(r"\s+", " ", str(text)).strip().removeprefix("✓").strip()
        return (words["passed"] if passed else words["failed"]).format(text)
    return words["generic"] if passed else words["failed_generic"]


def _has_error_output(output: nodes.Node) -> bool:
    for block in output.findall(nodes.literal_block):
        classes = set(block.get("classes", []))
        if "traceback" in classes or "error" in classes:
            return True
    return False


def _has_rich_output(output: nodes.Node) -> bool:
    """Figures, images and tables stay in view under a folded check (only text output is folded)."""
    return any(True for _ in output.findall(lambda n: isinstance(n, (nodes.image, nodes.figure, nodes.table, nodes.raw))
                                            and not (isinstance(n, nodes.raw) and "text/plain" in n.get("classes", []))))


class FoldCheckCells(SphinxPostTransform):
    """Every code cell tagged ``check`` is folded (HTML only) into ONE line in the edition's language
    that says what was checked and that it passed ("✓ 확인: ..."), expanding to its code on a click.

    The cell's code and its text output go into the fold; figures and tables it draws stay in view
    below the line. Runs before myst-nb's ``HideInputCells`` (priority 199) and uses its node, so the
    fold looks and behaves like the book's other folded cells; a ``hide-input`` tag is superseded.
    The notebooks and the student edition are untouched (they are not built by Sphinx).
    """

    default_priority = 198
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        try:
            from myst_nb.sphinx_ import HideCodeCellNode
        except ImportError:  # pragma: no cover - myst-nb builds the book
            return
        lang = self.config.language if self.config.language in CHECK_WORDS else "en"
        words = CHECK_WORDS[lang]
        for cell in list(self.document.findall(nodes.container)):
            if cell.get("nb_element") != "cell_code" or not cell.children:
                continue
            metadata = cell.get("cell_metadata") or {}
            if "check" not in metadata.get("tags", []):
                continue
            code = cell.children[0] if cell.children[0].get("nb_element") == "cell_code_source" else None
            output = cell.children[-1] if cell.children[-1].get("nb_element") == "cell_code_output" else None
            if code is None:
                continue
            passed = output is None or not _has_error_output(output)
            summary = check_summary(code.astext(), metadata, lang, passed)
            cell.attributes.pop("hide_mode", None)  # myst-nb's own fold would nest inside ours
            fold = HideCodeCellNode(prompt_show=summary, prompt_hide=f"{summary} · {words['hide']}")
            fold["classes"] += ["above-input", "check-fold", "check-passed" if passed else "check-failed"]
            inside = [code] + ([output] if output is not None and not _has_rich_output(output) else [])
            for child in inside:
                cell.remove(child)
                fold.append(child)
            cell.insert(0, fold)
            cell["classes"].append("check-cell")
            if not passed:
                fold["classes"].append("open")


#: Class of the span that keeps inline math on one line with the text it touches (``book.css``).
MATH_GLUE = "math-glue"
_SPACE = re.compile(r"(\s+)")
_OPENING = re.compile(r"^(.*?)([(\[{“‘\"\']*)$", re.S)  # text, then the opening brackets and quotes at its end


def glue_inline_math(children: list[nodes.Node]) -> list[nodes.Node]:
    """Wrap each inline formula together with the characters it touches (no space between) in a
    ``<span class="math-glue">``: ``($K = 32$, one`` -> ``[($K = 32$,] one``.

    Browsers may break a line on either side of an inline formula (MathJax's output is an atomic
    inline), which left a comma, a closing parenthesis or a Korean particle (``$q$를``) at the start
    of a line, or an opening parenthesis at the end of one. Each group holds one formula, so that
    two formulas joined without a space (``$a$입니다($b$).``) can still go to two lines: the text
    between them goes with the first, except opening brackets, which go with the second.
    """
    items: list[nodes.Node | str] = []  # formulas, other nodes, words and spaces (str)
    for child in children:
        if isinstance(child, nodes.Text):
            items += [part for part in _SPACE.split(str(child)) if part]
        else:
            items.append(child)
    out: list[nodes.Node | str] = []
    group: list[nodes.Node | str] = []  # text touching the formula before it, the formula, text after it

    def close() -> None:
        if any(isinstance(item, nodes.math) for item in group) and len(group) > 1:
            texts = [nodes.Text(i) if isinstance(i, str) else i for i in group]
            out.append(nodes.inline("", "", *texts, classes=[MATH_GLUE]))
        else:
            out.extend(group)
        group.clear()

    for item in items:
        if isinstance(item, nodes.math):
            if any(isinstance(i, nodes.math) for i in group):  # a second formula: split the text between
                text = group.pop() if isinstance(group[-1], str) else ""
                head, opening = _OPENING.match(text).groups()  # type: ignore[union-attr]
                group.extend([head] if head else [])
                close()
                group.extend([opening] if opening else [])
            group.append(item)
        elif isinstance(item, str) and not item.isspace():
            if group and isinstance(group[-1], str):
                group[-1] += item
            else:
                group.append(item)
        else:
            close()
            out.append(item)
    close()
    merged: list[nodes.Node] = []  # adjacent text pieces back into one Text node
    for node in out:
        if isinstance(node, str):
            node = nodes.Text(node)
        if isinstance(node, nodes.Text) and merged and isinstance(merged[-1], nodes.Text):
            merged[-1] = nodes.Text(str(merged[-1]) + str(node))
        else:
            merged.append(node)
    return merged


def glue_math_in(tree: nodes.Node) -> None:
    """:func:`glue_inline_math` in every element of ``tree`` that holds inline math."""
    parents = {id(m.parent): m.parent for m in tree.findall(nodes.math) if m.parent is not None}
    for parent in parents.values():
        if MATH_GLUE not in parent.get("classes", []):  # a tree glued before is left as it is
            glued = glue_inline_math(list(parent.children))
            parent.clear()
            parent.extend(glued)


class GlueInlineMath(SphinxPostTransform):
    """No line starts with the comma or the particle after a formula: :func:`glue_math_in` the
    page (HTML only; LaTeX breaks lines itself). The page's table of contents (section titles
    with math, in the sidebars) is glued by :func:`_glue_math_in_toc`. ``book.css`` keeps each
    group on one line and lets a long formula break inside itself, at MathJax's break points."""

    default_priority = 400
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        glue_math_in(self.document)


def _glue_math_in_toc(app: Sphinx, doctree: nodes.document) -> None:
    """The section titles that the sidebars show (``env.tocs``, collected from the page before)."""
    toc = app.env.tocs.get(app.env.docname)
    if toc is not None and app.builder.format == "html":
        glue_math_in(toc)


# --- HTML ---------------------------------------------------------------------------------------

_SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>')
_THEBE_CONFIG = re.compile(r'\s*<script type="text/x-thebe-config">.*?</script>', re.S)
_KERNEL_NAME = re.compile(r"\s*<script>kernelName = '[^']*'</script>")
_WIDGET_STATE = re.compile(r'\s*<script type="application/vnd\.jupyter\.widget-state\+json">.*?</script>', re.S)
_WIDGET_VIEW = re.compile(r'<script type="application/vnd\.jupyter\.widget-view\+json">.*?</script>', re.S)


def _on_config_inited(app: Sphinx, config: Any) -> None:
    options = config.html_theme_options = dict(config.html_theme_options or {})
    options["navbar_persistent"] = []  # one search entry: the one in the sidebar
    # myst-nb would load require.js and the widget manager from a CDN on pages with widget state
    config.nb_ipywidgets_js = {}


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    # the page's first script sets data-mode from localStorage or this template value; "" made the
    # theme log "Got invalid theme mode" as a console error on every first visit
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    scripts = context.get("script_files")
    if scripts:
        kept, seen = [], set()
        for js in scripts:
            name = str(js)
            body = getattr(js, "attributes", {}).get("body", "") if hasattr(js, "attributes") else ""
            if "thebe" in name or "THEBE_JS_URL" in body or "thebe" in body:
                continue
            key = (name, body, tuple(sorted((k, v) for k, v in getattr(js, "attributes", {}).items() if k != "body")))
            if key in seen:
                continue
            seen.add(key)
            kept.append(js)
        context["script_files"] = kept
    css = context.get("css_files")
    if css:
        context["css_files"] = [c for c in css if "thebe" not in str(c)]


def translate_ui(html: str, table: dict[str, str] = UI_KO) -> str:
    """Replace the English UI strings of ``table`` in attributes and in element text."""

    def attr(m: re.Match) -> str:
        value = table.get(m.group(2).strip())
        return f'{m.group(1)}="{value}"' if value else m.group(0)

    def text(m: re.Match) -> str:
        key = m.group(2).strip()
        # element text: only phrases (a space inside), or anything when a page-specific table is given
        value = table.get(key) if (" " in key or table is not UI_KO) else None
        return f">{m.group(1)}{value}{m.group(3)}<" if value else m.group(0)

    html = _UI_ATTR.sub(attr, html)
    # element text outside <script>/<style>/<pre>: split on those blocks and translate the rest
    pieces = re.split(r"(<(?:script|style|pre)\b.*?</(?:script|style|pre)>)", html, flags=re.S)
    return "".join(p if p.startswith(("<script", "<style", "<pre")) else _TEXT_NODE.sub(text, p) for p in pieces)


def _footer_ko(html: str, author: str) -> str:
    html = re.sub(r'<p class="component-author">\s*[^<]*?\s*</p>',
                  f'<p class="component-author">지은이: {author}</p>', html)
    return re.sub(r"©\s*Copyright\s*(\d{4})\.", r"© \1", html)


_IMG = re.compile(r"<img\b[^>]*>")


def _natural_width(tag: str) -> int | None:
    m = re.search(r'\bwidth="(\d+)(?:px)?"', tag) or re.search(r'style="[^"]*\bwidth:\s*(\d+)px', tag)
    return int(m.group(1)) if m else None


def mark_image_widths(html: str) -> str:
    """``--w: <CSS width>px`` on every output image with a known width, so that the phone CSS
    (``book.css``) can keep it at >= 62 % of that width (figure text >= 9 px) and scroll instead."""

    def mark(m: re.Match) -> str:
        tag = m.group(0)
        width = _natural_width(tag)
        if width is None or "_images/" not in tag or "--w:" in tag:
            return tag
        if 'style="' in tag:
            return tag.replace('style="', f'style="--w:{width}px; ', 1)
        return tag.replace("<img", f'<img style="--w:{width}px"', 1)

    return _IMG.sub(mark, html)


def lazy_images(html: str) -> str:
    """``loading="lazy"`` (and ``decoding="async"``) on every image of the book's content (``_images/``,
    ``_static/``), so a chapter's figures load as the reader scrolls to them."""

    def lazy(m: re.Match) -> str:
        tag = m.group(0)
        if "loading=" in tag or not re.search(r'src="[^"]*(?:_images|_static)/', tag):
            return tag
        return tag.replace("<img", '<img loading="lazy" decoding="async"', 1)

    return _IMG.sub(lazy, html)


def open_failed_checks(html: str) -> str:
    """A check cell whose executed output shows an error is not folded (FoldCheckCells marks it); the
    one-line summary of a folded check is also its tooltip (a long one is cut with "…" on a phone)."""
    html = re.sub(r'(<details class="[^"]*\bcheck-failed\b[^"]*")>', r"\1 open>", html)
    return re.sub(r'(<details class="[^"]*\bcheck-fold\b[^"]*"(?: open)?>\s*<summary)>(\s*<p class="collapsed admonition-title">)([^<]*)(</p>)',
                  lambda m: f'{m.group(1)} title="{m.group(3)}">{m.group(2)}{m.group(3)}{m.group(4)}', html)


def readable_ref_titles(html: str) -> str:
    """A ``{ref}`` to a section whose title holds math shows the title's TeX source as text ("\\theta와
    \\phi를 함께 움직이면"): Sphinx writes the reference text as plain text. The TeX becomes readable
    text ("θ와 φ를 함께 움직이면") the way alt texts are written (:func:`_tex_to_text`)."""

    def fix(m: re.Match) -> str:
        text = re.sub(r"\\[A-Za-z]+(?:\s*\{[^{}]*\})?|\\[,;:!| ]|[_^]\{[^{}]*\}|[_^]\w|[_^](?=\\)",
                      lambda t: "" if t.group(0) in "_^" else (_tex_to_text(t.group(0)) or " "), m.group(2))
        return m.group(1) + re.sub(r"\s{2,}", " ", text) + m.group(3)

    return re.sub(r'(<span class="std std-(?:ref|numref)">)([^<]*\\[^<]*)(</span>)', fix, html)


def fix_accessibility(html: str) -> str:
    """Markup fixes for axe-core (serious/critical findings of the original site):

    * label-content-name-mismatch: myst-nb's ``<summary aria-label="Toggle hidden content">`` shows
      "Show code cell source"; the theme's search button is labelled "Search" but shows
      "Search Ctrl+K"; its colour-mode button is labelled "Color mode" but its icons are titled
      "Light"/"Dark"/"System Settings". The ARIA label is dropped, so the accessible name is the
      visible text.
    * aria-required-children / deprecated role: docutils' citation list is ``role="list"`` with
      ``role="doc-biblioentry"`` children (a role deprecated in DPUB-ARIA 1.1): children become
      ``role="listitem"``.
    """
    html = re.sub(r'(<summary\b[^>]*?)\s+aria-label="[^"]*"', r"\1", html)
    html = re.sub(r'(<button class="btn search-button-field[^"]*"[^>]*?)\s+aria-label="[^"]*"', r"\1", html)
    html = re.sub(r'(<button class="[^"]*theme-switch-button[^"]*"[^>]*?)\s+aria-label="[^"]*"', r"\1", html)
    html = html.replace('role="doc-biblioentry"', 'role="listitem"')
    return html


def postprocess_page(html: str, pagename: str, lang: str, author: str) -> str:
    """The page-level fixes of this module, on the HTML text of one page."""
    if pagename != "search":
        html = _SEARCH_SCRIPTS.sub("", html)
    html = _THEBE_CONFIG.sub("", html)
    html = _KERNEL_NAME.sub("", html)
    html = _WIDGET_STATE.sub("", html)
    html = _WIDGET_VIEW.sub("", html)
    html = mark_image_widths(html)
    html = lazy_images(html)
    html = readable_ref_titles(html)
    html = fix_accessibility(html)
    html = open_failed_checks(html)  # after fix_accessibility: it matches the <summary> without its aria-label
    if lang == "ko":
        html = translate_ui(html)
        html = translate_ui(html, KO_FIXES)  # attribute values and whole element texts only, never prose
        if pagename == "prf-prf":
            html = translate_ui(html, UI_KO_PROOF_INDEX)
        html = _footer_ko(html, author)
    return html


# --- Font Awesome subset --------------------------------------------------------------------------

_ICON_CLASS = re.compile(r'class="([^"]*\bfa[srb]?\b[^"]*|[^"]*\bfa-(?:solid|regular|brands)\b[^"]*)"')


def used_icons(html_files: list[Path]) -> set[str]:
    """Font Awesome icon names (``fa-github`` -> ``github``) used in ``class`` attributes."""
    icons: set[str] = set()
    skip = {"solid", "regular", "brands", "fw", "lg", "xs", "sm", "spin", "pulse", "2x", "3x"}
    for path in html_files:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r'class="([^"]*)"', text):
            for cls in m.group(1).split():
                if cls.startswith("fa-") and cls[3:] not in skip:
                    icons.add(cls[3:])
    # icons the theme's JavaScript inserts itself (theme switch, search, copy button)
    icons |= {"sun", "moon", "circle-half-stroke", "magnifying-glass", "xmark", "bars", "list", "outdent",
              "copy", "check", "angle-left", "angle-right", "chevron-down", "chevron-up", "expand", "compress"}
    return icons


def subset_fontawesome(static: Path, html_files: list[Path]) -> tuple[int, int] | None:
    """Rewrite ``_static/scripts/fontawesome.js`` keeping only the icons in ``html_files``.

    The bundle (Font Awesome 6's SVG+JS build, webpacked by pydata-sphinx-theme) stores each
    icon pack as an object literal ``{"icon-name": [width, height, [aliases], "unicode", "path"], ...}``
    passed to ``defineIcons``. The literals are rewritten with the used icons (and their
    aliases) only; the code around them is untouched. Returns (old size, new size) or None when
    the bundle does not have the expected layout (then nothing is changed).
    """
    path = static / "scripts" / "fontawesome.js"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    wanted = used_icons(html_files)
    # an icon entry: "name":[640,512,[...aliases...],"f09b","M..."]
    entry = re.compile(r'"?([a-z0-9-]+)"?:\[(\d+),(\d+),\[([^\]]*)\],"([0-9a-f]*)","([^"]*)"\],?')
    kept = dropped = 0

    def keep(m: re.Match) -> str:
        nonlocal kept, dropped
        name = m.group(1)
        aliases = {a.strip().strip('"') for a in m.group(4).split(",") if a.strip()}
        if name in wanted or aliases & wanted:
            kept += 1
            return m.group(0)
        dropped += 1
        return ""

    new = entry.sub(keep, text)
    if kept == 0 or dropped < 100:
        return None
    # a dropped entry takes its trailing comma along; a kept last entry may keep one: "...],}" is valid JS
    path.write_text(new, encoding="utf-8")
    for extra in ("fontawesome.js.map",):
        (static / "scripts" / extra).unlink(missing_ok=True)
    return len(text), len(new)


_COPYBUTTON_KO = """  'ko' : {
    'copy': '복사',
    'copy_to_clipboard': '클립보드에 복사',
    'copy_success': '복사했습니다!',
    'copy_failure': '복사하지 못했습니다',
  },
"""


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    lang = app.config.language or "en"
    author = str(app.config.author or "")
    pages = sorted(p for p in out.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    for path in pages:
        pagename = path.relative_to(out).with_suffix("").as_posix()
        html = path.read_text(encoding="utf-8")
        new = postprocess_page(html, pagename, lang, author)
        if new != html:
            path.write_text(new, encoding="utf-8")
    copybutton = out / "_static" / "copybutton.js"
    if copybutton.is_file():  # sphinx-copybutton has no Korean messages: its tooltip and ARIA label
        js = copybutton.read_text(encoding="utf-8")
        if "'ko':" not in js and "const messages = {" in js:
            copybutton.write_text(js.replace("const messages = {", "const messages = {\n" + _COPYBUTTON_KO, 1), encoding="utf-8")
    sizes = subset_fontawesome(out / "_static", pages)
    if sizes:
        logger.info("book_site: fontawesome.js %d -> %d bytes", *sizes)
    else:
        logger.info("book_site: fontawesome.js left as it is (unexpected layout)")


def setup(app: Sphinx) -> dict[str, object]:
    _patch_proof_directive()
    _register_korean_citations()
    app.add_transform(ChapterTitles)
    app.add_transform(FigureAltText)
    app.add_post_transform(FoldCheckCells)
    app.add_post_transform(GlueInlineMath)
    app.connect("config-inited", _on_config_inited, priority=800)
    app.connect("doctree-read", _glue_math_in_toc, priority=900)  # after Sphinx's TocTreeCollector (500)
    app.connect("env-get-updated", _number_chapter_zero, priority=900)  # after Sphinx numbered the figures
    app.connect("html-page-context", _on_page_context, priority=900)
    app.connect("build-finished", _on_build_finished)
    app.add_css_file("book.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
