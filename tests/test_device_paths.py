"""The GPU-facing paths of vae_lib, exercised on the CPU (issue 12, item 2; issue 10, item 1).

No GPU is needed: host synchronizations are counted by wrapping the Python methods that read
a tensor back to the host, and device mismatches are made visible with a ``torch.randn`` that
refuses, as CUDA does, a generator on another device.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from vae_lib.evaluate import _on, evaluate, mean_elbo
from vae_lib.models import VAE
from vae_lib.train import FINITE_CHECK_EVERY, TrainingDivergedError, fit

READ_BACKS = ("item", "tolist", "__bool__", "__float__", "__int__", "cpu")


def small_vae() -> VAE:
    torch.manual_seed(0)
    return VAE(x_dim=64, z_dim=4, hidden=(32,))


@pytest.fixture
def digits_x():
    from vae_lib.data import load_digits_8x8

    return load_digits_8x8()[0]


@pytest.fixture
def read_backs(monkeypatch):
    """Count every Python-level read of a tensor value to the host (a device sync on a GPU)."""
    calls: list[str] = []
    for name in READ_BACKS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return calls


def test_the_counter_sees_a_per_step_check(read_backs):
    # the counter works: the old loop's `if not torch.isfinite(loss)` is one __bool__ per step
    loss = torch.tensor(1.0)
    for _ in range(10):
        if not torch.isfinite(loss):
            break
    assert read_backs.count("__bool__") == 10


def test_fit_does_not_sync_every_step(digits_x, read_backs):
    epochs, batch = 2, 10
    steps = epochs * (len(digits_x) // batch)  # 300 optimizer steps
    fit(small_vae(), digits_x, epochs=epochs, batch_size=batch, progress=False, device="cpu")
    during_loop = len(read_backs)
    # allowed: the up-front data checks (a handful), one check per FINITE_CHECK_EVERY steps, one read per epoch
    budget = 10 + epochs * (len(digits_x) // batch // FINITE_CHECK_EVERY + 1) + 2 * epochs
    assert during_loop <= budget < steps / 5, (during_loop, budget, read_backs[:20])


def test_conditional_fit_does_not_sync_every_step(digits_x, read_backs):
    from vae_lib.data import load_digits_8x8

    y = load_digits_8x8()[1]
    torch.manual_seed(0)
    model = VAE(x_dim=64, z_dim=4, hidden=(32,), n_classes=10)
    fit(model, digits_x, y_train=y, epochs=1, batch_size=10, progress=False, device="cpu")
    assert len(read_backs) < 179 / 5, read_backs[:20]  # 179 steps; the label range is checked once, up front


def test_divergence_still_names_the_epoch_and_the_batch(digits_x, monkeypatch):
    model = small_vae()
    decode, calls = model.decode, []

    def poisoned(z, *args):
        calls.append(1)
        out = decode(z, *args)
        return out * float("nan") if len(calls) == 30 else out  # batch 30 of epoch 1 goes wrong

    monkeypatch.setattr(model, "decode", poisoned)
    with pytest.raises(TrainingDivergedError, match=r"at epoch 1, batch 30/179 \(found at the check after batch 50\)"):
        fit(model, digits_x, epochs=1, batch_size=10, progress=False, device="cpu")


def test_reparameterize_draws_on_the_generators_device(monkeypatch):
    real_randn = torch.randn

    def strict_randn(*size, generator=None, device=None, **kwargs):
        # what CUDA does: a generator can only fill tensors on its own device
        if generator is not None and torch.device(device or "cpu") != generator.device:
            raise RuntimeError(f"Expected a '{torch.device(device).type}' device type for generator")
        return real_randn(*size, generator=generator, device=device, **kwargs)

    monkeypatch.setattr(torch, "randn", strict_randn)
    mu = torch.zeros(3, 5, device="meta")  # stands for a CUDA tensor
    z = VAE.reparameterize(mu, mu, generator=torch.Generator().manual_seed(0))
    assert z.device.type == "meta" and z.shape == (3, 5)
    # the same generator seed gives the same noise as on the CPU
    cpu = VAE.reparameterize(torch.zeros(3, 5), torch.zeros(3, 5), generator=torch.Generator().manual_seed(0))
    assert torch.equal(cpu, torch.randn(3, 5, generator=torch.Generator().manual_seed(0)))


def test_evaluate_restores_the_models_mode(digits_x):
    model = small_vae().train()
    x = torch.bernoulli(digits_x[:50], generator=torch.Generator().manual_seed(0))
    evaluate(model, x, k=4, iwae_k=2, progress=False, device="cpu")
    assert model.training, "evaluate ran in eval mode but must hand the model back in train mode"
    model.eval()
    mean_elbo(model, x, device="cpu")
    assert not model.training


def test_evaluation_hands_the_model_back_on_its_device(monkeypatch):
    model = small_vae().train()
    moves = []
    monkeypatch.setattr(model, "to", lambda device: moves.append(torch.device(device)) or model)
    with _on(model, torch.device("cuda"), False):  # no CUDA needed: the moves are recorded, not made
        assert not model.training
    assert moves == [torch.device("cuda"), torch.device("cpu")] and model.training
    moves.clear()
    with pytest.raises(KeyError), _on(model, torch.device("cuda"), False):
        raise KeyError("even when the evaluation fails")
    assert moves == [torch.device("cuda"), torch.device("cpu")] and model.training


def test_evaluate_does_not_read_back_every_batch(digits_x, read_backs):
    x = torch.bernoulli(digits_x[:400], generator=torch.Generator().manual_seed(0))
    read_backs.clear()
    evaluate(small_vae(), x, k=4, iwae_k=2, batch_size=20, progress=False, device="cpu")
    assert len(read_backs) < 20, read_backs  # 20 batches: fewer reads than batches


@pytest.mark.parametrize("progress, env, shown", [("'auto'", "1", False), ("None", "1", False),
                                                  ("'auto'", None, True), ("False", None, False)])
def test_progress_bar_follows_tqdm_disable(progress, env, shown):
    # tqdm reads TQDM_* when it is imported, so each case runs in a fresh process, as a book build does
    code = ("import torch; from vae_lib.models import VAE; from vae_lib.train import fit; "
            "torch.manual_seed(0); x = torch.rand(256, 64); "
            f"fit(VAE(x_dim=64, z_dim=2, hidden=(8,)), x, epochs=1, batch_size=128, progress={progress}, device='cpu')")
    environ = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    if env is not None:
        environ["TQDM_DISABLE"] = env
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ("training:" in done.stderr) is shown, done.stderr
