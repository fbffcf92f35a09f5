"""The glossaries (``chapters/<lang>/glossary.md``) and the bold terms of the chapters agree.

CONTRIBUTING.md reserves **bold** for the first use of a term that the glossary lists: in Korean
``**한국어 용어**(English term, ABBR)``, in English ``**english term** (ABBR)``. These tests check

1. every bold term in the markdown cells of every chapter notebook is a name of a glossary entry
   of that edition (and, in Korean, the English term in the parentheses right after it is an
   English name of the same entry);
2. every name in a glossary is used in the book: Korean names in the Korean chapters, English
   names in the English chapters;
3. the chapter recorded for an entry is the first chapter that puts one of its names in bold
   (or, for an entry never bolded, the first chapter that uses it), in both editions;
4. both glossaries list the same entries (same names, same chapters), sorted, well formed.

Glossary file format
--------------------
The glossary is read with ``markdown-it-py`` (the parser MyST is built on, with tables enabled),
so the test sees the tables exactly as the book renders them rather than guessing at ``|``
splitting. Every table in the file is a glossary table with the header

* English page: ``| Term | Korean | Definition | First appears |``
* Korean page:  ``| 용어 | 영어 | 뜻 | 처음 나온 곳 |``

The first column holds the names in the page's language, the second the names in the other
language. A name cell may hold alternatives separated by `` / `` and each alternative may end in
a parenthesis with abbreviations or synonyms separated by commas:
``maximum likelihood estimation (MLE)``, ``가능도 / 우도``. The last column is a markdown link to
the chapter notebook where the term first appears, e.g. ``[Chapter 3](03_bayes_theorem.ipynb)``.

Matching terms
--------------
:func:`term_key` turns a name into a comparison key: Unicode NFC, case-folded, curly quotes made
straight, whitespace and dashes removed, surrounding punctuation stripped. So "Latent-variable
model" matches "latent variable model" and "확률 변수" matches "확률변수" (Korean spacing
varies), but different words never match. "Used in the book" means that the key of a name is a
substring of the key-normalized markdown of some chapter.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from book_support import CHAPTERS, EDITIONS, load, notebooks, source

HEADERS = {
    "en": ("Term", "Korean", "Definition", "First appears"),
    "ko": ("용어", "영어", "뜻", "처음 나온 곳"),
}
OTHER = {"ko": "en", "en": "ko"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
_DASHES_AND_SPACE = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_EDGE_PUNCTUATION = "\"'`.,;:!?()[]{}<>«»“”‘’…·*_~"


# --------------------------------------------------------------------------- parsing helpers


def term_key(text: str) -> str:
    """Comparison key of a term or of a whole text (see the module docstring)."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _DASHES_AND_SPACE.sub("", text)
    return text.strip(_EDGE_PUNCTUATION)


def split_names(cell: str) -> list[tuple[str, list[str]]]:
    """``"a (A, AA) / b"`` -> ``[("a", ["A", "AA"]), ("b", [])]``: alternatives and their extras."""
    names: list[tuple[str, list[str]]] = []
    for alternative in cell.split(" / "):
        alternative = alternative.strip()
        match = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", alternative)
        if match:
            base, extras = match.group(1).strip(), [e.strip() for e in match.group(2).split(",") if e.strip()]
        else:
            base, extras = alternative, []
        if not base:
            raise ValueError(f"empty name in glossary cell {cell!r}")
        names.append((base, extras))
    return names


@dataclass(frozen=True)
class Entry:
    """One row of a glossary table."""

    names: str  #: first column: the names in the page's language, as written
    other_names: str  #: second column: the names in the other language
    definition: str
    chapter: int  #: number NN of the chapter file NN_*.ipynb the row links to
    href: str
    line: int  #: 1-based line of the row in the glossary file

    def keys(self, other: bool = False) -> set[str]:
        """Keys of every base name and every parenthesised extra of one column."""
        cell = self.other_names if other else self.names
        return {term_key(n) for base, extras in split_names(cell) for n in [base, *extras]}

    def bases(self, other: bool = False) -> list[str]:
        """The names of one column without their parentheses (each must be used in the book)."""
        return [base for base, _ in split_names(self.other_names if other else self.names)]


