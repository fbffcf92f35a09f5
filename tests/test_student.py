"""The student and instructor editions (``python -m book student``, book/student.py).

* every "(Coding)" / "(코딩)" exercise follows the convention (solution cell with nbgrader's
  markers, check cell right after it), and both editions have the same exercises;
* for every coding exercise, executed in a fresh kernel namespace with only the earlier cells it
  needs (:func:`book.student.prefix_cells`): the reference solution passes its check, and the stub
  as distributed in the student edition fails it with a message that names the exercise (executed
  in the Korean edition; the English twin is compared with it cell by cell, see :data:`EXECUTED`);
* no solution text (``{solution}`` blocks, code between the markers, hidden solution cells)
  survives in the student notebooks, which carry no outputs;
* the Colab launch links and the publishing of the student edition as a branch.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from book import student

ROOT = Path(__file__).resolve().parent.parent
LANGS = student.LANGUAGES


# ------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def editions(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("editions")
    student.write_editions(out)
    return out


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def _code(text: str, tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "metadata": {"tags": tags or []}, "source": text.splitlines(keepends=True),
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "old output"}], "execution_count": 3}


def _toy_notebook() -> dict:
    """A small chapter with one written and one coding exercise, following the convention."""
    cells = [
        _code("import sys\n", ["remove-cell", "colab-setup"]),
        _code('LANG = "en"\nTEXT = {"x": "x"}\n', ["lang", "remove-cell"]),
        _md("# 04. Toy\n"),
        _code("import math\n"),
        _code("SCALE = 2.0\nunused = math.sqrt(SCALE)\n"),
        _code("expensive = sum(range(10))  # a cell the exercise does not need\n"),
        _md("## Exercises\n\n```{exercise}\n:label: ex-ch04-1\n\nProve it.\n```\n\n"
            "```{solution} ex-ch04-1\n:class: dropdown\n\nThe secret written argument goes here.\n```\n"),
        _code("print('hidden written-solution code, not a coding exercise')\n", ["hide-input", "check"]),
        _md("````{exercise}\n:label: ex-ch04-2\n\n(Coding) Write `double`.\n````\n\n"
            "````{solution} ex-ch04-2\n:class: dropdown\n\nMultiply by the secret SCALE constant.\n````\n"),
        _code('def double(x: float) -> float:\n    """2 x."""\n    # BEGIN SOLUTION\n'
              "    y = x * SCALE\n    return y\n    # END SOLUTION\n", ["hide-input", "exercise-solution"]),
        _code('assert double(3.0) == 6.0, "double: multiply by SCALE"\n', ["hide-input", "check", "exercise-check"]),
        _md("## Summary\n"),
    ]
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index}"
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


# ------------------------------------------------------------------------------------------
# unit tests of the transformation


def test_directives_with_nested_and_colon_fences() -> None:
    text = ("before\n````{solution} ex-ch01-1\n:class: dropdown\n\n```{math}\nx\n```\nafter math\n````\n"
            ":::{solution} ex-ch01-2\nbody\n:::\nend\n")
    found = student.directives(text, "solution")
    assert [d.argument for d in found] == ["ex-ch01-1", "ex-ch01-2"]
    assert "after math" in found[0].body
    assert student.remove_directives(text, "solution") == "before\nend\n"


def test_stub_replaces_each_region_at_its_indentation() -> None:
    ex = student.Exercise("ex-ch04-3", "(Coding)", True, 0)
    code = ("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n\n"
            "def g(y):\n    z = 1\n    # BEGIN SOLUTION\n    return y + z\n    # END SOLUTION\n")
    stub = student.stub_code(code, ex, "ko")
    assert "return x" not in stub and "return y + z" not in stub and "z = 1" in stub
    assert all(len(line) <= student.MAX_COLUMNS for line in stub.splitlines())
    raises = [n for n in ast.walk(ast.parse(stub)) if isinstance(n, ast.Raise)]
    messages = [n.exc.args[0].value for n in raises]  # the (implicitly concatenated) string
    assert len(raises) == 2 and all(n.col_offset == 4 and n.exc.func.id == "NotImplementedError" for n in raises)
    assert messages[0] == "연습문제 4.3 (ex-ch04-3): 함수 f의 본문을 직접 작성한 뒤 바로 아래의 확인 셀을 실행하세요."
    assert "함수 g의 본문을" in messages[1]
    assert "Exercise 4.3 (ex-ch04-3): write the body of f," in student.stub_code(code, ex, "en")


@pytest.mark.parametrize("code", ["# BEGIN SOLUTION\nx = 1\n", "x = 1\n# END SOLUTION\n",
                                  "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "x = 1\n"])
def test_bad_markers_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        student.stub_code(code, student.Exercise("ex-ch01-1", "(Coding)", True, 0), "en")


def test_toy_notebook_student_and_instructor() -> None:
    nb = _toy_notebook()
    exs = student.exercises(nb)
    assert [(e.label, e.coding, e.solution_cell, e.check_cell) for e in exs] == [
        ("ex-ch04-1", False, None, None), ("ex-ch04-2", True, 9, 10)]
    out = student.student_notebook(nb, "en")
    text = "".join(student.cell_source(c) for c in out["cells"])
    assert "secret" not in text and "hidden written-solution" not in text and "x * SCALE" not in text
    assert "{solution}" not in text and student.BEGIN not in text
    assert '"Exercise 4.2 (ex-ch04-2): write the body of double, then run the check cell "' in text
    assert "{exercise}" in text and "double: multiply by SCALE" in text  # exercise and check kept
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in out["cells"] if c["cell_type"] == "code")
    teacher = student.instructor_notebook(nb)
    assert [student.cell_source(c) for c in teacher["cells"]] == [student.cell_source(c) for c in nb["cells"]]
    assert all(c["outputs"] == [] for c in teacher["cells"] if c["cell_type"] == "code")


def test_prefix_cells_follow_the_names_used() -> None:
    nb = _toy_notebook()
    # colab + lang always, the import cell (set-up), the SCALE cell (a name the solution reads);
    # not the unrelated cell 5 nor the hidden cell 7
    assert student.prefix_cells(nb, [9, 10]) == [0, 1, 3, 4]
    nb["cells"][9]["metadata"]["tags"].append("exercise-needs-prefix")
    assert student.prefix_cells(nb, [9, 10]) == [0, 1, 3, 4, 5]


def test_colab_url() -> None:
    assert student.colab_url("https://github.com/vae-book/vae-book", "student", "ko/04_kl.ipynb") == (
        "https://colab.research.google.com/github/vae-book/vae-book/blob/student/ko/04_kl.ipynb")
    assert student.colab_url("https://github.com/o/r.git/", "main", "/en/a.ipynb") == (
        "https://colab.research.google.com/github/o/r/blob/main/en/a.ipynb")
    for bad in ("https://gitlab.com/o/r", "https://github.com/o"):
        with pytest.raises(ValueError):
            student.colab_url(bad, "main", "a.ipynb")


def test_launch_links_use_the_configured_repository(editions: Path) -> None:
    url, _ = student.repository()
    readme = (editions / "student" / "README.md").read_text(encoding="utf-8")
    for lang in LANGS:
        for path in student.chapter_notebooks(lang):
            assert student.colab_url(url, student.STUDENT_BRANCH, f"{lang}/{path.name}") in readme
            assert (editions / "student" / lang / path.name).is_file()
            assert (editions / "instructor" / lang / path.name).is_file()


def test_publish_branch_leaves_worktree_and_index_alone(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True, text=True).stdout  # noqa: E731
    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (repo / "a.txt").write_text("a\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "a")
    folder = tmp_path / "student"
    (folder / "ko").mkdir(parents=True)
    (folder / "ko" / "x.ipynb").write_text("{}\n")
    first = student.publish_branch(folder, "student", repo)
    (folder / "ko" / "x.ipynb").write_text('{"v": 2}\n')
    second = student.publish_branch(folder, "student", repo)
    assert git("ls-tree", "-r", "--name-only", "student").split() == ["ko/x.ipynb"]
    assert git("show", "student:ko/x.ipynb") == '{"v": 2}\n'
    assert git("rev-parse", "student^").strip() == first and git("rev-parse", "student").strip() == second
    assert git("status", "--porcelain") == "" and git("branch", "--show-current").strip() == "main"


def test_cli_help_and_student_command(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    helptext = subprocess.run([sys.executable, "-m", "book", "--help"], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=True).stdout
    assert "--quiet" not in helptext and "student" in helptext and "pdf" in helptext
    done = subprocess.run([sys.executable, "-m", "book", "student", "--out", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "student" / "README.md").is_file()
    assert len(list((tmp_path / "student" / "ko").glob("*.ipynb"))) == len(student.chapter_notebooks("ko"))


# ------------------------------------------------------------------------------------------
# the chapters


@pytest.mark.parametrize("lang", LANGS)
def test_every_coding_exercise_follows_the_convention(lang: str) -> None:
    problems = student.convention_problems(lang)
    assert not problems, f"{len(problems)} departure(s) from the coding-exercise convention:\n" + "\n".join(problems)


def test_both_editions_have_the_same_exercises() -> None:
    for coding_only in (False, True):
        ko, en = student.labels("ko", coding_only), student.labels("en", coding_only)
        assert ko == en, {name: (ko.get(name), en.get(name)) for name in set(ko) | set(en) if ko.get(name) != en.get(name)}
    converted = {lang: {(p.name, e.label) for p in student.chapter_notebooks(lang)
                        for e in student.exercises(student.load_notebook(p)) if e.solution_cell is not None}
                 for lang in LANGS}
    assert converted["ko"] == converted["en"], converted["ko"] ^ converted["en"]


def _check_cells() -> list[tuple[str, str, int]]:
    return [(lang, p.name, e.check_cell) for lang in LANGS for p in student.chapter_notebooks(lang)
            for e in student.exercises(student.load_notebook(p)) if e.check_cell is not None]


def test_every_assert_of_a_check_cell_says_what_is_wrong() -> None:
    missing = []
    for lang, name, index in _check_cells():
        code = student.cell_source(student.load_notebook(ROOT / "chapters" / lang / name)["cells"][index])
        for node in ast.walk(student._parse(code)):
            if isinstance(node, ast.Assert) and node.msg is None:
                missing.append(f"{lang}/{name} cell {index} line {node.lineno}")
    assert not missing, "asserts without a message in exercise-check cells:\n" + "\n".join(missing)


def check_cell_language_problems() -> list[str]:
    """Check cells of coding exercises that a student of the edition cannot read as intended (issue 19):
    an assert whose message is a tuple (printed as a Python tuple), a plain ``assert`` (its message is
    not in ``TEXT``, so English in the Korean edition), or no ``passed(...)`` line."""
    problems = []
    for lang, name, index in _check_cells():
        cell = student.load_notebook(ROOT / "chapters" / lang / name)["cells"][index]
        code = student.cell_source(cell)
        where = f"{lang}/{name} cell {index} (id {cell.get('id')})"
        tree = student._parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                kind = "a tuple message" if isinstance(node.msg, ast.Tuple) else "a plain assert"
                problems.append(f"{where} line {node.lineno}: {kind}; use check(cond, TEXT[...], **values)")
        calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        if "passed" not in calls:
            problems.append(f"{where}: no passed(label) line")
    return problems


def test_check_cells_speak_the_editions_language_and_say_passed() -> None:
    problems = check_cell_language_problems()
    assert not problems, "\n".join(problems)


def test_the_language_test_catches_a_tuple_message(monkeypatch) -> None:
    """The test above can fail, and passes on a converted cell."""
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "id": "x",
                     "source": "assert a < b, ('differs from torch', a, b)\n"}]}
    monkeypatch.setattr(student, "load_notebook", lambda path: nb)
    monkeypatch.setattr(sys.modules[__name__], "_check_cells", lambda: [("ko", "04_x.ipynb", 0)])
    assert any("a tuple message" in p for p in check_cell_language_problems())
    nb["cells"][0]["source"] = 'check(a < b, TEXT["kl"], a=a, b=b)\npassed("ex-ch04-3")\n'
    assert check_cell_language_problems() == []


def _significant(lines, elsewhere: str) -> list[str]:
    """Lines long enough to be telling that do not occur in the kept part of the source."""
    out = []
    for line in lines:
        s = line.strip()
        if len(s) >= 12 and s not in elsewhere and not s.startswith((":class:", "```", ":::")):
            out.append(s)
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_no_solution_text_in_the_student_edition(lang: str, editions: Path) -> None:
    leaks = []
    for path in student.chapter_notebooks(lang):
        nb = student.load_notebook(path)
        given = student.load_notebook(editions / "student" / lang / path.name)
        given_text = "\n".join(student.cell_source(c) for c in given["cells"])
        assert "{solution" not in given_text and student.BEGIN not in given_text and student.END not in given_text
        assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
                   for c in given["cells"] if c["cell_type"] == "code"), path.name
        # what the source says outside its solutions: lines found there may legitimately reappear
        hidden = student.hidden_solution_cells(nb)
        kept, secret = [], []
        for index, cell in enumerate(nb["cells"]):
            src = student.cell_source(cell)
            if index in hidden:
                secret += src.splitlines()
            elif cell["cell_type"] == "markdown":
                kept.append(student.remove_directives(src, "solution"))
                secret += [line for d in student.directives(src, "solution") for line in d.body.splitlines()]
            elif "exercise-solution" in student.cell_tags(cell):
                lines = src.splitlines()
                inside = set()
                for begin, end in student.solution_regions(src):
                    inside.update(range(begin, end + 1))
                    secret += lines[begin + 1:end]
                kept.append("\n".join(line for k, line in enumerate(lines) if k not in inside))
            else:
                kept.append(src)
        elsewhere = "\n".join(kept)
        for line in _significant(secret, elsewhere):
            if line in given_text:
                leaks.append(f"{lang}/{path.name}: {line[:80]}")
    assert not leaks, "solution text in the student edition:\n" + "\n".join(leaks)


# ------------------------------------------------------------------------------------------
# executing each coding exercise: reference passes, stub fails with a helpful message


class Kernel:
    """A Jupyter kernel (this environment's python3) that runs code and reports the error, if any."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client.manager import start_new_kernel

        env = dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))  # this vae_lib
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env, startup_timeout=120,
                                            extra_arguments=["--IPKernelApp.log_level=ERROR"])

    def run(self, code: str, timeout: float = 900) -> tuple[str, str] | None:
        """Execute ``code``; ``None`` if it succeeded, else ``(exception name, message)``."""
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None, allow_stdin=False)
        content = reply["content"]
        return (content["ename"], content["evalue"]) if content["status"] == "error" else None

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


