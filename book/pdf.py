"""A PDF of each edition through Jupyter Book's LaTeX builder and XeLaTeX: ``python -m book pdf``.

Writes ``_build/pdf/vae-book-ko.pdf`` and ``_build/pdf/vae-book-en.pdf`` (and the LaTeX log of
each beside it, ``vae-book-<lang>.log``). The LaTeX sources are built in ``_build/pdf-work/<lang>/``.
Notebooks are not executed again: the build reads the shared notebook cache
(``_build/.jupyter_cache``, filled by the site build and the tests); a notebook missing from it
is executed and cached, as in the site build.

Per edition:

1. ``jupyter-book build --builder latex`` with a config derived from ``_config.yml``
   (:func:`pdf_config`: the ``latex:`` section there, XeLaTeX, no jupyterbook-latex class; the
   preamble of :func:`latex_elements`: ``kotex`` with Nanum fonts for Hangul, FreeSerif/FreeSans and
   DejaVu Sans Mono for the rest, running header and footer in the edition's language) and this
   module loaded as a Sphinx extension (:func:`setup`), which reshapes the single LaTeX document:

   * the front page (``index``) becomes an unnumbered preface; the chapters ``00``–``NN`` are
     chapters 0–NN (the ``NN.`` prefix of their titles dropped, as LaTeX numbers them);
   * exercises and theorem-like blocks are numbered per chapter ("연습문제 4.3", "정리 4.1") and
     the references to them are renamed to match;
   * every ``{solution}`` (with the solution and check code cells that follow it) moves to an
     appendix "해답" / "Solutions", grouped by chapter; the back matter (course plan, glossary,
     notation, bibliography page) follows as further appendices;
   * code cells tagged ``hide-input`` show only their output (as the site does, folded);
   * raw HTML (the interactive explorables, ``div.vae-explorable``) is dropped: their static figure
     is the cell's PNG output, which the LaTeX builder picks;
   * the bibliography at the end lists each work once (each chapter's ``{bibliography}`` would
     repeat it);
   * nbgrader's ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines are dropped from the code shown
     (:func:`strip_solution_markers`);
   * a theorem-like block starts on a new page when less than :data:`KEEP_WITH_HEADER` lines are
     left (``\needspace``), so its header never sits alone at the foot of a page.

The Korean edition has no Babel/polyglossia language of its own: kotex typesets Hangul, and
polyglossia keeps English as its main language (:func:`register_languages`: Sphinx otherwise warns
``no Babel option known for language 'ko'``).

2. ``make all-pdf`` (latexmk with XeLaTeX) in the LaTeX folder; the PDF and its log are copied to
   ``_build/pdf/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("VAE_BOOK_BUILD_DIR") or ROOT / "_build").resolve()
PDF_OUT = BUILD / "pdf"
WORK = BUILD / "pdf-work"
LANGUAGES = ("ko", "en")

#: Words of each edition used in the PDF.
WORDS: dict[str, dict[str, str]] = {
    "ko": {
        "preface": "머리말",
        "solutions": "해답",
        "exercise": "연습문제",
        "solution_of": "연습문제 {number}의 해답",
        "solution_at": "해답: {page}쪽",
        "chapter_group": "{number}장 {title}",
        "proof": "증명.",
        "contents": "차례",
        "bibliography": "참고문헌",
        "appendix": "부록",
        "figure": "그림",
        "table": "표",
    },
    "en": {
        "preface": "Preface",
        "solutions": "Solutions",
        "exercise": "Exercise",
        "solution_of": "Solution to Exercise {number}",
        "solution_at": "Solution: page {page}",
        "chapter_group": "Chapter {number}. {title}",
        "proof": "Proof.",
        "contents": "Contents",
        "bibliography": "Bibliography",
        "appendix": "Appendix",
        "figure": "Figure",
        "table": "Table",
    },
}
#: Names of the theorem-like blocks (sphinx-proof's ``realtype``) in each edition.
PROOF_WORDS: dict[str, dict[str, str]] = {
    "ko": {"theorem": "정리", "definition": "정의", "lemma": "보조정리", "corollary": "따름정리",
           "proposition": "명제", "example": "예", "remark": "참고", "axiom": "공리", "conjecture": "추측",
           "criterion": "판정 기준", "property": "성질", "observation": "관찰", "assumption": "가정",
           "notation": "표기", "algorithm": "알고리즘"},
    "en": {},  # realtype.title(): "Theorem", "Definition", ...
}
_CHAPTER_DOC = re.compile(r"(?:^|/)(\d\d)_[^/]*$")


# --------------------------------------------------------------------------------------------
# configuration of the LaTeX build


def latex_elements(lang: str) -> dict[str, str]:
    """Sphinx ``latex_elements`` of edition ``lang`` (fonts, kotex, chapter heads, header/footer)."""
    w = WORDS[lang]
    if lang == "ko":
        chapter_label = r"\ifvaeappendix " + w["appendix"] + r"~\thechapter\else\thechapter 장\fi"
    else:
        chapter_label = r"\ifvaeappendix " + w["appendix"] + r"~\thechapter\else Chapter~\thechapter\fi"
    fontpkg = r"""
