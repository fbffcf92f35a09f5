"""fit, evaluate and checkpoints on real data (8x8 digits; MNIST when ../shared/data is present)."""

import math
import os
import pickle
from pathlib import Path

import pytest
import torch
from sklearn.datasets import load_digits

from vae_lib import VAE, evaluate, fit, load_checkpoint, save_checkpoint, select_device
from vae_lib.train import History, TrainingDivergedError

SHARED_DATA = Path(os.environ.get("VAE_LIB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="module")
def digits():
    x = torch.tensor(load_digits().data, dtype=torch.float32) / 16.0
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(x), generator=g)
    return x[perm[:1500]], x[perm[1500:]]


def small_vae(seed=0, **kwargs):
    torch.manual_seed(seed)
    return VAE(x_dim=64, z_dim=4, hidden=(64,), **kwargs)


def test_fit_lowers_validation_loss_on_digits(digits):
    x_train, x_valid = digits
    history = fit(small_vae(), x_train, x_valid, epochs=8, batch_size=64, lr=3e-3, progress=False, device="cpu")
    assert isinstance(history, History) and len(history) == 8
    assert history[-1]["valid_elbo"] > history[0]["valid_elbo"] + 3.0  # nats per image
    assert all(row["seconds"] > 0 for row in history)
    cols = history.as_dict()
    assert set(cols) >= {"epoch", "train_elbo", "train_recon", "train_kl", "valid_elbo", "valid_recon", "valid_kl", "seconds"}
    for row in history:  # elbo = recon - kl (beta = 1)
        assert row["train_elbo"] == pytest.approx(row["train_recon"] - row["train_kl"], abs=1e-3)


def test_same_seed_gives_identical_history_on_cpu(digits):
    x_train, x_valid = digits
    runs = []
    for _ in range(2):
        h = fit(small_vae(seed=3), x_train, x_valid, epochs=2, batch_size=64, seed=11, progress=False, device="cpu")
        runs.append([{k: v for k, v in row.items() if k != "seconds"} for row in h])
    assert runs[0] == runs[1]
    other = fit(small_vae(seed=3), x_train, x_valid, epochs=2, batch_size=64, seed=12, progress=False, device="cpu")
    assert other[0]["train_elbo"] != runs[0][0]["train_elbo"]


def test_kl_warmup_ramps_beta(digits):
    x_train, _ = digits
    h = fit(small_vae(), x_train, epochs=4, batch_size=100, kl_warmup_epochs=2, beta=1.0, progress=False, device="cpu")
    betas = [row["beta"] for row in h]
    assert betas[0] == pytest.approx(0.5, abs=0.05) and betas[1] == pytest.approx(1.0) and betas[3] == 1.0


def test_nan_is_reported_with_epoch_and_batch(digits):
    x_train, _ = digits
    model = small_vae()
    with torch.no_grad():
        model.to_logvar.bias.fill_(float("nan"))
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 1/"):
        fit(model, x_train, epochs=1, batch_size=64, progress=False, device="cpu")


def test_checkpoint_round_trip_is_exact(tmp_path, digits):
    x_train, x_valid = digits
    model = small_vae(n_classes=None)
    history = fit(model, x_train, epochs=1, batch_size=64, progress=False, device="cpu")
    path = save_checkpoint(model, tmp_path / "m.pt", history=history, extra={"note": "test"})
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1.cpu(), v2)
    assert loaded.history[0]["train_elbo"] == history[0]["train_elbo"] and loaded.extra == {"note": "test"}
    x = torch.bernoulli(x_valid[:5], generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loaded.encode(x)[0], model.cpu().encode(x)[0], rtol=0, atol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoint_with_pickled_object_is_refused(tmp_path):
    model = small_vae()
    path = tmp_path / "evil.pt"
    torch.save({"format": "vae_lib-checkpoint-v1", "config": model.config, "state_dict": model.state_dict(), "payload": Evil()}, path)
    with pytest.raises(ValueError, match="refusing to load"):
        load_checkpoint(path)


def test_non_checkpoint_file_refused(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not a vae_lib checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_conditional_fit_and_evaluate(digits):
    x_train, x_valid = digits
    y = torch.tensor(load_digits().target)[:len(x_train)]
    model = small_vae(n_classes=10)
    h = fit(model, x_train, epochs=1, batch_size=64, progress=False, device="cpu", y_train=y)
    assert math.isfinite(h[0]["train_elbo"])


def test_evaluate_orders_the_bounds(digits):
    x_train, x_valid = digits
    model = small_vae()
    fit(model, x_train, epochs=5, batch_size=64, lr=3e-3, progress=False, device="cpu")
    x = torch.bernoulli(x_valid[:100], generator=torch.Generator().manual_seed(0))
    r = evaluate(model, x, k=500, iwae_k=20, progress=False, device="cpu")
    assert r["elbo"] < r["iwae"] < r["log_px"] + 3 * r["log_px_stderr"]
    assert r["nll"] == -r["log_px"] and r["n"] == 100 and r["k"] == 500


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device().type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            select_device("cuda")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(epochs=0), "epochs"),
        (dict(batch_size=-1), "batch_size"),
        (dict(batch_size=10_000), "larger than the training set"),
        (dict(lr=0.0), "lr"),
        (dict(beta=-0.5), "beta"),
        (dict(kl_warmup_epochs=-1), "kl_warmup_epochs"),
        (dict(binarize="static"), "binarize"),
        (dict(progress="sometimes"), "progress"),
    ],
)
def test_fit_refuses_bad_arguments(digits, kwargs, match):
    x_train, _ = digits
    with pytest.raises(ValueError, match=match):
        fit(small_vae(), x_train, **{"progress": False, "device": "cpu", **kwargs})