SNAPSHOT = "_vae_snapshot = dict(globals())"
RESTORE = "(lambda saved: (globals().clear(), globals().update(saved)))(_vae_snapshot)"


def run_exercises(nb: dict, given: dict, lang: str, cwd: Path) -> list[str]:
    """Run every converted coding exercise of ``nb`` (source) and ``given`` (student copy).

    For each exercise, in one kernel: ``%reset -f``; the prefix cells; a snapshot of the
    namespace; the reference solution and check (must pass); the namespace restored; the stub
    from the student copy and the check (must fail with NotImplementedError naming the exercise,
    or an AssertionError with a message). Returns the failures as sentences.
    """
    failures: list[str] = []
    stubs = {e.label: e for e in student.exercises(given) if e.solution_cell is not None}
    todo = [e for e in student.exercises(nb) if e.solution_cell is not None and e.check_cell is not None]
    if not todo:
        return failures
    kernel = Kernel(cwd)
    try:
        for ex in todo:
            name = ex.display_name(lang)
            kernel.run("%reset -f")
            for index in student.prefix_cells(nb, [ex.solution_cell, ex.check_cell]):
                error = kernel.run(student.cell_source(nb["cells"][index]))
                if error:
                    failures.append(f"{name}: prefix cell {index} failed: {error[0]}: {error[1][:300]}")
                    break
            else:
                assert kernel.run(SNAPSHOT) is None
                for index, what in ((ex.solution_cell, "reference solution"), (ex.check_cell, "check")):
                    error = kernel.run(student.cell_source(nb["cells"][index]))
                    if error:
                        failures.append(f"{name}: the {what} failed with the reference solution: {error[0]}: "
                                        f"{error[1][:300]} (if it needs earlier cells that define no name it reads, "
                                        "tag its solution cell 'exercise-needs-prefix')")
                        break
                assert kernel.run(RESTORE) is None
                stub = stubs.get(ex.label)
                if stub is None or stub.check_cell is None:
                    failures.append(f"{name}: no stub or no check cell in the student edition")
                    continue
                error = kernel.run(student.cell_source(given["cells"][stub.solution_cell]))
                error = error or kernel.run(student.cell_source(given["cells"][stub.check_cell]))
                if error is None:
                    failures.append(f"{name}: the check passes with the stub: it does not test the student's code")
                elif error[0] == "NotImplementedError":
                    if ex.label not in error[1]:
                        failures.append(f"{name}: NotImplementedError without the exercise's name: {error[1][:200]}")
                elif error[0] != "AssertionError" or not error[1].strip():
                    failures.append(f"{name}: the stub fails with {error[0]}: {error[1][:200]!r}, "
                                    "not with a NotImplementedError or an AssertionError that says what is wrong")
    finally:
        kernel.close()
    return failures


