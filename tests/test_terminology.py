"""The Korean edition uses one term per concept and one speech level per kind of block.

The decisions live in ``book/terminology.yml`` (see its header). These tests read the Korean
edition as a reader sees it:

* ``chapters/ko/*.ipynb``: every markdown cell, every figure caption in cell metadata
  (``metadata.mystnb.figure.caption``) and, in code cells, the string literals (the ``TEXT``
  dict of the ``lang`` cell, printed sentences) and ``#`` comments;
* ``chapters/ko/*.md`` (glossary, notation, index, bibliography).

1. :func:`test_no_rejected_variants`: no rejected variant of ``terms`` occurs (an occurrence
   inside an ``allow`` text is ignored). The failure lists ``file, cell N, line L: variant →
   canonical`` for each occurrence.
2. :func:`test_register`: in notebook markdown,

   * a formal block (``{prf:theorem}``, ``{prf:definition}``, ``{prf:lemma}``,
     ``{prf:corollary}``, ``{prf:proposition}``, ``{prf:proof}``) and every figure caption
     use 한다체: no word ending in ``…니다`` there;
   * running prose (everything else: paragraphs, lists, exercises, solutions, admonitions)
     uses 합니다체: no sentence ends in a 한다체 form, i.e. ``…다.`` whose syllable before
     ``다`` is neither ``니`` nor ``시`` (``…이다.``, ``…한다.``; ``봅시다`` is fine), or an imperative ``…라.`` (``구하라.``).
     Quotations (``"…"``, ``“…”``, ``'…'``), inline code, math (``$…$``, ``$$…$$``), table
     rows, headings and fenced code are not prose and are skipped; so are ``{prf:example}``
     and ``{prf:remark}`` blocks, where either level reads naturally.

   This catches the cheap, unambiguous cases; it cannot judge a sentence without a final
   period, which reviewers still read.

To list the problems of some files only: ``python tests/test_terminology.py 06 07 glossary``.

The last test checks the YAML file itself (well formed, regexes compile, no canonical term
is itself rejected).
"""

from __future__ import annotations

import fnmatch
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from book_support import CHAPTERS, ROOT, load, notebooks, source

TERMINOLOGY = ROOT / "book" / "terminology.yml"
KO = CHAPTERS / "ko"
FORMAL_DEFAULT = ("theorem", "definition", "lemma", "corollary", "proposition", "proof")
UNCHECKED_BLOCKS = ("example", "remark")


@dataclass(frozen=True)
class Piece:
    """One stretch of Korean text a reader sees: where it is, and what kind it is."""

    file: str
    where: str  # "cell 12" or "line block"
    kind: str  # "markdown", "caption", "code-string", "code-comment", "md-file"
    text: str


@dataclass(frozen=True)
class Rule:
    canonical: str
    label: str  # the variant as written in the YAML
    pattern: re.Pattern


def load_terminology() -> dict:
    return yaml.safe_load(TERMINOLOGY.read_text(encoding="utf-8"))


def rules(data: dict) -> list[Rule]:
    out: list[Rule] = []
    for term in data["terms"]:
        for variant in term.get("reject") or []:
            parts = [re.escape(p) for p in variant.split()]
            out.append(Rule(term["canonical"], variant, re.compile(r"\s+".join(parts))))
        for regex in term.get("reject_regex") or []:
            out.append(Rule(term["canonical"], regex, re.compile(regex)))
    return out


# --------------------------------------------------------------------------- reading the edition


def _code_texts(code: str) -> list[tuple[str, int, str]]:
    """(kind, first line, text) of the string literals and comments of a code cell."""
    out: list[tuple[str, int, str]] = []
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [("code-string", 1, code)]
    for tok in tokens:
        if tok.type == tokenize.STRING:
            out.append(("code-string", tok.start[0], tok.string))
        elif tok.type == tokenize.COMMENT:
            out.append(("code-comment", tok.start[0], tok.string))
        elif getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type:
            out.append(("code-string", tok.start[0], tok.string))
    return out


