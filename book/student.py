"""Student and instructor editions of the chapter notebooks: ``python -m book student``.

Writes, for each edition ``<lang>`` (``ko``, ``en``):

* ``_build/student/<lang>/NN_*.ipynb``: what a student gets. Every ``{solution}`` block is removed
  from the markdown; in each coding exercise's *solution cell* (tag ``exercise-solution``) the lines
  between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (nbgrader's markers) are replaced by
  ``raise NotImplementedError("<Exercise 4.3 (ex-ch04-3)>: ...")`` at the same indentation; other
  code that belongs to a solution (``hide-input`` code cells that follow a ``{solution}`` block and
  are not an exercise's check) is removed; the *check cells* (tag ``exercise-check``) are kept, so
  the student runs them and reads which part is wrong; each ends with ``passed("ex-ch04-3")``
  (:func:`check_code_with_passed`), which prints "✓ 연습 4.3 통과" / "✓ Exercise 4.3 passed" once the
  checks above it held. No outputs, no execution counts.
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


def check_code_with_passed(code: str, label: str) -> str:
    """A check cell that ends by saying so: ``passed("ex-ch04-3")`` (vae_lib.exercises) is appended
    unless the cell calls ``passed`` already; it prints "✓ 연습 4.3 통과" / "✓ Exercise 4.3 passed"
    in the notebook's ``LANG`` once every check above it held."""
    if re.search(r"\bpassed\(", code):
        return code
    body = code.rstrip("\n")
    return (body + "\n" if body else "") + f"from vae_lib.exercises import passed  # noqa: E402\n\npassed({label!r})\n"


def student_notebook(nb: dict, lang: str) -> dict:
    """The student copy of a chapter notebook (see the module docstring)."""
    all_ex = exercises(nb)
    exs = {ex.solution_cell: ex for ex in all_ex if ex.solution_cell is not None}
    checks = {ex.check_cell: ex for ex in all_ex if ex.check_cell is not None}
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
        elif index in checks:
            _set_source(cell, check_code_with_passed(cell_source(cell), checks[index].label))
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


class GradeError(Exception):
    """A submission that cannot be graded; the message is one line that says why."""


#: Points of a coding exercise whose check cell carries none (metadata ``points`` or ``nbgrader.points``).
DEFAULT_POINTS = 1.0
_LANG_LINE = re.compile(r"""^\s*LANG\s*=\s*["'](\w+)["']""", re.M)
_LABEL_CHAPTER = re.compile(r"\bex-ch(\d\d)-")
_HANGUL = re.compile("[\uac00-\ud7a3]")


def check_points(cell: dict) -> float:
    """Points of a coding exercise, read from its check cell's metadata in the instructor's source."""
    meta = cell.get("metadata", {})
    value = meta.get("points", meta.get("nbgrader", {}).get("points", DEFAULT_POINTS))
    try:
        points = float(value)
    except (TypeError, ValueError):
        return DEFAULT_POINTS
    return points if points >= 0 else DEFAULT_POINTS


