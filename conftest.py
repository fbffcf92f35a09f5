"""Root pytest configuration: a per-notebook execution time report for the nbval run.

nbval collects every ``chapters/**/*.ipynb`` (see ``[tool.pytest.ini_options]`` in
``pyproject.toml``); each cell is one test item. The hooks below add up the cell durations of
each notebook and write them to ``_build/nbval_times.txt`` (also with ``pytest-xdist``: the
durations arrive in the controller's reports), and print them in the terminal summary.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
REPORT = ROOT / "_build" / "nbval_times.txt"
_durations: dict[str, float] = defaultdict(float)


def pytest_configure(config: pytest.Config) -> None:
    import os

    # Progress bars and widgets are noise in executed notebooks.
    os.environ.setdefault("TQDM_DISABLE", "1")
    # Tests use the offline copy of the data beside the checkout (../shared/data) unless told otherwise.
    shared = ROOT.parent / "shared" / "data"
    if shared.is_dir():
        os.environ.setdefault("VAE_LIB_DATA", str(shared))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _durations[path] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _durations or hasattr(config, "workerinput"):
        return
    lines = [f"{seconds:8.1f} s  {path}" for path, seconds in sorted(_durations.items())]
    lines.append(f"{sum(_durations.values()):8.1f} s  total ({len(_durations)} notebooks)")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    terminalreporter.section("notebook execution times (nbval)")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(written to {REPORT.relative_to(ROOT)})")