def pieces() -> list[Piece]:
    out: list[Piece] = []
    for path in notebooks("ko"):
        for index, cell in enumerate(load(path)["cells"]):
            where = f"cell {index}"
            text = source(cell)
            if cell["cell_type"] == "markdown":
                out.append(Piece(path.name, where, "markdown", text))
            elif cell["cell_type"] == "code":
                out += [
                    Piece(path.name, f"{where}, code line {start} +", kind, t)
                    for kind, start, t in _code_texts(text)
                ]
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if isinstance(figure, dict) and figure.get("caption"):
                out.append(Piece(path.name, where + " (caption)", "caption", figure["caption"]))
    for path in sorted(KO.glob("*.md")):
        out.append(Piece(path.name, "file", "md-file", path.read_text(encoding="utf-8")))
    return out


# --------------------------------------------------------------------------- matching

_EMPHASIS = re.compile(r"(?<=[\uac00-\ud7a3])[*_]+|[*_]+(?=[\uac00-\ud7a3])")


def _plain(text: str) -> str:
    """Text with markdown emphasis markers next to Hangul removed (``*불편*입니다`` → ``불편입니다``)."""
    return _EMPHASIS.sub("", text)


def _allowed_spans(text: str, allow: list[dict], filename: str) -> list[tuple[int, int]]:
    spans = []
    for entry in allow:
        files = entry.get("files")
        if files and not any(fnmatch.fnmatch(filename, pattern) for pattern in files):
            continue
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(entry["text"]), text)]
    return spans


def find_variants(piece: Piece, all_rules: list[Rule], allow: list[dict]) -> list[str]:
    """``"file, cell N, line L: 'match' (variant) → canonical"`` for every rejected variant."""
    problems = []
    for line_no, line in enumerate(piece.text.splitlines() or [piece.text], start=1):
        plain = _plain(line)
        spans = _allowed_spans(plain, allow, piece.file)
        for rule in all_rules:
            for match in rule.pattern.finditer(plain):
                if any(a <= match.start() and match.end() <= b for a, b in spans):
                    continue
                problems.append(
                    f"{piece.file}, {piece.where}, line {line_no} [{piece.kind}]: "
                    f"{match.group(0)!r} ({rule.label}) → {rule.canonical}"
                )
    return problems


def test_no_rejected_variants():
    data = load_terminology()
    all_rules, allow = rules(data), data.get("allow") or []
    problems = [p for piece in pieces() for p in find_variants(piece, all_rules, allow)]
    assert not problems, (
        f"{len(problems)} rejected variant(s) in the Korean edition (see book/terminology.yml):\n"
        + "\n".join(problems)
    )


# --------------------------------------------------------------------------- register

_FENCE = re.compile(r"^\s*(`{3,}|:{3,})\s*(\{[^}]*\})?\s*(.*)$")
_QUOTES = re.compile(r'"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’|\'[^\'\n]*\'|「[^」\n]*」')
_CODE = re.compile(r"``[^`]*``|`[^`\n]*`")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
_LINKS = re.compile(r"\]\([^)]*\)")
# A 합니다체 ending: "…니다" at the end of a word.
_HAMNIDA = re.compile(r"[\uac00-\ud7a3]니다(?![\uac00-\ud7a3])")
# A 한다체 sentence end: "…다." not after 니 or 시 (합니다, 봅시다), or an imperative "…라.".
_HANDA = re.compile(r"[\uac00-\ud7a3](?<![니시])다\.(?=\s|$|[)\]*])|[\uac00-\ud7a3]라\.(?=\s|$|[)\]*])")


