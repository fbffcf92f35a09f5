"""``python -m book sweep``: run the chapters under other random streams.

A learner on Colab's GPU, or with another torch or numpy build, draws other random numbers than
CI does. Every seed of a chapter is written ``book_seed(n)`` (``vae_lib.seeds``), which adds
``10_000 * o`` when ``VAE_BOOK_SEED_OFFSET=o``. This command executes chapters under one or more
offsets (in parallel, one kernel per core), and prints a table per chapter: runs, passes, and
every failing check with the offsets it failed under. It also audits the seeds: with an offset
o > 0, a seed below ``10_000 * o`` given to ``torch.manual_seed``, ``torch.Generator.manual_seed``,
``numpy.random.default_rng``/``seed``/``RandomState`` or ``random.seed`` (or no seed at all) did not
pass through ``book_seed``, and the run fails with the seed and the cell that drew it.

  python -m book sweep                                   # every chapter, both editions, offsets 1-3
  python -m book sweep --chapter 05 --chapter 11 --offsets 1-20 --edition ko
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
REPORT = ROOT / "_build" / "sweep.md"
AUDIT_MARK = "__BOOK_SEED_AUDIT__"

#: Runs before the chapter's first cell: records every seed given to the seeding functions.
AUDIT_SETUP = r'''
import functools as _ft, random as _random, sys as _sys
import numpy as _np, torch as _torch
from vae_lib.seeds import SEED_STRIDE as _STRIDE, seed_offset as _seed_offset
_AUDIT = {"low": _STRIDE * _seed_offset(), "bad": []}

def _audit(name, seed, depth=2):
    # only the chapter's own cells and vae_lib choose seeds (libraries draw their own)
    caller = _sys._getframe(depth).f_code.co_filename
    if _AUDIT["low"] == 0 or not ("ipykernel_" in caller or "vae_lib" in caller):
        return
    cell = _audit_cell[0]
    if seed is None:
        _AUDIT["bad"].append(f"cell {cell}: {name}() without a seed")
    elif isinstance(seed, (int, _np.integer)) and int(seed) < _AUDIT["low"]:
        _AUDIT["bad"].append(f"cell {cell}: {name}({int(seed)}) not from book_seed")

def _wrap(module, name, label):
    original = getattr(module, name)
    @_ft.wraps(original)
    def wrapper(seed=None, *args, **kwargs):
        _audit(label, seed)
        return original(seed, *args, **kwargs)
    setattr(module, name, wrapper)

class _AuditedGenerator(_torch.Generator):
    def manual_seed(self, seed):
        _audit("torch.Generator.manual_seed", seed)
        return super().manual_seed(seed)

_audit_cell = [0]
_torch.Generator = _AuditedGenerator
_wrap(_torch, "manual_seed", "torch.manual_seed")
_wrap(_np.random, "default_rng", "numpy.random.default_rng")
_wrap(_np.random, "seed", "numpy.random.seed")
_wrap(_random, "seed", "random.seed")
class _AuditedRandomState(_np.random.RandomState):
    def __init__(self, seed=None):
        _audit("numpy.random.RandomState", seed)
        super().__init__(seed)
_np.random.RandomState = _AuditedRandomState
'''
AUDIT_REPORT = 'import json as _json; print("' + AUDIT_MARK + '" + _json.dumps(_AUDIT["bad"][:20]))'


@dataclass
class Run:
    """One chapter, one edition, one offset."""

    notebook: str  # chapters/<lang>/NN_name.ipynb, relative to the repository
    offset: int
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)  # "cell 12: AssertionError: message"

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def chapter(self) -> str:
        return Path(self.notebook).name[:2]

    @property
    def edition(self) -> str:
        return Path(self.notebook).parent.name


def parse_offsets(spec: str) -> list[int]:
    """'1-5,8' -> [1, 2, 3, 4, 5, 8]; offsets are whole numbers >= 0."""
    offsets: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"--offsets {spec!r}: write whole numbers and ranges, e.g. 1-20 or 1,4,9")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise ValueError(f"--offsets {spec!r}: the range {part} is empty")
        offsets.extend(range(first, last + 1))
    return sorted(set(offsets))


def chapter_notebooks(editions: list[str], chapters: list[str] | None) -> list[Path]:
    """The chapter notebooks of these editions, optionally only chapters 'NN'."""
    found = []
    for lang in editions:
        for path in sorted((CHAPTERS / lang).glob("[0-9][0-9]_*.ipynb")):
            if chapters is None or path.name[:2] in chapters:
                found.append(path)
    return found


def _error_line(output: dict) -> str:
    value = str(output.get("evalue", "")).strip().splitlines()
    return f"{output.get('ename', 'Error')}: {value[0][:160] if value else ''}".rstrip(": ")


def run_chapter(notebook: str, offset: int, threads: int, timeout: int) -> Run:
    """Execute one notebook with ``VAE_BOOK_SEED_OFFSET=offset``; collect every error and the seed audit."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["VAE_BOOK_SEED_OFFSET"] = str(offset)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    path = ROOT / notebook
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    # the audit knows which cell draws a seed: each chapter cell first sets _audit_cell[0]
    instrumented = [nbformat.v4.new_code_cell(AUDIT_SETUP)]
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            instrumented.append(nbformat.v4.new_code_cell(f"_audit_cell[0] = {index}"))
        instrumented.append(cell)
    instrumented.append(nbformat.v4.new_code_cell(AUDIT_REPORT))
    nb.cells = instrumented
    run = Run(notebook=notebook, offset=offset)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        # the kernel's own stderr is only its start-up chatter ("running over TCP without
        # encryption", once per kernel); errors of the chapter arrive as error outputs
        client.execute(stderr=subprocess.DEVNULL)
    except Exception as exc:  # a dead kernel or a timeout: the run failed, say how
        run.failures.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}")
    run.seconds = time.perf_counter() - start
    chapter_index = {id(cell): i for i, cell in enumerate(cells)}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = chapter_index.get(id(cell))
                prefix = f"cell {where}: " if where is not None else ""
                run.failures.append(prefix + _error_line(output))
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            if AUDIT_MARK in text:
                bad = json.loads(text.split(AUDIT_MARK, 1)[1].strip().splitlines()[0])
                run.failures.extend(f"seed audit: {line}" for line in bad)
    return run