def test_toy_exercise_reference_passes_and_stub_fails(tmp_path: Path) -> None:
    nb = _toy_notebook()
    given = student.student_notebook(nb, "en")
    assert run_exercises(nb, given, "en", tmp_path) == []
    # a check that does not call the student's function is caught
    broken = _toy_notebook()
    broken["cells"][10]["source"] = ["assert 2 * 3.0 == 6.0, 'always true'\n"]
    failures = run_exercises(broken, student.student_notebook(broken, "en"), "en", tmp_path)
    assert len(failures) == 1 and "passes with the stub" in failures[0]


#: Editions whose coding exercises are executed (``VAE_BOOK_STUDENT_EDITIONS=ko,en`` for both). The
#: twins' code is identical apart from the ``lang`` cell and comments (tests/test_parity.py), so by default
#: only the Korean edition (the source) runs; the other one is compared with it statically below.
EXECUTED = tuple(e for e in os.environ.get("VAE_BOOK_STUDENT_EDITIONS", "ko").split(",") if e)


def _converted() -> list[tuple[str, str]]:
    return [(lang, p.name) for lang in EXECUTED for p in student.chapter_notebooks(lang)
            if any(e.solution_cell is not None for e in student.exercises(student.load_notebook(p)))]


def _without_raise(code: str) -> str:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            node.exc = ast.Name("STUB", ast.Load())
    return ast.dump(tree)


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang not in EXECUTED])
def test_stubs_of_the_other_edition_match_the_executed_one(lang: str) -> None:
    """Same prefix, solution and check code as the executed edition; the stub's message in this language."""
    from book_support import strip_comments

    source_lang = EXECUTED[0]
    problems = []
    for path in student.chapter_notebooks(lang):
        nb, twin = student.load_notebook(path), student.load_notebook(ROOT / "chapters" / source_lang / path.name)
        mine = {e.label: e for e in student.exercises(nb) if e.solution_cell is not None}
        theirs = {e.label: e for e in student.exercises(twin) if e.solution_cell is not None}
        given, twin_given = student.student_notebook(nb, lang), student.student_notebook(twin, source_lang)
        stubs = {e.label: e for e in student.exercises(given) if e.solution_cell is not None}
        twin_stubs = {e.label: e for e in student.exercises(twin_given) if e.solution_cell is not None}
        for label, ex in mine.items():
            other = theirs.get(label)
            if other is None:
                problems.append(f"{path.name} {label}: not a converted exercise in {source_lang}")
                continue
            pairs = [(ex.solution_cell, other.solution_cell), (ex.check_cell, other.check_cell)]
            pairs += list(zip(student.prefix_cells(nb, [ex.solution_cell, ex.check_cell]),
                              student.prefix_cells(twin, [other.solution_cell, other.check_cell])))
            for a, b in pairs:
                if a is None or b is None:
                    continue
                cell_a, cell_b = nb["cells"][a], twin["cells"][b]
                if "lang" in student.cell_tags(cell_a):
                    continue
                if strip_comments(student.cell_source(cell_a)) != strip_comments(student.cell_source(cell_b)):
                    problems.append(f"{path.name} {label}: cell {a} differs from {source_lang} cell {b}")
            stub = student.cell_source(given["cells"][stubs[label].solution_cell])
            twin_stub = student.cell_source(twin_given["cells"][twin_stubs[label].solution_cell])
            if _without_raise(stub) != _without_raise(twin_stub):
                problems.append(f"{path.name} {label}: the stub differs from the {source_lang} stub")
            messages = "".join(n.exc.args[0].value for n in ast.walk(ast.parse(stub)) if isinstance(n, ast.Raise))
            if ex.display_name(lang) not in messages:
                problems.append(f"{path.name} {label}: the stub's message does not name {ex.display_name(lang)!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("lang", "name"), _converted())
def test_reference_passes_and_stub_fails(lang: str, name: str) -> None:
    path = ROOT / "chapters" / lang / name
    nb = student.load_notebook(path)
    given = student.student_notebook(nb, lang)
    failures = run_exercises(nb, given, lang, path.parent)
    assert not failures, "\n".join(failures)


def _doctored(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """The toy chapter as the instructor's source (3 points for its coding exercise) and submissions."""
    nb = _toy_notebook()
    nb["cells"][10]["metadata"]["points"] = 3
    source = tmp_path / "chapters"
    (source / "en").mkdir(parents=True)
    (source / "en" / "04_toy.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    def student_copy(solved: bool) -> tuple[dict, int, int]:
        copy_ = student.instructor_notebook(nb) if solved else student.student_notebook(nb, "en")
        ex = next(e for e in student.exercises(copy_) if e.label == "ex-ch04-2")
        return copy_, ex.solution_cell, ex.check_cell

    subs: dict[str, dict] = {}
    subs["solved"] = student_copy(True)[0]
    subs["stub"] = student_copy(False)[0]
    wrong, sol, _ = student_copy(True)
    wrong["cells"][sol]["source"] = [line.replace("x * SCALE", "x + SCALE") for line in wrong["cells"][sol]["source"]]
    subs["wrong"] = wrong
    deleted, _, chk = student_copy(False)
    del deleted["cells"][chk]
    subs["deleted"] = deleted
    emptied, _, chk = student_copy(False)
    emptied["cells"][chk]["source"] = ["pass\n"]
    subs["pass"] = emptied
    edited, _, chk = student_copy(False)
    edited["cells"][chk]["source"] = ['assert double(3.0) == double(3.0), "double: multiply by SCALE"\n']
    subs["edited"] = edited
    moved, _, chk = student_copy(False)
    moved["cells"].insert(3, moved["cells"].pop(chk))
    subs["moved"] = moved
    untagged, sol, chk = student_copy(True)  # a correct solution whose tags and check cell are gone
    untagged["cells"][sol]["metadata"]["tags"] = []
    del untagged["cells"][chk]
    subs["untagged"] = untagged
    paths = {}
    for name, sub in subs.items():
        paths[name] = tmp_path / f"{name}.ipynb"
        paths[name].write_text(json.dumps(sub), encoding="utf-8")
    return source, paths


def test_grade_uses_the_instructors_checks_so_it_cannot_be_gamed(tmp_path: Path) -> None:
    source, paths = _doctored(tmp_path)
    graded = {name: {r["label"]: r for r in student.grade(path, source=source)} for name, path in paths.items()}
    for name, rows in graded.items():  # every exercise of the chapter appears, written ones too
        assert list(rows) == ["ex-ch04-1", "ex-ch04-2"], name
        assert rows["ex-ch04-1"]["kind"] == "written" and rows["ex-ch04-1"]["points"] is None
        assert rows["ex-ch04-2"]["points"] == 3
    ex = {name: rows["ex-ch04-2"] for name, rows in graded.items()}
    assert ex["solved"]["result"] == "passed" and ex["solved"]["score"] == 3 and ex["solved"]["note"] == ""
    assert ex["stub"]["result"].startswith("NotImplementedError: Exercise 4.2 (ex-ch04-2)")
    assert ex["wrong"]["result"] == "AssertionError: double: multiply by SCALE" and ex["wrong"]["score"] == 0
    for name, note in (("deleted", "deleted"), ("pass", "edited"), ("edited", "edited"), ("moved", "moved")):
        assert ex[name]["result"].startswith("NotImplementedError: Exercise 4.2"), (name, ex[name])
        assert ex[name]["score"] == 0 and note in ex[name]["note"], (name, ex[name])
    assert ex["untagged"]["result"] == "passed", "the solution cell is found by its code; the check is the instructor's"


def test_grade_command_bad_paths_are_one_line_and_the_csv_keeps_the_rest(tmp_path: Path) -> None:
    source, paths = _doctored(tmp_path)
    text_file = tmp_path / "README.md"
    text_file.write_text("# not a notebook\n")
    csv_path = tmp_path / "grades.csv"
    done = subprocess.run([sys.executable, "-m", "book", "grade", str(paths["solved"]), str(tmp_path / "nope.ipynb"),
                           str(text_file), str(paths["stub"]), "--csv", str(csv_path), "--source", str(source)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    errors = done.stderr.strip().splitlines()
    assert errors == [f"error: {tmp_path / 'nope.ipynb'}: no such file",
                      f"error: {text_file}: not a Jupyter notebook (Notebook does not appear to be JSON: '# not a notebook\\n')"] \
        or (len(errors) == 2 and errors[0].endswith("no such file") and "not a Jupyter notebook" in errors[1]), errors
    import csv

    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert {r["notebook"] for r in rows} == {str(paths["solved"]), str(paths["stub"])}
    totals = {r["notebook"]: (r["score"], r["points"]) for r in rows if r["exercise"] == "total"}
    assert totals == {str(paths["solved"]): ("3", "3"), str(paths["stub"]): ("0", "3")}
    assert f"{paths['solved']}: 3/3 points" in done.stdout


@pytest.mark.parametrize("args", [["nope.ipynb"], ["README.md"]])
def test_grade_bad_path_alone_is_one_clean_line(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "book", "grade", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith(f"error: {args[0]}: ")


def test_grade_finds_the_source_chapter_of_a_real_student_notebook() -> None:
    for lang in LANGS:
        path = student.chapter_notebooks(lang)[4]
        given = student.student_notebook(student.load_notebook(path), lang)
        assert student.instructor_source(given, Path("alice.ipynb")) == path
        runnable, rows = student.grading_notebook(given, student.load_notebook(path))
        coding = [r for r in rows if r["kind"] == "coding"]
        assert coding and all(r["result"] is None for r in coding), "every solution cell is found"
        assert sum("book_grader" in c["metadata"] for c in runnable["cells"]) == len(coding)