def _blocks(markdown: str, formal: tuple[str, ...]):
    """Yield (kind, line_no, line) with kind in {"formal", "prose", "skip"}.

    Tracks ```` ```{directive} ```` / ``:::{directive}`` fences (nested ones too); fenced code
    (a fence without a ``{directive}`` or a ``{code-cell}``) is skipped, and so are the
    directive's option lines (``:label: …``), headings and table rows.
    """
    stack: list[tuple[str, int, str]] = []  # (fence characters, fence length, kind)
    in_display_math = False
    for line_no, line in enumerate(markdown.splitlines(), start=1):
        fence = _FENCE.match(line)
        if fence:
            chars, directive, _rest = fence.group(1), fence.group(2), fence.group(3)
            closing = not directive and not _rest.strip()
            if stack and closing and chars[0] == stack[-1][0][0] and len(chars) >= stack[-1][1]:
                stack.pop()
                continue
            if directive:
                name = directive.strip("{}").strip()
                short = name.split(":")[-1]
                if short in formal:
                    kind = "formal"
                elif short in UNCHECKED_BLOCKS or name in ("code-cell", "code", "math", "bibliography"):
                    kind = "skip"
                else:  # exercise, solution, admonition, ...: prose unless inside a formal block
                    kind = stack[-1][2] if stack else "prose"
            else:
                kind = "skip"
            stack.append((chars, len(chars), kind))
            continue
        if line.strip().startswith("$$"):
            in_display_math = not in_display_math if line.strip().count("$$") == 1 else in_display_math
            continue
        kind = stack[-1][2] if stack else "prose"
        stripped = line.strip()
        if (
            in_display_math
            or not stripped
            or stripped.startswith(("#", "|"))
            or re.match(r"^:\w[\w-]*:", stripped)  # a directive option, :label: ...
            or re.match(r"^\([\w-]+\)=$", stripped)  # a target label, (sec-ch04-x)=
        ):
            continue
        yield kind, line_no, line


def _strip_non_prose(line: str) -> str:
    line = _CODE.sub(" ", line)
    line = _MATH.sub("X", line)
    line = _LINKS.sub("]", line)
    return _QUOTES.sub(" ", _plain(line))


def register_problems(piece: Piece, formal: tuple[str, ...]) -> list[str]:
    problems = []
    if piece.kind == "caption":
        for match in _HAMNIDA.finditer(_strip_non_prose(piece.text)):
            problems.append(f"{piece.file}, {piece.where}: caption in 합니다체 ({match.group(0)!r}); captions use 한다체")
        return problems
    if piece.kind != "markdown":
        return problems
    for kind, line_no, line in _blocks(piece.text, formal):
        text = _strip_non_prose(line)
        if kind == "formal":
            for match in _HAMNIDA.finditer(text):
                problems.append(
                    f"{piece.file}, {piece.where}, line {line_no}: {match.group(0)!r} in a theorem/"
                    f"definition/lemma/proof block; these use 한다체: {line.strip()[:80]}"
                )
        elif kind == "prose":
            for match in _HANDA.finditer(text):
                problems.append(
                    f"{piece.file}, {piece.where}, line {line_no}: {match.group(0)!r} in running prose; "
                    f"prose uses 합니다체: {line.strip()[:80]}"
                )
    return problems


def test_register():
    data = load_terminology()
    formal = tuple(data.get("register", {}).get("formal_blocks") or FORMAL_DEFAULT)
    problems = [p for piece in pieces() for p in register_problems(piece, formal)]
    assert not problems, f"{len(problems)} register problem(s) in the Korean edition:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- the table itself


