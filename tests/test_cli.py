"""``python -m vae_lib train|evaluate|sample`` end to end on the 8x8 digits."""

import json

import pytest
import torch

from vae_lib.__main__ import main
from vae_lib.train import load_checkpoint


def test_train_evaluate_sample_round_trip(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "2", "--hidden", "32", "--z-dim", "3",
                 "--k", "50", "--out", str(out), "--quiet", "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "test NLL (IS, k=50)" in printed and "nats" in printed
    assert (out / "model.pt").is_file() and (out / "samples.png").stat().st_size > 1000
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]

    model = load_checkpoint(out / "model.pt")
    saved = model.extra["test"]
    assert model.config["z_dim"] == 3 and "train" in model.extra["command"]

    # evaluate recomputes the same number from the saved file (same seed, same test binarization)
    result_file = tmp_path / "eval.json"
    assert main(["evaluate", str(out / "model.pt"), "--dataset", "digits", "--k", "50", "--quiet",
                 "--device", "cpu", "--json", str(result_file)]) == 0
    again = json.loads(result_file.read_text())
    assert again["nll"] == pytest.approx(saved["nll"], abs=1e-3)

    assert main(["sample", str(out / "model.pt"), "--n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 500


def test_cli_reports_bad_input_clearly(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.pt"), "--dataset", "digits"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--z-dim", "0", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 2
    assert "--z-dim must be a positive integer" in capsys.readouterr().err


def test_train_with_iwae_cosine_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", "digits", "--epochs", "3", "--hidden", "32", "--z-dim", "3", "--iwae-k", "4",
            "--lr-schedule", "cosine", "--lr-min", "1e-5", "--k", "20", "--out", str(out), "--quiet", "--device", "cpu"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "maximizing the IWAE bound (k=4)" in printed and printed.count("train -IWAE") == 3  # one line per epoch
    model = load_checkpoint(out / "model.pt")
    assert model.history[-1]["lr"] == pytest.approx(1e-5, abs=5e-6)  # the last step is one step short of lr_min
    assert "--iwae-k 4" in model.extra["command"]
    # a finished run has no optimizer state left to resume from, and says so
    assert main(args + ["--resume"]) == 2
    assert "no training state" in capsys.readouterr().err