def parse_glossary(text: str, lang: str) -> list[Entry]:
    """The rows of every table in a glossary page; ValueError if a table or row is malformed."""
    tokens = _markdown_parser().parse(text)
    entries: list[Entry] = []
    i = 0
    while i < len(tokens):
        if tokens[i].type != "table_open":
            i += 1
            continue
        rows: list[tuple[int, list[str], list[str]]] = []  # (line, cell texts, link hrefs per cell)
        j = i + 1
        while tokens[j].type != "table_close":
            if tokens[j].type == "tr_open":
                line = tokens[j].map[0] + 1 if tokens[j].map else 0
                cells, hrefs = [], []
                j += 1
                while tokens[j].type != "tr_close":
                    if tokens[j].type == "inline":
                        cells.append(tokens[j].content.strip())
                        hrefs.append(next((c.attrs.get("href", "") for c in tokens[j].children or []
                                           if c.type == "link_open"), ""))
                    j += 1
                rows.append((line, cells, hrefs))
            j += 1
        header = tuple(rows[0][1]) if rows else ()
        if header != HEADERS[lang]:
            raise ValueError(f"glossary table header {header} (expected {HEADERS[lang]})")
        for line, cells, hrefs in rows[1:]:
            if len(cells) != 4 or not all(cells):
                raise ValueError(f"line {line}: a glossary row needs 4 non-empty cells, got {cells}")
            match = re.fullmatch(r"(\d\d)_[^/]*\.ipynb", hrefs[3])
            if not match:
                raise ValueError(f"line {line}: the last cell must link a chapter notebook NN_name.ipynb, got {cells[3]!r}")
            entries.append(Entry(cells[0], cells[1], cells[2], int(match.group(1)), hrefs[3], line))
        i = j + 1
    return entries


def _markdown_parser() -> MarkdownIt:
    """CommonMark + tables + ``$``/``$$`` math, as MyST reads a page (math and code are not prose)."""
    return MarkdownIt("commonmark").enable("table").use(
        dollarmath_plugin, allow_labels=True, allow_space=True, allow_digits=True, double_inline=True)


@functools.lru_cache(maxsize=None)
def _inline_tokens(markdown: str) -> tuple[Token, ...]:
    """The inline (prose) tokens of a markdown text, including the bodies of MyST directives.

    A fence whose info string starts with ``{`` is a directive (```` ```{prf:definition} ````,
    ```` ```{exercise} ````, ...); its body is markdown and is parsed in turn, without its leading
    ``:option: value`` lines. Other fences are code and are skipped, like code spans and math.
    """
    out: list[Token] = []
    for token in _markdown_parser().parse(markdown):
        if token.type == "inline":
            out.append(token)
        elif token.type == "fence" and token.info.strip().startswith("{"):
            body = re.sub(r"\A(?:[ \t]*:[\w-]+:.*\n)*", "", token.content)
            out.extend(_inline_tokens(body))
    return tuple(out)


def prose(markdown: str) -> str:
    """The prose of a markdown text (used for "is the term used"): its text and inline math as
    ``$...$`` (a name may contain math, e.g. ``$\\beta$-VAE``), without code and display math."""
    return " ".join(c.content if c.type == "text" else f"${c.content}$"
                    for t in _inline_tokens(markdown) for c in t.children or [] if c.type in ("text", "math_inline"))


def bold_terms(markdown: str) -> list[tuple[str, str | None]]:
    """``(term, text in the parentheses right after it, or None)`` for every ``**bold**`` span."""
    found: list[tuple[str, str | None]] = []
    for token in _inline_tokens(markdown):
        children = token.children or []
        i = 0
        while i < len(children):
            if children[i].type != "strong_open":
                i += 1
                continue
            parts: list[str] = []
            i += 1
            while i < len(children) and children[i].type != "strong_close":
                child = children[i]
                parts.append(f"${child.content}$" if child.type == "math_inline" else child.content)
                i += 1
            after = children[i + 1] if i + 1 < len(children) else None
            paren = re.match(r"\(([^()]*)\)", after.content) if after is not None and after.type == "text" else None
            found.append(("".join(parts).strip(), paren.group(1) if paren else None))
            i += 1
    return found


def chapter_markdown(lang: str) -> dict[int, str]:
    """``{NN: markdown of all markdown cells}`` of the chapter notebooks of one edition."""
    out: dict[int, str] = {}
    for path in notebooks(lang):
        cells = load(path)["cells"]
        out[int(path.name[:2])] = "\n\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    return out


# --------------------------------------------------------------------------- checks (pure)


def find_entry(entries: list[Entry], term: str, other: bool = False) -> Entry | None:
    key = term_key(term)
    return next((e for e in entries if key in e.keys(other)), None)


def unlisted_bold_terms(entries: list[Entry], chapters: dict[int, str]) -> list[str]:
    """Bold terms of the chapters that no glossary entry names (column 1)."""
    return [f"chapter {n:02d}: **{term}**" for n, md in sorted(chapters.items())
            for term, _ in bold_terms(md) if find_entry(entries, term) is None]


