"""``python -m book build`` without the data it needs stops at once (book/preflight.py).

* the chapters that read MNIST are found from their code (05, 08, 09, 10, 11; 10 also reads
  statically binarized MNIST); chapter 00 falls back and needs nothing;
* with an empty data folder the build stops before any stage (no sync-colab, npm or notebook):
  one message with the files, the folders looked in and the fix;
* when only the data changed, the notebook cache loses the notebooks that read data and keeps the rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from book import build, preflight

ROOT = Path(__file__).resolve().parent.parent


def _notebooks(lang: str = "ko") -> list[Path]:
    return sorted((ROOT / "chapters" / lang).glob("[0-9][0-9]_*.ipynb"))


def test_chapters_that_need_mnist_are_found_from_their_code() -> None:
    needs = preflight.data_needs(_notebooks())
    chapters = {name: sorted(s[:2] for s in need.notebooks) for name, need in needs.items()}
    assert chapters["t10k-images-idx3-ubyte.gz"] == ["05", "08", "09", "10", "11", "12"]
    assert chapters["train-images-idx3-ubyte.gz"] == ["05", "08", "09", "11", "12"]
    assert chapters["binarized_mnist_test.amat"] == ["10"]
    assert not any("00" in c for c in chapters.values()), "chapter 00 loads MNIST with fallback=True"


def test_calls_are_read_with_their_split_and_fallback() -> None:
    assert preflight._calls('x = load_mnist("test", fallback=True)') == []
    assert preflight._calls('x, y = data.load_mnist("train")') == [("load_mnist", ["train"])]
    assert preflight._calls("x = load_mnist(split)") == [("load_mnist", ["train", "test"])]
    assert preflight._calls('b = load_binarized_mnist(split="valid")') == [("load_binarized_mnist", ["valid"])]


def test_build_without_data_stops_at_once_with_one_message(tmp_path: Path) -> None:
    """``python -m book build`` with an empty data folder: the message, exit status 1, nothing ran."""
    empty = tmp_path / "data"
    empty.mkdir()
    env = {**os.environ, "VAE_LIB_DATA": str(empty), preflight.OFFLINE_ENV: "1",
           "VAE_BOOK_BUILD_DIR": str(tmp_path / "build")}
    cache_before = sorted(p.name for p in build.CACHE.glob("*")) if build.CACHE.exists() else []
    done = subprocess.run([sys.executable, "-m", "book", "build"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "binarized_mnist_test.amat"):
        assert name in text
    assert f"{empty / 'mnist'}{os.sep}" in text and "looked in" in text
    assert "VAE_LIB_DATA" in text and "online" in text
    assert "chapter(s) 05, 08, 09, 10, 11, 12" in text
    assert "8x8" in text and "00, 01, 02, 03, 04, 06, 07" in text
    assert "Nothing was executed" in text
    # no stage started: no Colab sync, no npm, no jupyter-book, no notebook
    assert "===" not in text and "jupyter-book" not in text
    assert not (tmp_path / "build").exists()
    assert (sorted(p.name for p in build.CACHE.glob("*")) if build.CACHE.exists() else []) == cache_before
    assert list(empty.iterdir()) == [], "nothing downloaded or created in the data folder"


def test_offline_download_attempt_fails_fast_with_the_message(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    from vae_lib import data

    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))
    monkeypatch.delenv(preflight.OFFLINE_ENV, raising=False)
    calls = []

    def offline(url: str, timeout: float):
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data, "_URL_OPENER", offline)
    with pytest.raises(SystemExit) as stop:
        preflight.check_data(_notebooks())
    assert len(calls) == 1, "one probe, not a download per file and mirror"
    message = str(stop.value.code)
    assert "offline: no mirror answered" in message and "Nothing was executed" in message


def test_present_data_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from vae_lib import data

    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))
    monkeypatch.setattr(data, "_check", lambda path: None)  # synthetic files stand for the real ones
    for folder, names in (("mnist", [n for pair in data.MNIST_FILES.values() for n in pair]),
                          ("binarized-mnist", ["binarized_mnist_test.amat.gz"])):
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_bytes(b"x")
    assert "are in" in preflight.check_data(_notebooks())


def _nb(code: str) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": code, "outputs": [],
                       "execution_count": None}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 4}


def test_data_change_removes_only_the_notebooks_that_read_data(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    from jupyter_cache import get_cache

    chapters = tmp_path / "chapters" / "ko"
    chapters.mkdir(parents=True)
    reads = chapters / "05_reads.ipynb"
    reads.write_text(json.dumps(_nb('x = load_mnist("train")\n')))
    pure = chapters / "04_pure.ipynb"
    pure.write_text(json.dumps(_nb("x = 1 + 1\n")))
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(build, "CACHE", cache_dir)
    monkeypatch.setattr(build, "CACHE_STAMP", tmp_path / "cache.sha256")
    monkeypatch.setattr(preflight, "DATA_STAMP", tmp_path / "cache.data.json")
    state = {"folder": "x", "files": {"mnist/a": 1}, "mnist": False, "binarized_mnist": False, "scikit_learn": True}
    monkeypatch.setattr(build, "data_state", lambda: dict(state))
    monkeypatch.setenv("VAE_BOOK_DEV_KEEP_CACHE", "0")
    notebooks = [pure, reads]
    # first build: the stamps are written the way build.py writes its own, then the notebooks run
    assert preflight.scope_cache_to_data(notebooks) == []
    build.invalidate_cache_if_library_changed(cache=cache_dir, stamp=tmp_path / "cache.sha256")
    cache = get_cache(str(cache_dir))
    for path in (reads, pure):
        cache.cache_notebook_file(str(path), check_validity=False)
    assert len(cache.list_cache_records()) == 2
    # the data arrives: only the notebook that reads it loses its cached outputs
    state.update(files={"mnist/a": 1, "mnist/b": 2}, mnist=True)
    assert preflight.scope_cache_to_data(notebooks) == ["05_reads"]
    assert build.invalidate_cache_if_library_changed(cache=cache_dir, stamp=tmp_path / "cache.sha256") is False, "build.py keeps the rest of the cache"
    assert [Path(r.uri).stem for r in get_cache(str(cache_dir)).list_cache_records()] == ["04_pure"]
    # nothing changed: nothing removed
    assert preflight.scope_cache_to_data(notebooks) == []


def test_stage_report_does_not_glue_a_multi_line_result(capsys) -> None:
    """``execution report      11.1 s  chapters/…`` glued a stage with the first row of its result."""
    stages = build._Stages()
    stages.run("execution report", lambda: "    11.1 s  chapters/ko/00_how_to_run.ipynb\n    11.1 s  total\n")
    stages.run("npm (MathJax)", lambda: "npm packages already installed: mathjax 4.0.0")
    capsys.readouterr()
    report, npm, _total = stages.summary().splitlines()
    assert report.rstrip().endswith("s  execution report") and "chapters/" not in report
    assert npm.endswith("npm (MathJax)  npm packages already installed: mathjax 4.0.0")


def test_build_kernels_do_not_print_the_tcp_note(tmp_path: Path) -> None:
    """Every kernel of a build printed "Kernel is running over TCP without encryption" (24 per build)."""
    from jupyter_client.manager import start_new_kernel

    folder = build.write_kernel_profile(tmp_path / "ipython")
    log = tmp_path / "kernel.log"
    with open(log, "w") as stderr:
        km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, "IPYTHONDIR": str(folder)},
                                  stderr=stderr, startup_timeout=120)
        try:
            kc.execute_interactive("x = 1", timeout=60)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert "without encryption" not in log.read_text()
    assert "log_level = 'ERROR'" in build.kernel_config()
