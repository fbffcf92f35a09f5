"""Issue 19, command line and API: errors before work, nothing left behind.

Each case checks the exit status, one line on stderr, no traceback, no folder left behind, and
that it fails before the expensive step (the data loaders, the evaluation or the checkpoint
reading are replaced by functions that fail the test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest
import torch
from cli_support import cli, one_error_line

import vae_lib.__main__ as cli_module
from vae_lib import data
from vae_lib.__main__ import main
from vae_lib.errors import VaeLibError
from vae_lib.models import VAE
from vae_lib.train import save_checkpoint

ROOT = Path(__file__).resolve().parent.parent
UNWRITABLE = Path("/proc/vae-lib-test/run")  # /proc takes no new files, whoever runs the test (root included)


def _fail(what: str):
    def boom(*args, **kwargs):
        raise AssertionError(f"{what} ran before the bad argument was refused")

    return boom


@pytest.fixture
def no_work(monkeypatch):
    """Loading data, evaluating, or timing the evaluation fails the test: the error must come first."""
    for name in ("load_mnist", "load_binarized_mnist", "load_digits_8x8"):
        monkeypatch.setattr(data, name, _fail("a data loader"))
    monkeypatch.setattr(cli_module, "evaluate", _fail("the evaluation"))
    monkeypatch.setattr(cli_module, "estimate_evaluation_seconds", _fail("the timed probe"))


def _checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(VAE(x_dim=64, z_dim=3, hidden=(16,)), tmp_path / "m.pt", extra={"dataset": "digits"})


# ----------------------------------------------------------------------------- train
def test_train_huge_batch_size_fails_before_data_and_leaves_no_folder(tmp_path, capsys, no_work):
    out = tmp_path / "runs" / "big"
    code, _, err = cli(capsys, "train", "--batch-size", "10000000", "--out", out, "--device", "cpu")
    assert code == 2 and "--batch-size 10000000 is larger than the 50000 training images of mnist" in one_error_line(err)
    assert not (tmp_path / "runs").exists()
    code, _, err = cli(capsys, "train", "--dataset", "digits", "--batch-size", "1501", "--out", out)
    assert code == 2 and "1500 training images of digits" in one_error_line(err)
    code, _, err = cli(capsys, "train", "--batch-size", "60001", "--train-on-valid", "--out", out)
    assert code == 2 and "60000 training images" in one_error_line(err)


def test_train_unwritable_out_fails_up_front(tmp_path, capsys, no_work):
    code, _, err = cli(capsys, "train", "--dataset", "digits", "--out", UNWRITABLE, "--device", "cpu")
    line = one_error_line(err)
    assert code == 2 and f"--out {UNWRITABLE}: cannot write in /proc" in line and "[Errno" not in line


def _read_only(folder, on: bool) -> None:
    """Make ``folder`` unwritable for this user: chmod for a user, the immutable flag for root (who ignores
    the permission bits; CI runs as root)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555 if on else 0o755)


def test_train_read_only_out_fails_up_front(tmp_path, capsys, no_work):
    folder = tmp_path / "ro"
    folder.mkdir()
    _read_only(folder, True)
    try:
        code, _, err = cli(capsys, "train", "--dataset", "digits", "--out", folder / "run", "--device", "cpu")
        assert code == 2 and "cannot write in" in one_error_line(err)
        assert list(folder.iterdir()) == []
    finally:
        _read_only(folder, False)


def test_train_failure_after_the_data_leaves_no_empty_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "a" / "run"

    def fails(*args, **kwargs):
        raise VaeLibError("something went wrong in fit")

    monkeypatch.setattr(cli_module, "fit", fails)
    code, _, err = cli(capsys, "train", "--dataset", "digits", "--hidden", "8", "--z-dim", "2", "--k", "5",
                       "--out", out, "--quiet", "--device", "cpu")
    assert code == 2 and "something went wrong" in one_error_line(err)
    assert not (tmp_path / "a").exists(), "the folders the run made are gone again"


def test_ctrl_c_in_the_first_epoch_leaves_no_empty_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"

    def interrupted(*args, **kwargs):
        assert out.is_dir()  # the folder was made for the checkpoint
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "fit", interrupted)
    code, _, err = cli(capsys, "train", "--dataset", "digits", "--hidden", "8", "--z-dim", "2", "--k", "5",
                       "--out", out, "--quiet", "--device", "cpu")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 130 and len(lines) == 1 and "nothing was saved" in lines[0] and "Traceback" not in err
    assert not out.exists()