def english_mismatches(entries: list[Entry], chapters: dict[int, str]) -> list[str]:
    """Korean ``**용어**(English, ...)`` whose English is not an English name of the same entry."""
    problems = []
    for n, md in sorted(chapters.items()):
        for term, paren in bold_terms(md):
            entry = find_entry(entries, term)
            if entry is None or paren is None:
                continue
            english = paren.split(",")[0]
            if term_key(english) not in entry.keys(other=True):
                problems.append(f"chapter {n:02d}: **{term}**({paren}) but the glossary's English is {entry.other_names!r}")
    return problems


def unused_names(entries: list[Entry], chapters: dict[int, str], other: bool = False) -> list[str]:
    """Names (column 1, or column 2 if ``other``) that no chapter's markdown contains."""
    texts = [term_key(prose(md)) for md in chapters.values()]
    return [f"line {e.line}: {name!r}" for e in entries for name in e.bases(other)
            if not any(term_key(name) in t for t in texts)]


def first_chapter(entry: Entry, chapters: dict[int, str], other: bool = False) -> int | None:
    """The first chapter that bolds one of the entry's names, else the first that uses one."""
    keys = entry.keys(other)
    for n, md in sorted(chapters.items()):
        if any(term_key(term) in keys for term, _ in bold_terms(md)):
            return n
    used = [term_key(b) for b in entry.bases(other)]
    return next((n for n, md in sorted(chapters.items()) if any(k in term_key(prose(md)) for k in used)), None)


def wrong_chapters(entries: list[Entry], chapters: dict[int, str], other: bool = False) -> list[str]:
    problems = []
    for e in entries:
        first = first_chapter(e, chapters, other)
        if first is not None and first != e.chapter:
            problems.append(f"line {e.line}: {e.names!r} is recorded in chapter {e.chapter} but first appears in chapter {first}")
    return problems


# --------------------------------------------------------------------------- the book's glossaries


def glossary(lang: str) -> list[Entry]:
    return parse_glossary((CHAPTERS / lang / "glossary.md").read_text(encoding="utf-8"), lang)


@pytest.mark.parametrize("lang", EDITIONS)
def test_glossary_is_well_formed(lang: str) -> None:
    entries = glossary(lang)
    assert len(entries) >= 30, f"{lang}: only {len(entries)} glossary entries were parsed"
    for e in entries:
        assert (CHAPTERS / lang / e.href).is_file(), f"{lang} glossary line {e.line}: {e.href} does not exist"
        has_hangul = bool(HANGUL.search(e.definition))
        assert has_hangul == (lang == "ko"), f"{lang} glossary line {e.line}: the definition is not in the page's language"
    firsts = [term_key(e.bases()[0]) for e in entries]
    assert firsts == sorted(firsts), f"{lang}: glossary rows are not sorted by their first name"
    assert len(set(firsts)) == len(firsts), f"{lang}: a term is listed twice"


def test_both_glossaries_list_the_same_terms() -> None:
    ko = {(e.other_names, e.names, e.chapter) for e in glossary("ko")}
    en = {(e.names, e.other_names, e.chapter) for e in glossary("en")}
    assert ko == en, f"only in ko: {sorted(ko - en)}\nonly in en: {sorted(en - ko)}"


@pytest.mark.parametrize("lang", EDITIONS)
def test_every_bold_term_is_in_the_glossary(lang: str) -> None:
    problems = unlisted_bold_terms(glossary(lang), chapter_markdown(lang))
    assert not problems, f"bold terms missing from chapters/{lang}/glossary.md:\n" + "\n".join(problems)