\setmainfont{FreeSerif}[Extension=.otf, UprightFont=*, ItalicFont=*Italic, BoldFont=*Bold, BoldItalicFont=*BoldItalic]
\setsansfont{FreeSans}[Extension=.otf, UprightFont=*, ItalicFont=*Oblique, BoldFont=*Bold, BoldItalicFont=*BoldOblique]
% DejaVu Sans Mono: FreeMono lacks characters the notebooks print (e.g. U+1D40, U+1D62)
\setmonofont{DejaVu Sans Mono}[Scale=MatchLowercase]
"""
    preamble = r"""
% Hangul: kotex (xetexko under XeLaTeX) with the Nanum fonts (Debian fonts-nanum)
\usepackage{kotex}
% \needspace before theorem-like blocks (book/pdf.py, _visit_proof)
\usepackage{needspace}
\setmainhangulfont{NanumMyeongjo}[BoldFont=NanumMyeongjoBold]
\setsanshangulfont{NanumGothic}[BoldFont=NanumGothicBold]
\setmonohangulfont{NanumGothicCoding}[BoldFont=NanumGothicCoding-Bold]
% parentheses, quotes and punctuation from the Latin font (xetexko would take them from the Hangul
% font: wide "(Coding)"), and ' as an apostrophe, not a closing mark followed by a gap ("model' s")
\xetexkofontregime{latin}
\XeTeXcharclass"2019=0
% characters the notebooks print that DejaVu Sans Mono lacks: from FreeMono in code, as they are elsewhere
\usepackage{newunicodechar}
\newfontfamily\vaemonofallback{FreeMono}[Extension=.otf]
\makeatletter
\AtBeginDocument{\edef\vae@tt{\ttdefault}}
\newcommand{\vaemonochar}[1]{\ifx\f@family\vae@tt{\vaemonofallback\symbol{#1}}\else\symbol{#1}\fi}
\makeatother
\newunicodechar{ℓ}{\vaemonochar{"2113}}
\newif\ifvaeappendix
\newcounter{vaesavedsecnumdepth}
\makeatletter
\newcommand{\vaechapterlabel}{CHAPTERLABEL}
% chapter heads: "4장" / "Chapter 4" over the title; "부록 A" / "Appendix A" in the appendices
\renewcommand{\@makechapterhead}[1]{\vspace*{20pt}{\parindent\z@\raggedright\normalfont\sffamily
  \ifnum\c@secnumdepth>\m@ne{\Large\vaechapterlabel}\par\nobreak\vskip 12pt\fi
  {\huge\bfseries #1}\par\nobreak\vskip 30pt}}
\renewcommand{\@makeschapterhead}[1]{\vspace*{20pt}{\parindent\z@\raggedright\normalfont\sffamily
  {\huge\bfseries #1}\par\nobreak\vskip 30pt}}
% running header (section) and footer (chapter) in the edition's language
\fancypagestyle{normal}{\fancyhf{}
  \fancyfoot[R]{{\py@HeaderFamily\thepage}}
  \fancyfoot[L]{{\py@HeaderFamily\nouppercase{\leftmark}}}
  \fancyhead[L]{{\py@HeaderFamily\nouppercase{\rightmark}}}
  \fancyhead[R]{{\py@HeaderFamily\@title}}
  \renewcommand{\headrulewidth}{0.4pt}\renewcommand{\footrulewidth}{0.4pt}}
\renewcommand{\chaptermark}[1]{\markboth{\ifnum\c@secnumdepth>\m@ne\vaechapterlabel\quad\fi #1}{}}
\renewcommand{\sectionmark}[1]{\markright{\ifnum\c@secnumdepth>\z@\thesection\quad\fi #1}}
\makeatother
\addto\captionsenglish{\renewcommand{\contentsname}{CONTENTS}\renewcommand{\bibname}{BIBLIOGRAPHY}%
  \renewcommand{\appendixname}{APPENDIX}\renewcommand{\figurename}{FIGURE }\renewcommand{\tablename}{TABLE }}
""".replace("CHAPTERLABEL", chapter_label).replace("CONTENTS", w["contents"]).replace(
        "BIBLIOGRAPHY", w["bibliography"]).replace("APPENDIX", w["appendix"]).replace(
        "FIGURE", w["figure"]).replace("TABLE", w["table"])
    return {
        "papersize": "a4paper",
        "pointsize": "10pt",
        "fontpkg": fontpkg,
        "fncychap": "",
        "preamble": preamble,
        "printindex": "",
        "sphinxsetup": "verbatimwrapslines=true, verbatimforcewraps=true",
    }


def pdf_config(lang: str, root: Path = ROOT) -> dict:
    """The Jupyter Book config of the PDF of edition ``lang``."""
    from book import build

    config = build.edition_config(lang, root)
    latex = dict(config.get("latex") or {})
    latex.setdefault("latex_engine", "xelatex")
    latex.setdefault("use_jupyterbook_latex", False)
    latex["latex_documents"] = dict(latex.get("latex_documents") or {}, targetname=f"vae-book-{lang}.tex")
    config["latex"] = latex
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("local_extensions", {})["book.pdf"] = str(root)
    conf = sphinx.setdefault("config", {})
    conf["latex_elements"] = latex_elements(lang)
    conf["vae_pdf_lang"] = lang
    conf["latex_show_urls"] = "no"
    conf["latex_show_pagerefs"] = False
    conf["latex_domain_indices"] = False  # no "Proof Index"
    if os.environ.get("VAE_BOOK_PDF_NO_EXECUTE") == "1":  # development only: layout work without outputs
        config["execute"]["execute_notebooks"] = "off"
    return config


def write_pdf_files(lang: str, root: Path = ROOT, work: Path = WORK) -> tuple[Path, Path]:
    """Write the config and TOC of the PDF of ``lang`` under ``work/<lang>/``."""
    from book import build

    folder = work / lang
    folder.mkdir(parents=True, exist_ok=True)
    cfg, toc = folder / "_config.yml", folder / "_toc.yml"
    header = "# GENERATED by `python -m book pdf` from _config.yml / _toc.yml. Do not edit.\n"
    cfg.write_text(header + yaml.safe_dump(pdf_config(lang, root), allow_unicode=True, sort_keys=False), "utf-8")
    toc.write_text(header + yaml.safe_dump(build.edition_toc(lang, root), allow_unicode=True, sort_keys=False),
                   "utf-8")
    return cfg, toc


# --------------------------------------------------------------------------------------------
# the Sphinx extension (loaded only by the PDF build)

#: Lines of text that must fit below a theorem-like block's header, or it starts on the next page.
KEEP_WITH_HEADER = 6
_MARKERS = ("# BEGIN SOLUTION", "# END SOLUTION")


def strip_solution_markers(doctree) -> int:
    """Drop nbgrader's marker lines from every code block of ``doctree``; returns how many blocks changed."""
    from docutils import nodes

    changed = 0
    for block in list(doctree.findall(nodes.literal_block)):
        text = block.astext()
        lines = text.split("\n")
        kept = [line for line in lines if line.strip() not in _MARKERS]
        if len(kept) != len(lines):
            new = "\n".join(kept)
            block.children = []
            block += nodes.Text(new)
            block.rawsource = new  # (Sphinx's LaTeX writer treats rawsource != text as a parsed literal)
            changed += 1
    return changed


def register_languages() -> None:
    """Tell Sphinx's Babel/polyglossia lookup about Korean: kotex does the Korean typesetting and
    polyglossia stays in English (what Sphinx fell back to, with a warning, before)."""
    from docutils.writers.latex2e import Babel

    Babel.language_codes.setdefault("ko", "english")


def _chapter_number(docname: str) -> int | None:
    m = _CHAPTER_DOC.search(docname)
    return int(m.group(1)) if m else None


def _raw(latex: str):
    from docutils import nodes

    return nodes.raw("", latex + "\n", format="latex")


def _first_text(node):
    from docutils import nodes

    return next(iter(node.findall(nodes.Text)), None)


def _replace_text(node, new: str) -> None:
    """Replace the first text of ``node`` by ``new``."""
    from docutils import nodes

    text = _first_text(node)
    if text is not None:
        text.parent.replace(text, nodes.Text(new))


def _section(title: str, ident: str):
    from docutils import nodes

    section = nodes.section(ids=[ident], names=[])
    section += nodes.title(title, title)
    return section


def _is_cell(node, tag: str | None = None) -> bool:
    from docutils import nodes

    classes = node.get("classes", []) if isinstance(node, nodes.Element) else []
    return "cell" in classes and (tag is None or f"tag_{tag}" in classes)


def _reshape(app, doctree, docname: str) -> None:
    """``doctree-resolved`` of the single LaTeX document (see the module docstring)."""
    from docutils import nodes
    from sphinx import addnodes

    if app.builder.name != "latex" or docname != app.config.root_doc:
        return
    import sphinx_exercise.nodes as ex_nodes
    import sphinx_proof.nodes as prf_nodes

    lang = app.config.vae_pdf_lang or "en"
    w = WORDS[lang]
    root_section = next(iter(doctree.findall(nodes.section)))

    # 1. the documents of the table of contents, in order, out of the front page's sections
    files = [n for n in doctree.findall(addnodes.start_of_file)
             if not any(isinstance(p, addnodes.start_of_file) for p in _ancestors(n))]
    holders = []
    for f in files:
        holders.append(f.parent)
        f.parent.remove(f)
    seen: set[int] = set()
    for holder in holders:  # the "장 목록" / "Chapters" section that held the toctree, now empty
        if id(holder) in seen:
            continue
        seen.add(id(holder))
        section = holder if isinstance(holder, nodes.section) else _closest(holder, nodes.section)
        node = holder
        while node is not section and not node.children and node.parent is not None:
            parent = node.parent
            parent.remove(node)
            node = parent
        if section is not None and section is not root_section and section.parent is not None and all(
                isinstance(c, (nodes.title, nodes.target)) for c in section.children):
            section.parent.remove(section)

    # 2. the front page: an unnumbered preface
    preface = _section(w["preface"], "vae-preface")
    for child in list(root_section.children):
        if not isinstance(child, nodes.title):
            root_section.remove(child)
            preface += child
    root_section += _raw(r"\setcounter{vaesavedsecnumdepth}{\value{secnumdepth}}\setcounter{secnumdepth}{-1}")
    root_section += preface
    root_section += _raw(r"\setcounter{secnumdepth}{\value{vaesavedsecnumdepth}}\setcounter{chapter}{-1}")

    # 3. chapters, numbering, solutions
    labels: dict[str, str] = {}  # exercise / theorem label -> new name ("연습문제 4.3")
    solutions: list[tuple[int, str, str, list]] = []  # (chapter, chapter title, docname, nodes)
    proof_types = _proof_node_classes()
    appendix_started = False
    for f in files:
        number = _chapter_number(f["docname"])
        if number is None and not appendix_started:
            root_section += _raw(r"\appendix\vaeappendixtrue")
            appendix_started = True
            solutions_at = len(root_section.children)
        root_section += f
        if number is None:
            continue
        chapter = next(iter(f.findall(nodes.section)), None)
        chapter_title = ""
        if chapter is not None and isinstance(chapter[0], nodes.title):
            text = _first_text(chapter[0])
            if text is not None:
                text.parent.replace(text, nodes.Text(re.sub(r"^\d+\.\s*", "", str(text))))
            chapter_title = chapter[0].astext()
        k_ex = k_prf = 0
        for node in list(f.findall(nodes.Element)):
            if isinstance(node, ex_nodes.exercise_enumerable_node):
                k_ex += 1
                name = f"{w['exercise']} {number}.{k_ex}"
                labels[node.get("label", "")] = name
                title = node.children[0]
                if isinstance(title, nodes.title) and title.children and isinstance(title[0], nodes.Text):
                    title.replace(title[0], nodes.Text(name))
            elif proof_types and isinstance(node, proof_types):
                k_prf += 1
                realtype = node.get("realtype", "")
                word = PROOF_WORDS[lang].get(realtype, realtype.title())
                node["vae_title"] = f"{word} {number}.{k_prf}"
                labels[node.get("label", "")] = node["vae_title"]
            elif isinstance(node, nodes.admonition) and "proof" in node.get("classes", []):
                # sphinx-proof gives a proof no title (an empty bar in LaTeX) and starts it with
                # "Proof. " in every language: the word becomes the title, in the edition's language
                text = _first_text(node)
                stripped = re.sub(r"^(Proof|증명)\.\s*", "", str(text)) if text is not None else ""
                if text is not None and stripped != str(text):  # (the site's extension may have translated it)
                    text.parent.replace(text, nodes.Text(stripped))
                if not (node.children and isinstance(node[0], nodes.title)):
                    node.insert(0, nodes.title(w["proof"].rstrip("."), w["proof"].rstrip(".")))
        moved: list = []
        for sol in list(f.findall(ex_nodes.solution_node)):
            parent = sol.parent
            group = [sol]
            index = parent.index(sol) + 1
            while index < len(parent.children) and _is_cell(parent[index], "hide-input"):
                group.append(parent[index])
                index += 1
            for node in group:
                parent.remove(node)
            target = sol.get("target_label") or ""
            moved.append((target, group))
            exercise = next((e for e in f.findall(ex_nodes.exercise_enumerable_node) if e.get("label") == target), None)
            if exercise is not None and exercise.parent is not None and sol.get("label"):
                # where the solution is: the label sphinx-exercise's LaTeX visitor gives it
                label = f"{f['docname']}:{sol['label']}"
                page = r"\pageref*{" + label + "}"
                hint = w["solution_at"].format(page=page)
                exercise.parent.insert(exercise.parent.index(exercise) + 1, _raw(
                    r"\par{\small\hfill\hyperref[" + label + "]{" + hint + r"}}\par"))
        if moved:
            solutions.append((number, chapter_title, f["docname"], moved))
    if not appendix_started:
        root_section += _raw(r"\appendix\vaeappendixtrue")
        solutions_at = len(root_section.children)

    # 4. the solutions appendix
    if solutions:
        appendix = _section(w["solutions"], "vae-solutions")
        for number, title, doc, moved in solutions:
            group_section = _section(w["chapter_group"].format(number=number, title=title), f"vae-solutions-{number}")
            holder = addnodes.start_of_file(docname=doc)
            for target, group in moved:
                sol = group[0]
                name = labels.get(target)
                if name and isinstance(sol.children[0], nodes.title):
                    title = sol.children[0]
                    title.children = []
                    title += nodes.Text(w["solution_of"].format(number=name.rsplit(" ", 1)[1]))
                for node in group:
                    holder += node
            group_section += holder
            appendix += group_section
        root_section.insert(solutions_at, appendix)

    # 5. references to exercises and theorems get the new names
    for ref in list(doctree.findall(ex_nodes.exercise_latex_number_reference)):
        name = labels.get(ref.get("refid", ""))
        if name and not ref.get("refexplicit"):
            _replace_text(ref, name)
    for ref in list(doctree.findall(nodes.reference)):
        target = ref.get("refid") or ref.get("refuri", "").rpartition("#")[2]
        name = labels.get(target)
        if name and re.fullmatch(r"\S+ \d+(\.\d+)?", ref.astext().strip()):
            _replace_text(ref, name)

    # 6. hide-input cells show only their output (outside the solutions); no raw HTML
    solutions_section = next((s for s in doctree.findall(nodes.section) if "vae-solutions" in s["ids"]), None)
    in_solutions = set(id(n) for n in solutions_section.findall(nodes.Element)) if solutions_section else set()
    for cell in list(doctree.findall(nodes.container)):
        if _is_cell(cell, "hide-input") and id(cell) not in in_solutions:
            for child in list(cell.children):
                if "cell_input" in child.get("classes", []):
                    cell.remove(child)
    for node in list(doctree.findall(nodes.raw)):
        if "html" in node.get("format", "").split():
            node.parent.remove(node)
    for node in list(doctree.findall(nodes.Element)):
        if "vae-explorable" in node.get("classes", []) and node.parent is not None:
            node.parent.remove(node)

    # 7. each work once in the bibliography
    _deduplicate_citations(doctree)

    # 8. no nbgrader markers in the code shown (the solutions appendix)
    strip_solution_markers(doctree)


def _ancestors(node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _closest(node, cls):
    return next((p for p in _ancestors(node) if isinstance(p, cls)), None)


def _deduplicate_citations(doctree) -> None:
    """Keep the first of identical citations (same label and text); point references to it."""
    from docutils import nodes

    kept: dict[tuple[str, str], nodes.citation] = {}
    renamed: dict[str, str] = {}
    for cit in list(doctree.findall(nodes.citation)):
        label = cit[0].astext() if len(cit) else ""
        key = (label, cit.astext())
        if key in kept:
            first = kept[key]
            for ident in cit["ids"]:
                renamed[(cit.get("docname") or "") + ":" + ident] = (first.get("docname") or "") + ":" + first["ids"][0]
                renamed[ident] = first["ids"][0]
            cit.parent.remove(cit)
            renamed_docs = (cit.get("docname"), first.get("docname"))
            for ident in cit["ids"]:
                renamed.setdefault(f"doc:{ident}", "|".join(str(d) for d in renamed_docs))
        else:
            kept[key] = cit
    if not renamed:
        return
    for ref in doctree.findall(nodes.reference):
        refid = ref.get("refid")
        if refid and refid in renamed:
            ref["refid"] = renamed[refid]
        uri = ref.get("refuri", "")
        if "#" in uri:
            doc, _, frag = uri.rpartition("#")
            full = doc.lstrip("%") + ":" + frag
            if full in renamed:
                new_doc, _, new_frag = renamed[full].rpartition(":")
                ref["refuri"] = ("%" if doc.startswith("%") else "") + new_doc + "#" + new_frag


def _proof_node_classes() -> tuple[type, ...]:
    """sphinx-proof's numbered node classes (theorem_node, definition_node, ...)."""
    import sphinx_proof.nodes as prf_nodes

    return tuple(cls for name, cls in vars(prf_nodes).items() if name.endswith("_node") and isinstance(cls, type)
                 and name not in ("proof_node", "unenumerable_node"))


def _visit_proof(self, node) -> None:
    """As sphinx-proof's LaTeX visitor, with the label in the document being written."""
    import sphinx_proof.nodes as prf_nodes

    # keep the header with the first lines of its block (not alone at the foot of a page)
    self.body.append("\n" + rf"\needspace{{{KEEP_WITH_HEADER}\baselineskip}}" + "\n")
    self.body.append(r"\label{" + f"{self.curfilestack[-1]}:{node.attributes['label']}" + "}")
    self.body.append(prf_nodes.latex_admonition_start)


def _depart_proof(self, node) -> None:
    import sphinx_proof.nodes as prf_nodes

    title = node.get("vae_title")
    if not title:
        return prf_nodes.depart_enumerable_node(self, node)
    idx = prf_nodes.list_rindex(self.body, prf_nodes.latex_admonition_start) + 2
    self.body.insert(idx, title)
    self.body.append(prf_nodes.latex_admonition_end)


def setup(app):
    """Sphinx extension of the PDF build: reshapes the LaTeX document (module docstring)."""
    register_languages()
    app.add_config_value("vae_pdf_lang", "en", "env")
    app.connect("doctree-resolved", _reshape, priority=900)
    for cls in _proof_node_classes():
        app.add_node(cls, override=True, latex=(_visit_proof, _depart_proof))
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------------------------
# command line


def _jupyter_book() -> str:
    candidate = Path(sys.executable).parent / "jupyter-book"
    return str(candidate) if candidate.exists() else "jupyter-book"


def build_pdf(lang: str, root: Path = ROOT, work: Path = WORK, out: Path = PDF_OUT) -> tuple[int, dict[str, float]]:
    """Build the PDF of ``lang``; return the exit status and the time of each step (seconds)."""
    from book import build

    times: dict[str, float] = {}
    cfg, toc = write_pdf_files(lang, root, work)
    latex_dir = work / lang / "_build" / "latex"
    start = time.perf_counter()
    command = [_jupyter_book(), "build", str(root), "--builder", "latex", "--config", str(cfg), "--toc", str(toc),
               "--path-output", str(work / lang)]
    print("$ " + " ".join(command), flush=True)
    status = subprocess.run(command, cwd=root, env=build.book_env()).returncode
    times["sphinx (LaTeX)"] = time.perf_counter() - start
    if status != 0:
        return status, times
    start = time.perf_counter()
    print(f"$ make all-pdf  (in {latex_dir})", flush=True)
    status = subprocess.run(["make", "all-pdf"], cwd=latex_dir, env=dict(os.environ, LATEXMKOPTS="-silent"),
                            stdout=subprocess.DEVNULL).returncode
    times["xelatex (latexmk)"] = time.perf_counter() - start
    name = f"vae-book-{lang}"
    out.mkdir(parents=True, exist_ok=True)
    if (latex_dir / f"{name}.log").is_file():
        shutil.copy2(latex_dir / f"{name}.log", out / f"{name}.log")
    if (latex_dir / f"{name}.pdf").is_file():
        shutil.copy2(latex_dir / f"{name}.pdf", out / f"{name}.pdf")
    elif status == 0:
        status = 1
    return status, times


def missing_characters(log: Path) -> list[str]:
    """The "Missing character" lines of a LaTeX log."""
    return [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
            if "Missing character" in line]


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def main(editions: list[str] | None = None) -> int:
    os.chdir(ROOT)
    for tool in ("xelatex", "latexmk", "make"):
        if shutil.which(tool) is None:
            print(f"python -m book pdf needs {tool}: apt-get install texlive-xetex texlive-lang-korean latexmk "
                  "texlive-latex-extra texlive-fonts-recommended fonts-freefont-otf fonts-dejavu-core fonts-nanum")
            return 2
    from book import build

    if build.invalidate_cache_if_library_changed():  # as the site build does: no stale outputs
        print("vae_lib changed: jupyter-cache cleared")
    failed = []
    for lang in editions or LANGUAGES:
        start = time.perf_counter()
        status, times = build_pdf(lang)
        total = time.perf_counter() - start
        pdf = PDF_OUT / f"vae-book-{lang}.pdf"
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
        if status != 0 or not pdf.is_file():
            failed.append(lang)
            print(f"\n{lang}: FAILED (exit {status}; {steps}); LaTeX log: {WORK / lang / '_build' / 'latex'}")
            continue
        missing = missing_characters(PDF_OUT / f"vae-book-{lang}.log")
        print(f"\n{lang}: {pdf} ({page_count(pdf)} pages) in {total:.1f} s ({steps}); "
              f"{len(missing)} missing-character warning(s)")
        for line in missing[:10]:
            print(f"  {line}")
    return 1 if failed else 0
