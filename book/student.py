"""Student and instructor editions of the chapter notebooks: ``python -m book student``.

Writes, for each edition ``<lang>`` (``ko``, ``en``):

* ``_build/student/<lang>/NN_*.ipynb``: what a student gets. Every ``{solution}`` block is removed
  from the markdown; in each coding exercise's *solution cell* (tag ``exercise-solution``) the lines
  between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (nbgrader's markers) are replaced by
  ``raise NotImplementedError("<Exercise 4.3 (ex-ch04-3)>: ...")`` at the same indentation; other
  code that belongs to a solution (``hide-input`` code cells that follow a ``{solution}`` block and
  are not an exercise's check) is removed; the *check cells* (tag ``exercise-check``) are kept, so
  the student runs them and reads which part is wrong. No outputs, no execution counts.
* ``_build/instructor/<lang>/NN_*.ipynb``: the chapters as written, with every solution, outputs
  cleared.
* ``_build/student/README.md``: one launch link per notebook, e.g.
  ``https://colab.research.google.com/github/<owner>/<repo>/blob/student/ko/04_kl_divergence.ipynb``
  (:func:`colab_url`), valid once the student edition is published on the branch ``student``:
  ``python -m book student --publish student`` commits ``_build/student`` to that branch of this
  repository without touching the working tree or the index (:func:`publish_branch`); then
  ``git push origin student``.

The convention a coding exercise follows in the chapters (see CONTRIBUTING.md): after its
``{exercise}`` (whose text contains "(Coding)" / "(코딩)") and ``{solution}`` markdown come a code
cell tagged ``exercise-solution`` with the markers, and right after it a code cell tagged
``exercise-check`` with the asserts. :func:`convention_problems` lists every departure from it.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
BUILD = Path(os.environ.get("VAE_BOOK_BUILD_DIR") or ROOT / "_build").resolve()
LANGUAGES = ("ko", "en")
#: Branch that ``--publish`` writes and that the launch links point to.
STUDENT_BRANCH = "student"

SOLUTION_TAG = "exercise-solution"
CHECK_TAG = "exercise-check"
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
CODING_MARK = {"ko": "(코딩)", "en": "(Coding)"}
EXERCISE_WORD = {"ko": "연습문제", "en": "Exercise"}
#: The stub's message; ``{name}`` is "Exercise 4.3 (ex-ch04-3)", ``{what}`` what to write.
STUB_MESSAGE = {
    "ko": "{name}: {what} 직접 작성한 뒤 바로 아래의 확인 셀을 실행하세요.",
    "en": "{name}: write {what}, then run the check cell right below.",
}
WHAT_FUNCTION = {"ko": "함수 {fn}의 본문을", "en": "the body of {fn}"}
WHAT_CODE = {"ko": "이 셀에서 빠진 부분을", "en": "the missing part of this cell"}
#: Longest line of a generated stub (the chapters' code style).
MAX_COLUMNS = 88

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_LABEL_OPT = re.compile(r"^\s*:label:\s*(\S+)\s*$")
_CHAPTER_FILE = re.compile(r"^(\d\d)_.*\.ipynb$")


# --------------------------------------------------------------------------------------------
# notebook helpers


def chapter_notebooks(lang: str, chapters: Path = CHAPTERS) -> list[Path]:
    """``chapters/<lang>/NN_*.ipynb``, sorted."""
    return sorted((chapters / lang).glob("[0-9][0-9]_*.ipynb"))


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def cell_tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def load_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _set_source(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


# --------------------------------------------------------------------------------------------
# MyST directives in markdown


@dataclass
class Directive:
    """One fenced MyST directive: lines ``start`` .. ``end`` (inclusive) of the markdown."""

    name: str
    argument: str
    start: int
    end: int
    label: str | None
    body: str


def directives(markdown: str, name: str | None = None) -> list[Directive]:
    """The top-level fenced directives (```` ```{name} ```` or ``:::{name}``) of ``markdown``.

    A directive ends at the first later line made of the same fence character, at least as long
    as the opening fence and nothing else; nested directives with shorter fences stay inside.
    """
    lines = markdown.splitlines()
    found: list[Directive] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m.group("fence")
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        body_lines = lines[i + 1 : j]
        label = next((lm.group(1) for lm in map(_LABEL_OPT.match, body_lines) if lm), None)
        if name is None or m.group("name") == name:
            found.append(Directive(m.group("name"), m.group("arg").strip(), i, min(j, len(lines) - 1), label,
                                   "\n".join(body_lines)))
        i = j + 1
    return found


def remove_directives(markdown: str, name: str) -> str:
    """``markdown`` without its ``{name}`` directives; runs of blank lines left behind collapse to one."""
    lines = markdown.splitlines()
    drop: set[int] = set()
    for d in directives(markdown, name):
        drop.update(range(d.start, d.end + 1))
    kept = [line for k, line in enumerate(lines) if k not in drop]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return text + ("\n" if markdown.endswith("\n") and text else "")


# --------------------------------------------------------------------------------------------
# exercises of a notebook


@dataclass
class Exercise:
    """One ``{exercise}`` of a chapter and the cells that belong to it."""

    label: str
    text: str
    coding: bool
    markdown_cell: int
    solutions: list[str] = field(default_factory=list)  # bodies of its {solution} blocks
    solution_cell: int | None = None  # index of the exercise-solution code cell
    check_cell: int | None = None  # index of the exercise-check code cell

    def number(self) -> str:
        """``ex-ch04-3`` → ``4.3`` (chapter number without the leading zero, exercise number)."""
        m = re.fullmatch(r"ex-ch(\d+)-(\w+)", self.label)
        return f"{int(m.group(1))}.{m.group(2)}" if m else self.label

    def display_name(self, lang: str) -> str:
        return f"{EXERCISE_WORD[lang]} {self.number()} ({self.label})"


def is_coding(text: str) -> bool:
    return any(mark in text for mark in CODING_MARK.values())


def exercises(nb: dict) -> list[Exercise]:
    """Every exercise of a notebook, with its solution text and its solution / check cells.

    A code cell tagged ``exercise-solution`` belongs to the last exercise whose ``{exercise}`` or
    ``{solution}`` block came before it; a cell tagged ``exercise-check`` belongs to the
    exercise whose solution cell is the code cell right before it.
    """
    found: dict[str, Exercise] = {}
    last: str | None = None
    previous_code: int | None = None
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            text = cell_source(cell)
            for d in directives(text):
                if d.name == "exercise" and d.label:
                    found[d.label] = Exercise(d.label, d.body, is_coding(d.body), index)
                    last = d.label
                elif d.name == "solution":
                    target = d.argument.split()[0] if d.argument else None
                    if target in found:
                        found[target].solutions.append(d.body)
                        last = target
            continue
        if cell["cell_type"] != "code":
            continue
        tags = cell_tags(cell)
        if SOLUTION_TAG in tags and last in found and found[last].solution_cell is None:
            found[last].solution_cell = index
        if CHECK_TAG in tags:
            for ex in found.values():
                if ex.solution_cell is not None and ex.solution_cell == previous_code and ex.check_cell is None:
                    ex.check_cell = index
        previous_code = index
    return list(found.values())


def solution_regions(code: str) -> list[tuple[int, int]]:
    """``(begin, end)`` line indices of each ``# BEGIN SOLUTION`` … ``# END SOLUTION`` pair.

    Raises ``ValueError`` on an unmatched or nested marker.
    """
    regions: list[tuple[int, int]] = []
    begin: int | None = None
    for k, line in enumerate(code.splitlines()):
        stripped = line.strip()
        if stripped == BEGIN:
            if begin is not None:
                raise ValueError(f"line {k + 1}: {BEGIN!r} inside another solution region")
            begin = k
        elif stripped == END:
            if begin is None:
                raise ValueError(f"line {k + 1}: {END!r} without {BEGIN!r}")
            regions.append((begin, k))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin + 1}: {BEGIN!r} without {END!r}")
    return regions


def _enclosing_function(code: str, begin: int) -> str | None:
    """Name of the innermost ``def`` whose body contains line ``begin`` (0-based) of ``code``."""
    try:
        tree = _parse(code)
    except SyntaxError:
        return None
    best: tuple[int, str] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            if node.lineno < begin + 1 <= (node.end_lineno or 0) and (best is None or node.lineno > best[0]):
                best = (node.lineno, node.name)
    return best[1] if best else None


def stub_message(exercise: Exercise, lang: str, function: str | None) -> str:
    what = WHAT_FUNCTION[lang].format(fn=function) if function else WHAT_CODE[lang]
    return STUB_MESSAGE[lang].format(name=exercise.display_name(lang), what=what)


def stub_code(code: str, exercise: Exercise, lang: str) -> str:
    """``code`` with each marked region replaced by ``raise NotImplementedError("...")``."""
    lines = code.splitlines()
    regions = solution_regions(code)
    if not regions:
        raise ValueError(f"{exercise.label}: the {SOLUTION_TAG} cell has no {BEGIN!r} … {END!r} region")
    out: list[str] = []
    position = 0
    for begin, end in regions:
        out.extend(lines[position:begin])
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        message = stub_message(exercise, lang, _enclosing_function(code, begin))
        out.extend(_raise_lines(indent, message))
        position = end + 1
    out.extend(lines[position:])
    return "\n".join(out) + ("\n" if code.endswith("\n") else "")


def _raise_lines(indent: str, message: str) -> list[str]:
    """``raise NotImplementedError("message")``, wrapped to :data:`MAX_COLUMNS` columns."""
    quoted = json.dumps(message, ensure_ascii=False)
    one_line = f"{indent}raise NotImplementedError({quoted})"
    if len(one_line) <= MAX_COLUMNS:
        return [one_line]
    width = MAX_COLUMNS - len(indent) - 4 - 2
    chunks = textwrap.wrap(message, width=width, break_long_words=False, break_on_hyphens=False)
    chunks = [c + " " for c in chunks[:-1]] + chunks[-1:]
    return ([f"{indent}raise NotImplementedError("]
            + [f"{indent}    {json.dumps(c, ensure_ascii=False)}" for c in chunks] + [f"{indent})"])


def solution_code(code: str) -> list[str]:
    """The lines strictly between the markers (what the student has to write)."""
    lines = code.splitlines()
    return [line for begin, end in solution_regions(code) for line in lines[begin + 1 : end]]


# --------------------------------------------------------------------------------------------
# checks of the convention


def convention_problems(lang: str, chapters: Path = CHAPTERS) -> list[str]:
    """Every departure from the coding-exercise convention in edition ``lang`` (empty if none)."""
    problems: list[str] = []
    for path in chapter_notebooks(lang, chapters):
        nb = load_notebook(path)
        where = f"{lang}/{path.name}"
        exs = exercises(nb)
        owned = {ex.solution_cell for ex in exs} | {ex.check_cell for ex in exs}
        for ex in exs:
            if ex.coding and ex.solution_cell is None:
                problems.append(f"{where} {ex.label}: coding exercise without a code cell tagged {SOLUTION_TAG!r}")
                continue
            if ex.solution_cell is None:
                continue
            code = cell_source(nb["cells"][ex.solution_cell])
            try:
                if not solution_regions(code):
                    problems.append(f"{where} {ex.label}: {SOLUTION_TAG} cell without {BEGIN!r} … {END!r}")
            except ValueError as err:
                problems.append(f"{where} {ex.label}: {err}")
            if ex.check_cell is None:
                problems.append(f"{where} {ex.label}: no cell tagged {CHECK_TAG!r} right after the solution cell")
            if not ex.coding:
                problems.append(f"{where} {ex.label}: has a {SOLUTION_TAG} cell but its text lacks {CODING_MARK[lang]!r}")
        for index, cell in enumerate(nb["cells"]):
            tags = cell_tags(cell)
            if (SOLUTION_TAG in tags or CHECK_TAG in tags) and index not in owned:
                problems.append(f"{where} cell {index}: tagged {tags} but not attached to an exercise")
            if cell["cell_type"] == "code" and CHECK_TAG in tags and "check" not in tags:
                problems.append(f"{where} cell {index}: {CHECK_TAG} cell without the 'check' tag")
    return problems


def labels(lang: str, coding_only: bool = False, chapters: Path = CHAPTERS) -> dict[str, list[str]]:
    """``{notebook name: [exercise labels]}`` of edition ``lang``."""
    return {
        path.name: [ex.label for ex in exercises(load_notebook(path)) if ex.coding or not coding_only]
        for path in chapter_notebooks(lang, chapters)
    }


# --------------------------------------------------------------------------------------------
# the two editions


def _clear_outputs(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def hidden_solution_cells(nb: dict) -> set[int]:
    """Code cells that belong to a written solution and are not part of a coding exercise.

    These are the ``hide-input`` code cells after a markdown cell that holds a ``{solution}``
    block, up to the next markdown cell, apart from ``exercise-solution`` / ``exercise-check``
    cells (which the student edition keeps, stubbed).
    """
    hidden: set[int] = set()
    after_solution = False
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            after_solution = bool(directives(cell_source(cell), "solution"))
            continue
        tags = cell_tags(cell)
        if after_solution and cell["cell_type"] == "code" and "hide-input" in tags and not (
            {SOLUTION_TAG, CHECK_TAG} & set(tags)
        ):
            hidden.add(index)
    return hidden


def student_notebook(nb: dict, lang: str) -> dict:
    """The student copy of a chapter notebook (see the module docstring)."""
    exs = {ex.solution_cell: ex for ex in exercises(nb) if ex.solution_cell is not None}
    hidden = hidden_solution_cells(nb)
    out = _clear_outputs(nb)
    cells = []
    for index, cell in enumerate(out["cells"]):
        if index in hidden:
            continue
        if cell["cell_type"] == "markdown":
            text = cell_source(cell)
            if directives(text, "solution"):
                text = remove_directives(text, "solution")
                if not text.strip():
                    continue
                _set_source(cell, text)
        elif index in exs:
            _set_source(cell, stub_code(cell_source(cell), exs[index], lang))
        cells.append(cell)
    out["cells"] = cells
    return out


def instructor_notebook(nb: dict) -> dict:
    """The instructor copy: the chapter as written (every solution), outputs cleared."""
    return _clear_outputs(nb)


def _write_notebook(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Colab launch links and publishing


def repository(root: Path = ROOT) -> tuple[str, str]:
    """``(repository.url, repository.branch)`` from ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    return str(repo["url"]), str(repo.get("branch", "main"))


def colab_url(repository_url: str, branch: str, path: str) -> str:
    """The one-click Colab link of notebook ``path`` on ``branch`` of a GitHub repository.

    ``colab_url("https://github.com/o/r", "student", "ko/04_kl.ipynb")`` →
    ``https://colab.research.google.com/github/o/r/blob/student/ko/04_kl.ipynb``.
    """
    parsed = urlparse(repository_url.strip())
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.netloc.lower() not in {"github.com", "www.github.com"} or len(parts) != 2:
        raise ValueError(f"Colab opens notebooks from GitHub only: {repository_url!r} is not https://github.com/<owner>/<repo>")
    owner, name = parts[0], parts[1].removesuffix(".git")
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"bad branch name {branch!r}")
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{path.lstrip('/')}"


def launch_readme(names: dict[str, list[str]], repository_url: str, branch: str) -> str:
    """``README.md`` of the published student edition: one Colab link per notebook."""
    lines = [
        "# Student edition / 학생판",
        "",
        "Generated by `python -m book student`. Each notebook has the exercises without their solutions;",
        "run the check cell under each coding exercise to see which part is wrong.",
        "각 노트북에는 해답을 뺀 연습문제가 있습니다. 코딩 연습문제 아래의 확인 셀을 실행하면 어느 부분이 틀렸는지 알려 줍니다.",
        "",
    ]
    for lang, files in names.items():
        lines += [f"## {'한국어' if lang == 'ko' else 'English'}", "", "| notebook | Colab |", "|---|---|"]
        for name in files:
            url = colab_url(repository_url, branch, f"{lang}/{name}")
            lines.append(f"| `{lang}/{name}` | [Open in Colab]({url}) |")
        lines.append("")
    return "\n".join(lines)


def write_editions(out: Path = BUILD, chapters: Path = CHAPTERS, languages=LANGUAGES,
                   root: Path = ROOT, branch: str = STUDENT_BRANCH) -> dict[str, object]:
    """Write ``out/student/<lang>/`` and ``out/instructor/<lang>/``; return a summary."""
    summary: dict[str, object] = {"notebooks": {}, "stubs": {}, "problems": []}
    names: dict[str, list[str]] = {}
    for kind in ("student", "instructor"):
        for lang in languages:
            if (out / kind / lang).exists():
                shutil.rmtree(out / kind / lang)
    for lang in languages:
        paths = chapter_notebooks(lang, chapters)
        names[lang] = [p.name for p in paths]
        stubs = 0
        for path in paths:
            nb = load_notebook(path)
            stubs += sum(1 for ex in exercises(nb) if ex.solution_cell is not None)
            _write_notebook(student_notebook(nb, lang), out / "student" / lang / path.name)
            _write_notebook(instructor_notebook(nb), out / "instructor" / lang / path.name)
        summary["notebooks"][lang] = len(paths)  # type: ignore[index]
        summary["stubs"][lang] = stubs  # type: ignore[index]
        summary["problems"] += convention_problems(lang, chapters)  # type: ignore[operator]
    url, _ = repository(root)
    (out / "student" / "README.md").write_text(launch_readme(names, url, branch), encoding="utf-8")
    return summary


def publish_branch(folder: Path, branch: str, repo: Path = ROOT, message: str | None = None) -> str:
    """Commit the contents of ``folder`` as the whole tree of ``branch`` in git repository ``repo``.

    Uses a temporary index and git plumbing (``write-tree``, ``commit-tree``, ``update-ref``), so
    neither the working tree nor the index of ``repo`` changes. The branch's previous commit, if
    any, is the parent. Returns the new commit's id. Push it with ``git push origin <branch>``.
    """
    folder = Path(folder).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))

        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                                  text=True).stdout.strip()

        git("--work-tree", str(folder), "add", "--all", "--force", ".")
        tree = git("write-tree")
        parent = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo,
                                capture_output=True, text=True).stdout.strip()
        args = ["commit-tree", tree, "-m", message or "Student edition (python -m book student)"]
        if parent:
            args += ["-p", parent]
        commit = git(*args)
        git("update-ref", f"refs/heads/{branch}", commit)
    return commit


# --------------------------------------------------------------------------------------------
# which earlier cells an exercise needs (used by tests/test_student.py)


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name a cell binds anywhere (assignments, defs, imports, loop targets, arguments)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a cell defines for later cells (its top-level bindings)."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    break
    return names


def _parse(code: str) -> ast.Module:
    # IPython magics and shell escapes are not Python: blank them out for the analysis
    cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())
    return ast.parse(cleaned)


def free_names(code: str) -> set[str]:
    """Names a cell reads but neither binds nor gets from the builtins (over-approximated)."""
    tree = _parse(code)
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - _bound_names(tree) - set(dir(builtins)) - {"display", "get_ipython"}


def _is_setup_cell(tree: ast.Module) -> bool:
    """Imports, possibly with bare calls (``use_korean_font()``, ``torch.manual_seed(0)``): always run."""
    return any(isinstance(s, (ast.Import, ast.ImportFrom)) for s in tree.body) and all(
        isinstance(s, (ast.Import, ast.ImportFrom)) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call))
        for s in tree.body
    )


def prefix_cells(nb: dict, targets: list[int]) -> list[int]:
    """Indices of the earlier code cells needed to run the cells ``targets``, in notebook order.

    Always: the ``colab-setup`` and ``lang`` cells, and the set-up cells (imports, bare calls)
    before the first target; never the hidden solution cells (:func:`hidden_solution_cells`). Then, transitively, for every name a needed cell reads and does not
    bind, the latest earlier code cell that binds it at top level. A cell tagged
    ``exercise-needs-prefix`` among the targets asks for every earlier code cell instead.
    """
    first = min(targets)
    hidden = hidden_solution_cells(nb)  # not in the student edition: never needed
    code_cells = [i for i in range(first) if nb["cells"][i]["cell_type"] == "code" and i not in hidden]
    if any("exercise-needs-prefix" in cell_tags(nb["cells"][t]) for t in targets):
        return code_cells
    trees = {i: _parse(cell_source(nb["cells"][i])) for i in code_cells}
    needed = {i for i in code_cells if {"colab-setup", "lang"} & set(cell_tags(nb["cells"][i])) or _is_setup_cell(trees[i])}
    todo: list[tuple[str, int]] = []
    for t in targets:
        todo += [(name, t) for name in free_names(cell_source(nb["cells"][t]))]
    for i in needed:
        todo += [(name, i) for name in free_names(cell_source(nb["cells"][i]))]
    seen: set[tuple[str, int]] = set()
    while todo:
        name, before = todo.pop()
        if (name, before) in seen:
            continue
        seen.add((name, before))
        for i in reversed([c for c in code_cells if c < before]):
            if name in _top_level_names(trees[i]):
                if i not in needed:
                    needed.add(i)
                    todo += [(n, i) for n in free_names(cell_source(nb["cells"][i]))]
                break
    return sorted(needed)


# --------------------------------------------------------------------------------------------
# grading a submitted notebook


def grade(path: Path, timeout: int = 900) -> dict[str, str]:
    """Run a submitted student notebook from top to bottom and read its check cells.

    The notebook is executed in a fresh kernel with errors allowed (nothing is written back).
    Returns ``{exercise label: "passed" or the first line of the error of its check cell}``
    for every coding exercise of the notebook. A check cell passes only if it ran without an
    error, so a stub left in place (NotImplementedError) or a wrong part (AssertionError with
    its message) counts as not solved.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    results: dict[str, str] = {}
    for ex in exercises(nb):
        if ex.check_cell is None:
            continue
        error = next((o for o in nb.cells[ex.check_cell].get("outputs", []) if o.get("output_type") == "error"), None)
        results[ex.label] = "passed" if error is None else (f"{error['ename']}: {error['evalue']}".splitlines() or [""])[0]
    return results


def grade_main(paths: list[Path], csv_path: Path | None = None) -> int:
    """``python -m book grade``: grade each notebook, print a table, optionally write a CSV."""
    import csv

    rows: list[tuple[str, str, str]] = []
    for path in paths:
        results = grade(path)
        solved = sum(r == "passed" for r in results.values())
        print(f"{path}: {solved}/{len(results)} coding exercises pass their checks")
        for label, result in results.items():
            print(f"  {label:12s} {result[:120]}")
            rows.append((str(path), label, result))
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["notebook", "exercise", "result"])
            writer.writerows(rows)
        print(f"written: {csv_path}")
    return 0


# --------------------------------------------------------------------------------------------
# command line


def main(out: Path | None = None, publish: str | None = None, strict: bool = False) -> int:
    out = Path(out or BUILD)
    summary = write_editions(out)
    for lang in LANGUAGES:
        print(f"{lang}: {summary['notebooks'][lang]} notebooks, {summary['stubs'][lang]} coding exercises stubbed"  # type: ignore[index]
              f"  → {out / 'student' / lang}, {out / 'instructor' / lang}")
    print(f"launch links: {out / 'student' / 'README.md'}")
    problems = summary["problems"]
    if problems:
        print(f"\n{len(problems)} departure(s) from the coding-exercise convention (their solution code is left out "  # type: ignore[arg-type]
              "of the student edition entirely):")
        for p in problems:  # type: ignore[union-attr]
            print(f"  {p}")
    if publish:
        commit = publish_branch(out / "student", publish)
        print(f"\npublished {out / 'student'} as branch {publish!r} ({commit[:12]}); now: git push origin {publish}")
    return 1 if strict and problems else 0
