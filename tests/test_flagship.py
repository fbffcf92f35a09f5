"""The shipped flagship models: ``vae_lib.load_flagship`` and the files in ``vae_lib/results``."""

import hashlib
import math
import os
import shlex
import shutil
from pathlib import Path

import pytest
import torch

import vae_lib
from vae_lib import flagship as flagship_module
from vae_lib.data import dynamic_binarize, load_binarized_mnist, load_mnist
from vae_lib.distributions import kl_standard_normal, log_bernoulli_logits

SHARED_DATA = Path(os.environ.get("VAE_LIB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
HAVE_MNIST = (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
DATASETS = ("mnist", "binarized-mnist")


@pytest.mark.parametrize("dataset", DATASETS)
def test_load_flagship_gives_a_cpu_vae_with_the_documented_interface(dataset):
    model = vae_lib.load_flagship(dataset)
    assert isinstance(model, vae_lib.VAE) and not model.training
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert model.config["z_dim"] == 50 and model.likelihood == "bernoulli"
    x = torch.bernoulli(torch.full((3, 784), 0.3), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        logits = model.decode(torch.zeros(2, 4, 50))
    assert mu.shape == logvar.shape == (3, 50)
    assert logits.shape == (2, 4, 784) and torch.isfinite(logits).all()


@pytest.mark.parametrize("dataset", DATASETS)
def test_shipped_file_is_small_checksummed_and_documents_its_training(dataset):
    path = vae_lib.flagship.flagship_path(dataset)
    assert path.stat().st_size <= 20 * 2**20
    assert hashlib.sha256(path.read_bytes()).hexdigest() == flagship_module.FLAGSHIPS[dataset][1]
    model = vae_lib.load_flagship(dataset)
    command = shlex.split(model.extra["command"])
    assert command[:4] == ["python", "-m", "vae_lib", "train"]
    assert command[command.index("--dataset") + 1] == dataset and "--train-on-valid" in command
    assert len(model.history) == int(command[command.index("--epochs") + 1])   # the log covers every epoch
    assert "training_state" not in torch.load(path, weights_only=True)           # weights only, no optimizer
    test = model.extra["test"]
    assert test["n"] == 10_000 and test["k"] == 5000
    assert test["elbo"] < test["iwae"] < test["log_px"] and test["nll"] == -test["log_px"]
    # the training log beside it (one line per epoch) ends with the same epoch count
    log = path.with_suffix(".train.log").read_text()
    assert f"epoch {len(model.history):4d}" in log and f"{test['nll']:.2f}" in log


def test_dynamic_flagship_beats_the_published_vae():
    test = vae_lib.load_flagship("mnist").extra["test"]
    assert test["nll"] <= 86.5  # Burda et al. (2016), VAE with one stochastic layer: 86.76 nats
    assert test["nll_stderr"] < 0.5


@pytest.mark.skipif(not HAVE_MNIST, reason="MNIST not present in ../shared/data")
def test_stored_scores_are_recomputable_from_the_file():
    """The ELBO of 2000 random test images (seed-0 binarization, as the CLI uses) agrees with the stored mean."""
    model = vae_lib.load_flagship("mnist")
    x_test, _ = load_mnist("test", root=SHARED_DATA)
    x = dynamic_binarize(x_test, generator=torch.Generator().manual_seed(0))
    pick = torch.randperm(10_000, generator=torch.Generator().manual_seed(1))[:2000]
    torch.manual_seed(0)
    with torch.no_grad():
        mu, logvar = model.encode(x[pick])
        z = model.reparameterize(mu, logvar)
        elbo = log_bernoulli_logits(x[pick], model.decode(z)) - kl_standard_normal(mu, logvar)  # written out, by hand
    stored = model.extra["test"]
    se = elbo.std().item() / math.sqrt(len(elbo))
    assert abs(elbo.mean().item() - stored["elbo"]) < 4 * se


@pytest.mark.skipif(not (SHARED_DATA / "binarized-mnist" / "binarized_mnist_test.amat.gz").exists(),
                    reason="binarized MNIST not present in ../shared/data")
def test_static_flagship_scores_its_own_test_set():
    model = vae_lib.load_flagship("binarized-mnist")
    x = load_binarized_mnist("test", root=SHARED_DATA)
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))[:1000]  # random: the file's order is not
    torch.manual_seed(0)
    with torch.no_grad():
        est, _ = vae_lib.log_px_importance(model, x[pick], k=100)
    stored = model.extra["test"]
    se = est.std().item() / math.sqrt(len(est))
    # k = 100 on 1000 random images estimates the stored k = 5000 mean over all 10,000 (k = 100 is ~0.3 nats looser)
    assert abs(-est.mean().item() - stored["nll"]) < 4 * se + 0.5


def test_bad_requests_and_damaged_files_are_reported(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="binarized-mnist"):
        vae_lib.load_flagship("cifar10")
    monkeypatch.setattr(flagship_module, "RESULTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="reinstall"):
        vae_lib.load_flagship("mnist")
    name = flagship_module.FLAGSHIPS["mnist"][0]
    shutil.copy(Path(vae_lib.__file__).parent / "results" / name, tmp_path / name)
    with (tmp_path / name).open("r+b") as f:  # flip one byte in the middle
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="damaged"):
        vae_lib.load_flagship("mnist")
    with pytest.raises(FileNotFoundError, match="benchmarks/report.py"):
        vae_lib.load_benchmarks()


def test_benchmark_report_is_shipped_and_complete():
    report = vae_lib.load_benchmarks()
    assert {"machine", "train_speed", "flagship_evaluation", "book_build"} <= set(report)
    assert report["machine"]["cores"] >= 1 and report["machine"]["torch"]
    ts = report["train_speed"]
    assert ts["n"] == 60_000 and ts["rounds"] >= 3
    assert math.isclose(ts["ratio_a_over_b"], ts["median_a"] / ts["median_b"])
    assert report["flagship_evaluation"]["n"] == 10_000 and report["flagship_evaluation"]["k"] == 5000