def submission_language(nb: dict) -> str:
    """The edition of a submission: its ``LANG = "..."`` line, else Hangul in its markdown."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            m = _LANG_LINE.search(cell_source(cell))
            if m and m.group(1) in LANGUAGES:
                return m.group(1)
    text = "".join(cell_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    return "ko" if _HANGUL.search(text) else "en"


def instructor_source(nb: dict, path: Path, chapters: Path = CHAPTERS) -> Path:
    """The chapter notebook of the instructor's source that ``nb`` (read from ``path``) was made from.

    The chapter comes from the exercise labels in the submission (``ex-ch04-…``), else from the
    file name (``04_…``); the edition from :func:`submission_language`. ``chapters`` may also be
    one notebook (the source itself).
    """
    chapters = Path(chapters)
    if chapters.is_file():
        return chapters
    text = "".join(cell_source(c) for c in nb["cells"])
    numbers = _LABEL_CHAPTER.findall(text)
    number = max(set(numbers), key=numbers.count) if numbers else None
    if number is None:
        m = re.match(r"(\d\d)_", path.name)
        number = m.group(1) if m else None
    if number is None:
        raise GradeError("cannot tell which chapter this is (no exercise label ex-chNN-… and no NN_ file name); "
                         "pass --source CHAPTER.ipynb")
    lang = submission_language(nb)
    found = sorted((chapters / lang).glob(f"{number}_*.ipynb"))
    if not found:
        raise GradeError(f"no chapter {number} in {chapters / lang} to take the checks from")
    return found[0]


def _frame_lines(code: str) -> list[str]:
    """Lines of a solution cell outside its solution regions (what a student does not write)."""
    lines = code.splitlines()
    try:
        inside = {k for b, e in solution_regions(code) for k in range(b, e + 1)}
    except ValueError:
        inside = set()
    return [ln.strip() for k, ln in enumerate(lines) if k not in inside and ln.strip()
            and not ln.strip().startswith("#")]


def _find_solution_cell(sub: dict, label: str, frame: list[str], tagged: dict[str, int], used: set[int]) -> int | None:
    """Index of the submission's code cell that holds the student's solution of ``label``."""
    if label in tagged and tagged[label] not in used:
        return tagged[label]
    for index, cell in enumerate(sub["cells"]):
        if cell["cell_type"] != "code" or index in used:
            continue
        code = cell_source(cell)
        stripped = {ln.strip() for ln in code.splitlines()}
        if f"({label})" in code or (frame and all(line in stripped for line in frame)):
            return index
    return None


def _check_note(sub: dict, sub_ex: Exercise | None, source_check: str, label: str) -> str:
    """What happened to the check cell in the submission (empty if it is there, unchanged)."""
    given = {source_check.strip(), check_code_with_passed(source_check, label).strip()}  # as in the student edition
    mine = cell_source(sub["cells"][sub_ex.check_cell]) if sub_ex and sub_ex.check_cell is not None else None
    if mine is not None and mine.strip() in given:
        return ""
    elsewhere = any(c["cell_type"] == "code" and cell_source(c).strip() in given for c in sub["cells"])
    if elsewhere:
        return "check cell moved in the submission"
    return "check cell edited in the submission" if mine is not None else "check cell deleted in the submission"


def grading_notebook(sub: dict, source: dict) -> tuple[dict, list[dict]]:
    """The notebook that grading executes, and one row per exercise of the source.

    The submission's cells run in their order, without any check cell of its own (cells tagged
    ``exercise-check`` and verbatim copies of a source check); right after the cell that holds
    each coding exercise's solution comes the **instructor's** check cell of that exercise,
    marked ``metadata.book_grader``. Rows: ``label``, ``kind`` (coding / written), ``points``
    (max), ``note``; a coding exercise whose solution cell is not found gets its result now.
    """
    src_ex = exercises(source)
    sub_ex = {ex.label: ex for ex in exercises(sub)}
    tagged = {label: ex.solution_cell for label, ex in sub_ex.items() if ex.solution_cell is not None}
    source_checks = set()
    for ex in src_ex:
        if ex.check_cell is not None:
            code = cell_source(source["cells"][ex.check_cell])
            source_checks |= {code.strip(), check_code_with_passed(code, ex.label).strip()}
    rows: list[dict] = []
    inject: dict[int, list[dict]] = {}
    used: set[int] = set()
    for ex in src_ex:
        if ex.solution_cell is None or ex.check_cell is None:
            rows.append({"label": ex.label, "kind": "written", "points": None,
                         "result": "written answer: read it", "note": ""})
            continue
        check = source["cells"][ex.check_cell]
        row = {"label": ex.label, "kind": "coding", "points": check_points(check), "result": None,
               "note": _check_note(sub, sub_ex.get(ex.label), cell_source(check), ex.label)}
        rows.append(row)
        frame = _frame_lines(cell_source(source["cells"][ex.solution_cell]))
        where = _find_solution_cell(sub, ex.label, frame, tagged, used)
        if where is None:
            row["result"] = "no solution cell found in the submission"
            continue
        used.add(where)
        cell = copy.deepcopy(check)
        cell["outputs"], cell["execution_count"], cell["source"] = [], None, cell_source(check)
        cell.setdefault("metadata", {})["book_grader"] = ex.label
        cell.pop("id", None)
        inject.setdefault(where, []).append(cell)
    cells = []
    for index, cell in enumerate(sub["cells"]):
        if cell["cell_type"] == "code" and (CHECK_TAG in cell_tags(cell) or cell_source(cell).strip() in source_checks):
            continue
        cells.append(cell)
        cells.extend(inject.get(index, []))
    out = copy.deepcopy(sub)
    out["cells"] = [copy.deepcopy(c) for c in cells]
    for k, cell in enumerate(out["cells"]):
        cell["id"] = f"grade-{k}"
    return out, rows


def grade(path: Path, timeout: int = 900, source: Path | None = None) -> list[dict]:
    """Grade a submitted student notebook against the instructor's checks.

    The submission runs top to bottom in a fresh kernel (errors allowed, nothing written back),
    with the checks taken from the instructor's source (:func:`instructor_source`, or ``source``:
    a chapters folder or the chapter notebook itself) and placed right after each exercise's
    solution cell (:func:`grading_notebook`): a deleted, emptied, edited or moved check cell in the
    submission changes nothing. Returns one row per exercise of the chapter, in the source's order:
    ``label``, ``kind``, ``result`` ("passed" or the first line of the error), ``points`` (max),
    ``score``, ``note``. Raises :class:`GradeError` with a one-line reason for a path that is
    not a gradable notebook.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.exists():
        raise GradeError("no such file")
    if path.is_dir():
        raise GradeError("a folder, not a notebook (give the .ipynb files, e.g. submissions/*.ipynb)")
    try:
        sub = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        if not isinstance(sub.get("cells"), list):
            raise ValueError("no cells")
    except (UnicodeDecodeError, ValueError, KeyError, AttributeError, TypeError) as err:
        reason = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise GradeError(f"not a Jupyter notebook ({reason})") from None
    except OSError as err:
        raise GradeError(f"cannot be read ({err.strerror or err})") from None
    src_path = instructor_source(sub, path, source or CHAPTERS)
    runnable, rows = grading_notebook(sub, load_notebook(src_path))
    if not any(r["kind"] == "coding" for r in rows):
        return _score(rows)
    nb = nbformat.from_dict(runnable)
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no "running over TCP" note per kernel
                   resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    results = {}
    for cell in nb.cells:
        label = cell.get("metadata", {}).get("book_grader")
        if label:
            error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            results[label] = "passed" if error is None else (f"{error['ename']}: {error['evalue']}".splitlines() or [""])[0]
    for row in rows:
        if row["kind"] == "coding" and row["result"] is None:
            row["result"] = results.get(row["label"], "the check did not run")
    return _score(rows)