def test_fit_refuses_bad_data(digits):
    x_train, _ = digits
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fit(small_vae(), x_train * 16, progress=False)
    with pytest.raises(ValueError, match="binary"):
        fit(small_vae(), x_train, binarize="none", progress=False)
    with pytest.raises(ValueError, match="NaN"):
        bad = x_train.clone(); bad[3, 3] = float("nan")
        fit(small_vae(), bad, progress=False)
    with pytest.raises(TypeError, match="VAE"):
        fit(torch.nn.Linear(64, 4), x_train, progress=False)
    with pytest.raises(ValueError, match="Gaussian|gaussian"):
        fit(small_vae(likelihood="gaussian"), x_train, progress=False)


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(), reason="MNIST not present in ../shared/data")
def test_fit_on_mnist_lowers_validation_loss():
    from vae_lib.data import load_mnist

    x, _ = load_mnist("train", root=SHARED_DATA)
    torch.manual_seed(0)
    model = VAE(z_dim=10, hidden=(200,))
    h = fit(model, x[:6000], x[50000:51000], epochs=2, batch_size=128, lr=2e-3, progress=False, device="cpu")
    assert h[1]["valid_elbo"] > h[0]["valid_elbo"]
    assert -h[1]["valid_elbo"] < 200  # nats: far below the 784 * log 2 = 543 of a coin-flip model


def test_mean_elbo_matches_batched_elbo_and_keeps_the_mode(digits):
    from vae_lib import mean_elbo
    from vae_lib.objectives import elbo

    _, x_valid = digits
    x = torch.bernoulli(x_valid, generator=torch.Generator().manual_seed(0))
    model = small_vae()
    model.train()
    result = mean_elbo(model, x, batch_size=100, seed=4, device="cpu")
    assert model.training  # the caller's mode is restored
    torch.manual_seed(4)
    terms = [elbo(model, x[i:i + 100]) for i in range(0, len(x), 100)]
    for key, index in (("elbo", 0), ("recon", 1), ("kl", 2)):
        expected = torch.cat([t[index] for t in terms]).double().mean().item()
        assert result[key] == pytest.approx(expected, abs=1e-4)
    assert result["elbo"] == pytest.approx(result["recon"] - result["kl"], abs=1e-4)
    assert mean_elbo(model, x, batch_size=100, seed=4, device="cpu") == result  # reproducible
    with pytest.raises(ValueError, match="binary"):
        mean_elbo(model, x_valid, device="cpu")


def test_cosine_learning_rate_schedule(digits):
    from vae_lib.train import _learning_rate

    assert _learning_rate(0, 100, 1e-3, 1e-5, "cosine") == pytest.approx(1e-3)
    assert _learning_rate(50, 100, 1e-3, 1e-5, "cosine") == pytest.approx((1e-3 + 1e-5) / 2)
    assert _learning_rate(100, 100, 1e-3, 1e-5, "cosine") == pytest.approx(1e-5)
    assert _learning_rate(70, 100, 1e-3, 0.0, "constant") == 1e-3
    x_train, _ = digits
    h = fit(small_vae(), x_train, epochs=4, batch_size=100, lr=2e-3, lr_schedule="cosine", lr_min=1e-4,
            progress=False, device="cpu")
    lrs = [row["lr"] for row in h]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] < 2e-3 and lrs[-1] == pytest.approx(1e-4, rel=0.05)


def test_iwae_training_records_both_bounds(digits):
    x_train, x_valid = digits
    h = fit(small_vae(), x_train, x_valid, epochs=3, batch_size=100, lr=3e-3, iwae_k=5, progress=False, device="cpu")
    for row in h:
        assert row["train_iwae"] >= row["train_elbo"]  # logsumexp-mean >= mean on the same samples
        assert row["train_elbo"] == pytest.approx(row["train_recon"] - row["train_kl"], abs=1e-3)
    assert h[-1]["valid_elbo"] > h[0]["valid_elbo"]
    with pytest.raises(ValueError, match="IWAE"):
        fit(small_vae(), x_train, iwae_k=5, beta=2.0, progress=False)
    with pytest.raises(ValueError, match="iwae_k"):
        fit(small_vae(), x_train, iwae_k=0, progress=False)


def test_resume_continues_an_interrupted_run_exactly(tmp_path, digits):
    x_train, x_valid = digits
    settings = dict(epochs=4, batch_size=100, lr=2e-3, lr_schedule="cosine", seed=5, progress=False, device="cpu")
    full_model = small_vae(seed=1)
    full = fit(full_model, x_train, x_valid, **settings)

    class Interrupted(Exception):
        pass

    def stop_after_two(record):
        if record["epoch"] == 2:
            raise Interrupted

    ckpt = tmp_path / "run.pt"
    with pytest.raises(Interrupted):
        fit(small_vae(seed=1), x_train, x_valid, checkpoint=ckpt, on_epoch=stop_after_two, **settings)
    assert len(load_checkpoint(ckpt).history) == 2
    resumed_model = small_vae(seed=99)  # different initial weights: all state comes from the checkpoint
    resumed = fit(resumed_model, x_train, x_valid, checkpoint=ckpt, resume=True, **settings)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]
    assert strip(resumed) == strip(full)
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values()):
        torch.testing.assert_close(a, b)

    with pytest.raises(ValueError, match="settings differ"):
        fit(small_vae(seed=1), x_train, x_valid, checkpoint=ckpt, resume=True, **{**settings, "lr": 1e-3})
    with pytest.raises(ValueError, match="different model"):
        fit(VAE(x_dim=64, z_dim=5, hidden=(64,)), x_train, x_valid, checkpoint=ckpt, resume=True, **settings)
    with pytest.raises(ValueError, match="needs checkpoint"):
        fit(small_vae(), x_train, resume=True, progress=False)