def test_data_dir_that_does_not_exist_lists_what_the_run_reads(tmp_path, capsys, no_work):
    code, _, err = cli(capsys, "train", "--data-dir", "/nonexistent", "--out", tmp_path / "run")
    line = one_error_line(err)
    assert code == 2 and "--data-dir /nonexistent: no such folder" in line
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        assert name in line
    assert "root=" not in line and not (tmp_path / "run").exists()


def test_empty_data_dir_lists_every_file_in_command_line_words(tmp_path, capsys, no_work, monkeypatch):
    empty = tmp_path / "data"
    empty.mkdir()

    def offline(url, timeout):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(data, "_URL_OPENER", offline)
    code, _, err = cli(capsys, "train", "--data-dir", empty, "--out", tmp_path / "run")
    assert code == 2 and "Traceback" not in err
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in err
    assert "root=" not in err and "--data-dir FOLDER" in err and not (tmp_path / "run").exists()


def test_device_cuda_without_a_gpu_does_not_suggest_none(tmp_path, capsys, no_work):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = cli(capsys, "train", "--device", "cuda", "--out", tmp_path / "run")
    line = one_error_line(err)
    assert code == 2 and "None" not in line and "'auto'" in line


# ----------------------------------------------------------------------------- evaluate and sample
def test_evaluate_json_to_an_unwritable_path_fails_before_evaluating(tmp_path, capsys, no_work, monkeypatch):
    monkeypatch.setattr(cli_module, "load_checkpoint", _fail("reading the checkpoint"))
    code, _, err = cli(capsys, "evaluate", tmp_path / "m.pt", "--json", "/proc/result.json")
    assert code == 2 and "--json /proc/result.json: cannot write in /proc" in one_error_line(err)
    code, _, err = cli(capsys, "evaluate", tmp_path / "m.pt", "--json", tmp_path)
    assert code == 2 and "is a folder" in one_error_line(err)


def test_evaluate_json_ends_with_a_newline(tmp_path, capsys):
    path = _checkpoint(tmp_path)
    result = tmp_path / "r.json"
    assert main(["evaluate", str(path), "--k", "3", "--limit", "10", "--quiet", "--device", "cpu",
                 "--json", str(result)]) == 0
    text = result.read_text()
    assert text.endswith("}\n") and json.loads(text)["n"] == 10


def test_sample_out_unwritable_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_module, "load_checkpoint", _fail("reading the checkpoint"))
    code, _, err = cli(capsys, "sample", tmp_path / "m.pt", "--out", "/proc/samples.png")
    line = one_error_line(err)
    assert code == 2 and "--out /proc/samples.png: cannot write in /proc" in line and "[Errno" not in line


def test_evaluate_help_describes_its_own_quiet():
    parser = cli_module.build_parser()
    choices = parser._subparsers._group_actions[0].choices
    evaluate_help = choices["evaluate"].format_help()
    assert "one line per epoch" not in evaluate_help and "only the result table" in evaluate_help
    assert "one line per epoch" in choices["train"].format_help()


# ----------------------------------------------------------------------------- Ctrl-C in a real process
def _interrupt(args: list[str], tmp_path: Path, after_line: str | None, seconds: float = 0.3):
    """Run ``python -m vae_lib ARGS``; send SIGINT after ``seconds``, or once stdout shows ``after_line``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)}  # this checkout
    proc = subprocess.Popen([sys.executable, "-m", "vae_lib", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if after_line is None:
        time.sleep(seconds)
    else:
        for line in proc.stdout:  # the folder is made right before this line
            if line.startswith(after_line):
                break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("moment", ["while torch imports", "in the first epoch"])
def test_ctrl_c_is_one_line_and_leaves_no_empty_folder(tmp_path, moment):
    out = tmp_path / "run"
    args = ["train", "--dataset", "digits", "--epochs", "1000", "--hidden", "1000", "1000", "--z-dim", "3",
            "--batch-size", "1", "--k", "5", "--quiet", "--device", "cpu", "--out", str(out)]
    done = _interrupt(args, tmp_path, None if moment == "while torch imports" else "training ")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith("interrupted"), done.stderr
    assert not out.exists() or (out / "model.pt").is_file(), "an empty output folder was left behind"


# ----------------------------------------------------------------------------- API
def test_decode_refuses_nan_like_encode():
    model = VAE(x_dim=64, z_dim=3, hidden=(16,))
    z = torch.zeros(4, 3)
    z[2, 1] = float("nan")
    with pytest.raises(VaeLibError, match="z contains NaN"):
        model.decode(z)
    with pytest.raises(VaeLibError, match="x contains NaN"):
        model.encode(torch.full((2, 64), float("nan")))
    assert model.decode(torch.zeros(2, 5, 3)).shape == (2, 5, 64)  # leading sample dimensions still work
