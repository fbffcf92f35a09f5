"""Notebooks are committed clean, and start with the Colab set-up cell and the language cell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from book_support import ROOT, load, notebooks, source, tags

sys.path.insert(0, str(ROOT))
from book import sync_colab_cell  # noqa: E402

NOTEBOOKS = notebooks()
IDS = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]


def test_there_are_notebooks_in_both_editions() -> None:
    assert notebooks("ko") and notebooks("en"), "chapters/ko and chapters/en must hold NN_name.ipynb files"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path: Path) -> None:
    nb = load(path)
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; clear them before committing "
        "(e.g. `jupyter nbconvert --clear-output --inplace` on the notebook)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_format_and_first_cells(path: Path) -> None:
    nb = load(path)
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "kernel spec must be python3"
    first, second = nb["cells"][0], nb["cells"][1]
    assert source(first) == sync_colab_cell.colab_cell_source(), (
        f"{path.name}: cell 1 must be the Colab set-up cell; run `python -m book sync-colab`"
    )
    assert set(tags(first)) >= {"remove-cell", "colab-setup"}
    assert second["cell_type"] == "code" and "lang" in tags(second), "cell 2 must be the `lang` cell"
    assert "remove-cell" in tags(second), f"{path.name}: the lang cell is hidden; run `python -m book sync-colab`"
    lang = path.parent.name
    assert re.search(rf'^LANG = "{lang}"$', source(second), re.M), f'cell 2 must define LANG = "{lang}"'
    assert re.search(r"^TEXT = \{", source(second), re.M), "cell 2 must define the TEXT dict"


def test_colab_cell_matches_config() -> None:
    """The repository and ref the notebooks install from are the ones in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    for path in NOTEBOOKS:
        text = source(load(path)["cells"][0])
        url = re.search(r'^VAE_BOOK_REPOSITORY = "([^"]+)"$', text, re.M)
        ref = re.search(r'^VAE_BOOK_REF = "([^"]+)"$', text, re.M)
        assert url and ref, f"{path.name}: no VAE_BOOK_REPOSITORY / VAE_BOOK_REF in the Colab cell"
        assert url.group(1) == config["url"].rstrip("/"), f"{path.name}: repository differs from _config.yml"
        assert ref.group(1) == str(config["branch"]), f"{path.name}: ref differs from _config.yml"


def test_colab_cell_does_nothing_outside_colab() -> None:
    """Executing the cell here (no google.colab module) must not install anything."""
    import subprocess

    code = sync_colab_cell.colab_cell_source()
    probe = "import subprocess\ndef _no(*a, **k):\n    raise SystemExit('subprocess.run called')\nsubprocess.run = _no\n"
    result = subprocess.run([sys.executable, "-c", probe + code + "\nprint('ok')"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_sync_rewrites_cell_from_config(tmp_path: Path) -> None:
    """Changing repository.url in a config changes the cell; syncing twice changes nothing more."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["repository"] = {"url": "https://github.com/someone/fork", "branch": "v1.2"}
    cfg = tmp_path / "_config.yml"
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    nb = tmp_path / "x.ipynb"
    nb.write_text(NOTEBOOKS[0].read_text(encoding="utf-8"), encoding="utf-8")
    assert sync_colab_cell.sync_notebook(nb, cfg) is True
    text = source(load(nb)["cells"][0])
    assert 'VAE_BOOK_REPOSITORY = "https://github.com/someone/fork"' in text and 'VAE_BOOK_REF = "v1.2"' in text
    assert sync_colab_cell.sync_notebook(nb, cfg) is False


def test_colab_cell_names_the_setting_when_the_install_fails() -> None:
    """On Colab (a fake ``google.colab`` module) a failing pip install raises an error that names
    the setting to change: repository.url in _config.yml."""
    import subprocess

    code = sync_colab_cell.colab_cell_source()
    probe = (
        "import sys, types, subprocess\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        "calls = []\n"
        "def _fail(cmd, *a, **k):\n"
        "    calls.append(cmd)\n"
        "    return subprocess.CompletedProcess(cmd, 1)\n"
        "subprocess.run = _fail\n"
    )
    result = subprocess.run([sys.executable, "-c", probe + code], capture_output=True, text=True)
    assert result.returncode != 0, "a failed install must stop the notebook"
    assert "RuntimeError" in result.stderr and "repository.url" in result.stderr and "_config.yml" in result.stderr, (
        result.stderr[-2000:]
    )


def test_colab_cell_is_formatted() -> None:
    """The generated cell is ruff-formatted at 88 columns like the rest of the notebook code."""
    import subprocess

    code = sync_colab_cell.colab_cell_source() + "\n"
    assert max(len(line) for line in code.splitlines()) <= 88
    result = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--line-length", "88", "-"],
                            input=code, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebook_code_is_ruff_formatted() -> None:
    """Item 7: `ruff format --check --line-length 88` passes on every notebook (run it without
    --check to fix: ``ruff format --line-length 88 chapters/<lang>/NN_*.ipynb``)."""
    from book_support import ruff_unformatted

    bad = ruff_unformatted(NOTEBOOKS)
    assert not bad, "not ruff-formatted (ruff format --line-length 88 FILE):\n" + "\n".join(bad)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_shown_code_lines_are_at_most_88_columns(path: Path) -> None:
    """Item 7: every line of a code cell the reader sees is <= 88 characters (ruff cannot split long
    strings or comments: shorten them by hand). Cells removed from the page (the Colab and the
    ``lang`` cell: ``remove-cell``/``remove-input``) are exempt."""
    from book_support import long_code_lines

    long = long_code_lines(path, shown_only=True)
    assert not long, f"{path.name}: {len(long)} shown code line(s) > 88 columns:\n" + "\n".join(
        f"  cell {cell}: {n} chars: {line.strip()[:70]}" for cell, n, line in long[:15])