def summarize(runs: list[Run]) -> str:
    """A Markdown table per chapter and edition: runs, passes, failing checks with their offsets."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.chapter, run.edition)].append(run)
    offsets = sorted({run.offset for run in runs})
    lines = [f"Seed sweep: offsets {_ranges(offsets)} ({len(offsets)} offsets), {len(runs)} runs, "
             f"{sum(r.passed for r in runs)} passed.", "",
             "| chapter | edition | runs | passed | mean time | failing checks (offsets) |",
             "|---|---|---:|---:|---:|---|"]
    for (chapter, edition), group in sorted(groups.items()):
        failing: dict[str, list[int]] = defaultdict(list)
        for run in group:
            for failure in dict.fromkeys(run.failures):
                failing[failure].append(run.offset)
        text = "; ".join(f"{f.replace('|', '/')} ({_ranges(sorted(o))})" for f, o in failing.items()) or "none"
        mean = sum(r.seconds for r in group) / len(group)
        lines.append(f"| {chapter} | {edition} | {len(group)} | {sum(r.passed for r in group)} | "
                     f"{mean:.0f} s | {text} |")
    return "\n".join(lines) + "\n"


def _ranges(values: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)


def _expected_seconds(path: Path) -> float:
    """Longest first balances the pool: last build's time, else the file size as a proxy."""
    report = ROOT / "_build" / "nbval_times.txt"
    if report.is_file():
        for line in report.read_text(encoding="utf-8").splitlines():
            if line.strip().endswith(str(path.relative_to(ROOT))):
                return float(line.split()[0])
    return path.stat().st_size / 10_000


def main(editions: list[str] | None, chapters: list[str] | None, offsets: str, jobs: int | None,
         timeout: int, report: Path | None) -> int:
    try:
        offset_list = parse_offsets(offsets)
    except ValueError as exc:
        print(f"sweep: {exc}", file=sys.stderr)
        return 2
    editions = editions or ["ko", "en"]
    if chapters is not None:
        chapters = [c.zfill(2) for c in chapters]
    notebooks = chapter_notebooks(editions, chapters)
    if not notebooks:
        print(f"sweep: no chapter notebook matches --chapter {' '.join(chapters or [])} in {', '.join(editions)}",
              file=sys.stderr)
        return 2
    shared = ROOT.parent / "shared" / "data"
    if not os.environ.get("VAE_LIB_DATA") and shared.is_dir():
        os.environ["VAE_LIB_DATA"] = str(shared)  # as the tests do (conftest.py)
    cores = os.cpu_count() or 1
    jobs = max(1, jobs or cores)
    threads = max(1, cores // jobs)
    notebooks.sort(key=_expected_seconds, reverse=True)
    work = [(str(p.relative_to(ROOT)), o) for o in offset_list for p in notebooks]
    print(f"sweep: {len(notebooks)} notebook(s) x {len(offset_list)} offset(s) = {len(work)} runs, "
          f"{jobs} at a time, {threads} thread(s) each (VAE_LIB_DATA={os.environ.get('VAE_LIB_DATA', 'unset')})",
          flush=True)
    runs: list[Run] = []
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_chapter, nb, o, threads, timeout) for nb, o in work]
        for done, future in enumerate(as_completed(futures), 1):
            run = future.result()
            runs.append(run)
            status = "pass" if run.passed else f"FAIL ({run.failures[0]})"
            print(f"[{done}/{len(work)}] {run.notebook} offset {run.offset}: {status} ({run.seconds:.0f} s)",
                  flush=True)
    table = summarize(runs)
    print()
    print(table)
    print(f"sweep: {time.perf_counter() - start:.0f} s in all")
    target = report or REPORT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(table, encoding="utf-8")
    print(f"(written to {target})")
    return 0 if all(r.passed for r in runs) else 1