def test_terminology_file_is_well_formed():
    data = load_terminology()
    assert isinstance(data.get("terms"), list) and data["terms"], "book/terminology.yml: no terms"
    all_rules = rules(data)
    for term in data["terms"]:
        assert set(term) <= {"canonical", "english", "reject", "reject_regex", "note"}, term
        assert term.get("canonical") and term.get("english"), term
        for rule in all_rules:
            # a canonical form must not itself be rejected (allowed texts aside)
            if rule.pattern.search(term["canonical"]) and not any(
                entry["text"] in term["canonical"] for entry in data.get("allow") or []
            ):
                pytest.fail(f"canonical {term['canonical']!r} matches rejected {rule.label!r}")
    for entry in data.get("allow") or []:
        assert entry.get("text") and entry.get("reason"), f"allow entry needs text and reason: {entry}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("이 추정량은 *불편*입니다.", 1),
        ("불편 추정량이고 편향이 없습니다.", 0),
        ("표준 정규\n분포", 0),  # a line break is checked per line; see the next case
        ("표준 정규  분포", 1),
        ("비모수적 방법", 0),
        ("$p$가 사는 곳", 1),
        ("검사는 곳곳에서", 0),
        ("비율–왜곡 곡선", 1),
        ("클래스 비율", 0),
        # issue 17, section 3
        ("3 에폭 동안", 1),
        ("3 에포크 동안", 0),
        ("로그 가능도", 1),
        ("로그 우도", 0),
        ("최대 우도 추정", 1),
        ("최대우도 추정", 0),
        ("확률층 두 개", 1),
        ("확률적 층 두 개", 0),
        ("같은 최적화기", 1),
        ("같은 옵티마이저", 0),
        ("규제 항(regularizer)", 1),
        ("재구성 항과 정규화 항", 0),
        ("공분산의 고유분해", 1),
        ("공분산의 고윳값 분해", 0),
        ("ELBO의 간격", 1),
        ("대각 공분산 $q$가 남기는 간격", 1),
        ("추론 간극", 0),
        ("격자점을 같은 간격으로", 0),
        ("경로별 추정량", 1),
        ("경로 미분 추정량", 0),
        # data sets are 세트, sets of mathematics 집합; 기울기 is a gradient, never a slope
        ("검증 집합에서 잰 분위수", 1),
        ("검증 세트에서 잰 분위수", 0),
        ("지지 집합 밖에서", 0),
        ("율–왜곡 곡선의 기울기는", 1),
        ("최소제곱 기울기의 표준 오차", 1),
        ("율–왜곡 곡선의 변화율은", 0),
        ("ELBO의 기울기를 추정", 0),
        ("탐침이 빈 곳에 빠짐", 1),
        ("탐침이 구멍에 빠짐", 0),
    ],
)
def test_rules_catch_what_they_should(text, expected):
    data = load_terminology()
    piece = Piece("x.ipynb", "cell 0", "markdown", text)
    assert len(find_variants(piece, rules(data), data.get("allow") or [])) == expected, text


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("KL은 0 이상이다.", 1),
        ("KL은 0 이상입니다.", 0),
        ('*"우도는 확률분포다."* 아닙니다.', 0),
        ("```{prf:theorem} 깁스 부등식\n:label: thm-x\n\nKL은 0 이상입니다.\n```", 1),
        ("```{prf:theorem} 깁스 부등식\n:label: thm-x\n\nKL은 0 이상이다.\n```", 0),
        ("```{exercise}\n:label: ex-x\n\n값을 구하라.\n```", 1),
        ("```python\nx = 1  # 된다.\n```", 0),
    ],
)
def test_register_check_catches_what_it_should(markdown, expected):
    piece = Piece("x.ipynb", "cell 0", "markdown", markdown)
    assert len(register_problems(piece, FORMAL_DEFAULT)) == expected, markdown


if __name__ == "__main__":  # python tests/test_terminology.py [06 07 ...]: list the problems
    import sys

    data = load_terminology()
    all_rules, allow = rules(data), data.get("allow") or []
    formal = tuple(data.get("register", {}).get("formal_blocks") or FORMAL_DEFAULT)
    wanted = sys.argv[1:]
    found = [
        p
        for piece in pieces()
        if not wanted or any(piece.file.startswith(w) for w in wanted)
        for p in find_variants(piece, all_rules, allow) + register_problems(piece, formal)
    ]
    print("\n".join(found) or "no problems")
    sys.exit(1 if found else 0)