def _score(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["score"] = None if row["points"] is None else (row["points"] if row["result"] == "passed" else 0.0)
    return rows


def _fmt(points: float | None) -> str:
    return "" if points is None else f"{points:g}"


def grade_main(paths: list[Path], csv_path: Path | None = None, source: Path | None = None) -> int:
    """``python -m book grade``: grade each notebook, print a table, write the CSV of all that could be graded.

    A path that cannot be graded gives one line ``error: PATH: why`` and the others go on; the
    exit status is then 1. The CSV has one row per exercise and a ``total`` row per notebook.
    """
    import csv
    import sys

    if csv_path:  # before the (long) grading: the CSV's folder must exist and be writable
        folder = Path(csv_path).resolve().parent
        if Path(csv_path).is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
            print(f"error: cannot write the CSV to {csv_path} (not a writable file path); nothing graded",
                  file=sys.stderr)
            return 2
    header = ["notebook", "exercise", "kind", "result", "score", "points", "note"]
    rows: list[list[str]] = []
    bad = 0
    for path in paths:
        try:
            graded = grade(path, source=source)
        except GradeError as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            bad += 1
            continue
        except Exception as err:  # a kernel that died, a timeout: one line, then the next notebook
            print(f"error: {path}: could not be run ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})",
                  file=sys.stderr)
            bad += 1
            continue
        coding = [r for r in graded if r["kind"] == "coding"]
        score, total = sum(r["score"] for r in coding), sum(r["points"] for r in coding)
        print(f"{path}: {_fmt(score)}/{_fmt(total)} points; {sum(r['result'] == 'passed' for r in coding)}/"
              f"{len(coding)} coding exercises pass the instructor's checks; "
              f"{len(graded) - len(coding)} written answer(s) to read")
        for r in graded:
            pts = f"{_fmt(r['score'])}/{_fmt(r['points'])}" if r["kind"] == "coding" else "-"
            print(f"  {r['label']:12s} {pts:>7s}  {r['result'][:110]}" + (f"  [{r['note']}]" if r["note"] else ""))
            rows.append([str(path), r["label"], r["kind"], r["result"], _fmt(r["score"]), _fmt(r["points"]), r["note"]])
        rows.append([str(path), "total", "", "", _fmt(score), _fmt(total), ""])
    if csv_path:
        try:
            with open(csv_path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
        except OSError as err:
            print(f"error: cannot write {csv_path}: {err.strerror or err}", file=sys.stderr)
            return 1
        print(f"written: {csv_path} ({len(paths) - bad} notebook(s))")
    return 1 if bad else 0


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