def test_korean_bold_terms_carry_the_glossary_english_term() -> None:
    problems = english_mismatches(glossary("ko"), chapter_markdown("ko"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", EDITIONS)
def test_every_glossary_name_is_used_in_the_book(lang: str) -> None:
    entries = glossary(lang)
    problems = unused_names(entries, chapter_markdown(lang))
    problems += [f"({OTHER[lang]}) {p}" for p in unused_names(entries, chapter_markdown(OTHER[lang]), other=True)]
    assert not problems, f"chapters/{lang}/glossary.md names that no chapter uses:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", EDITIONS)
def test_recorded_chapter_is_where_the_term_first_appears(lang: str) -> None:
    entries = glossary(lang)
    problems = wrong_chapters(entries, chapter_markdown(lang))
    problems += [f"({OTHER[lang]}) {p}" for p in wrong_chapters(entries, chapter_markdown(OTHER[lang]), other=True)]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the helpers on synthetic input

SYNTHETIC_EN = """# Glossary

## E

| Term | Korean | Definition | First appears |
|---|---|---|---|
| evidence lower bound (ELBO) / variational bound | 증거 하한 | A lower bound on $\\log p(x)$. | [Chapter 6](06_x.ipynb) |
| prior | 사전 분포 | What we believe about $z$. | [Chapter 3](03_y.ipynb) |
"""

SYNTHETIC_CHAPTERS = {
    3: "We call $p(z)$ the **prior**.\n\n```python\nx**2 + y**2\n```\n",
    5: "The **Evidence-Lower Bound** appears early. Also the `**not bold**` code.",
    6: "The **evidence lower bound** (ELBO). A **posterior** too.",
}


def test_term_key_ignores_case_spacing_dashes_and_edge_punctuation() -> None:
    assert term_key("Latent-variable model") == term_key("latent variable  model")
    assert term_key("확률 변수") == term_key("확률변수")
    assert term_key("“Bayes’ rule,”") == term_key("bayes' rule")
    assert term_key("Kolmogorov–Smirnov test") == term_key("Kolmogorov-Smirnov test")
    assert term_key("prior") != term_key("posterior")


def test_split_names_reads_alternatives_and_abbreviations() -> None:
    assert split_names("maximum likelihood estimation (MLE) / ML estimation") == [
        ("maximum likelihood estimation", ["MLE"]), ("ML estimation", [])]
    assert split_names("콜모고로프–스미르노프 검정 (KS 검정, KS)") == [("콜모고로프–스미르노프 검정", ["KS 검정", "KS"])]


def test_parse_glossary_reads_rows_and_rejects_malformed_tables() -> None:
    entries = parse_glossary(SYNTHETIC_EN, "en")
    assert [(e.names, e.other_names, e.chapter, e.line) for e in entries] == [
        ("evidence lower bound (ELBO) / variational bound", "증거 하한", 6, 7), ("prior", "사전 분포", 3, 8)]
    assert entries[0].keys() == {"evidencelowerbound", "elbo", "variationalbound"}
    with pytest.raises(ValueError, match="header"):
        parse_glossary(SYNTHETIC_EN, "ko")
    with pytest.raises(ValueError, match="link a chapter"):
        parse_glossary(SYNTHETIC_EN.replace("[Chapter 3](03_y.ipynb)", "Chapter 3"), "en")
    with pytest.raises(ValueError, match="4 non-empty cells"):
        parse_glossary(SYNTHETIC_EN.replace("| prior |", "|  |"), "en")


def test_bold_terms_skip_code_and_math_and_read_korean_parentheses() -> None:
    md = "**증거 하한**(evidence lower bound, ELBO)과 **사전 분포** $a**b$ `c**d**` \n```python\ne**2**3\n```\n"
    assert bold_terms(md) == [("증거 하한", "evidence lower bound, ELBO"), ("사전 분포", None)]
    directive = "```{prf:definition} X\n:label: d\n\nA **prior** is ...\n```"
    assert bold_terms(directive) == [("prior", None)], "bold inside a directive is prose and counts"


def test_checks_find_the_problems_of_a_synthetic_book() -> None:
    entries = parse_glossary(SYNTHETIC_EN, "en")
    assert unlisted_bold_terms(entries, SYNTHETIC_CHAPTERS) == ["chapter 06: **posterior**"]
    # "variational bound" is used nowhere; the ELBO is bolded first in chapter 5, not 6.
    assert unused_names(entries, SYNTHETIC_CHAPTERS) == ["line 7: 'variational bound'"]
    assert first_chapter(entries[0], SYNTHETIC_CHAPTERS) == 5
    assert wrong_chapters(entries, SYNTHETIC_CHAPTERS) == [
        "line 7: 'evidence lower bound (ELBO) / variational bound' is recorded in chapter 6 but first appears in chapter 5"]
    # an entry never bolded is dated by its first use; Korean names are checked in the other column
    unbolded = {3: "the prior p(z)", 4: "사전 분포"}
    assert first_chapter(entries[1], unbolded) == 3 and first_chapter(entries[1], unbolded, other=True) == 4
    assert unused_names(entries, {1: "증거하한은 ..."}, other=True) == ["line 8: '사전 분포'"]


def test_korean_english_mismatch_is_reported() -> None:
    ko = parse_glossary(
        "| 용어 | 영어 | 뜻 | 처음 나온 곳 |\n|---|---|---|---|\n| 증거 하한 | evidence lower bound (ELBO) | 하한. | [6장](06_x.ipynb) |\n",
        "ko")
    ok = {6: "**증거 하한**(evidence lower bound, ELBO)"}
    bad = {6: "**증거 하한**(variational lower bound, ELBO)"}
    assert english_mismatches(ko, ok) == []
    assert len(english_mismatches(ko, bad)) == 1 and "variational lower bound" in english_mismatches(ko, bad)[0]
