"""python -m book sweep: offsets, the seed audit, and the table it prints (book/sweep.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from book import sweep


def test_parse_offsets_reads_ranges_and_lists() -> None:
    assert sweep.parse_offsets("1-3,7") == [1, 2, 3, 7]
    assert sweep.parse_offsets("5, 2,2") == [2, 5]
    for bad in ("", "a", "3-1", "1..4", "-2"):
        with pytest.raises(ValueError, match="--offsets"):
            sweep.parse_offsets(bad)


def _chapter(tmp_path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, sweep.Run]:
    """A toy chapter: a check that depends on the stream, a seed through book_seed, two that bypass it."""
    path = _chapter(tmp_path_factory.mktemp("sweep"), [
        "import numpy as np, torch\nfrom vae_lib.seeds import book_seed",
        "rng = np.random.default_rng(book_seed(0))\ng = torch.Generator().manual_seed(book_seed(1))",
        "torch.manual_seed(3)  # bypasses book_seed",
        "x = torch.randn(2, generator=torch.Generator().manual_seed(4))  # bypasses book_seed",
        "assert book_seed(0) == 0, f'stream moved to {book_seed(0)}'",
    ])
    return {offset: sweep.run_chapter(str(path), offset, threads=1, timeout=120) for offset in (0, 2)}


def test_the_books_own_seeds_pass_and_are_not_audited(toy_runs: dict[int, sweep.Run]) -> None:
    assert toy_runs[0].passed, toy_runs[0].failures


def test_an_offset_reaches_book_seed_and_the_audit_names_each_seed_that_bypasses_it(
        toy_runs: dict[int, sweep.Run]) -> None:
    failures = toy_runs[2].failures
    assert "cell 4: AssertionError: stream moved to 20000" in failures
    assert "seed audit: cell 2: torch.manual_seed(3) not from book_seed" in failures
    assert "seed audit: cell 3: torch.Generator.manual_seed(4) not from book_seed" in failures
    assert len(failures) == 3, failures  # the seeds through book_seed are not reported


def test_summary_counts_runs_and_lists_each_failing_check_with_its_offsets() -> None:
    runs = [sweep.Run("chapters/ko/05_x.ipynb", o, 10.0, [] if o != 3 else ["cell 9: AssertionError: gain"])
            for o in (1, 2, 3, 4)]
    runs += [sweep.Run("chapters/en/05_x.ipynb", o, 12.0, ["cell 9: AssertionError: gain"]) for o in (2, 3)]
    table = sweep.summarize(runs)
    assert "| 05 | ko | 4 | 3 | 10 s | cell 9: AssertionError: gain (3) |" in table
    assert "| 05 | en | 2 | 0 | 12 s | cell 9: AssertionError: gain (2-3) |" in table
    assert table.startswith("Seed sweep: offsets 1-4 (4 offsets), 6 runs, 3 passed.")


def test_cli_rejects_bad_offsets_and_unknown_chapters(capsys: pytest.CaptureFixture[str]) -> None:
    from book.__main__ import main

    assert main(["sweep", "--offsets", "x"]) == 2
    assert main(["sweep", "--chapter", "77"]) == 2
    err = capsys.readouterr().err
    assert "--offsets 'x'" in err and "no chapter notebook matches --chapter 77" in err
