"""vae_lib.export: the typed-array files the explorable figures load round-trip to the PyTorch models.

A NumPy forward pass reading only the exported files must give the torch model's encoder
(mu, log sigma^2) and decoder logits: to 1e-5 at float32; at float16 (the flagship as the
pages get it) the weights are rounded, and the test states what that costs. The latent diffusion
prior of the 2-D VAE comes back as its exact state dict, config and betas.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vae_lib import VAE, load_flagship
from vae_lib import latent_diffusion as ld
from vae_lib.export import (
    DTYPES, dequantize_codes, export_book_models, export_prior, export_vae, latent2d_path, load_latent2d,
    numpy_decode, numpy_encode, quantize_codes, read_tensors, write_tensors,
)


def _inputs(model: VAE, n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, model.x_dim, generator=g) < 0.3).float()
    z = 2.0 * torch.randn(n, model.z_dim, generator=g)
    return x, z


def test_header_describes_the_binary_file(tmp_path) -> None:
    model = load_latent2d()
    header_path = export_vae(model, tmp_path / "m.json")
    header = json.loads(header_path.read_text())
    raw = (tmp_path / "m.bin").read_bytes()
    assert header["byte_order"] == "little" and header["binary"] == "m.bin"
    assert header["model"]["z_dim"] == 2 and header["model"]["hidden"] == [128]
    end = 0
    for name, t in header["tensors"].items():
        assert t["offset"] % 8 == 0 and t["offset"] >= end, name  # aligned, in order, no overlap
        assert t["nbytes"] == int(np.prod(t["shape"])) * DTYPES[t["dtype"]].itemsize
        end = t["offset"] + t["nbytes"]
        torch_value = model.state_dict()[name].numpy()
        stored = np.frombuffer(raw, dtype="<f4", count=torch_value.size, offset=t["offset"]).reshape(t["shape"])
        np.testing.assert_array_equal(stored, torch_value)  # little-endian float32, row-major [out, in]
    assert end == len(raw)
    assert header["meta"] == {} and set(header["encoder"]) == {"layers", "activation", "mu", "logvar"}


@pytest.mark.parametrize("which", ["latent2d", "flagship"])
def test_numpy_forward_pass_equals_torch_at_float32(tmp_path, which: str) -> None:
    model = load_latent2d() if which == "latent2d" else load_flagship("mnist")
    header, arrays = read_tensors(export_vae(model, tmp_path / f"{which}.json", "float32"))
    x, z = _inputs(model)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        logits = model.decode(z)
    mu_np, logvar_np = numpy_encode(header, arrays, x.numpy())
    logits_np = numpy_decode(header, arrays, z.numpy())
    # against the float32 model: 1e-5 (relative for logits beyond 1, float32's own rounding)
    np.testing.assert_allclose(mu_np, mu.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(logvar_np, logvar.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(logits_np, logits.numpy(), atol=1e-5, rtol=1e-5)
    # against the same weights in float64: the exported numbers are the weights themselves
    double = model.double()
    with torch.no_grad():
        mu64, logvar64 = double.encode(x.double())
        logits64 = double.decode(z.double())
    np.testing.assert_allclose(mu_np, mu64.numpy(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(logvar_np, logvar64.numpy(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(logits_np, logits64.numpy(), atol=1e-9, rtol=0)
    # the decoder means the page shows: sigmoid of the logits
    probs = 1 / (1 + np.exp(-numpy_decode(header, arrays, z.numpy())))
    np.testing.assert_allclose(probs, torch.sigmoid(logits64).numpy(), atol=1e-9, rtol=0)


def test_float16_flagship_rounds_only_the_big_matrices(tmp_path) -> None:
    model = load_flagship("mnist")
    header, arrays = read_tensors(export_vae(model, tmp_path / "f16.json", "float16"))
    dtypes = {name: t["dtype"] for name, t in header["tensors"].items()}
    assert dtypes["encoder_body.0.weight"] == "float16" and dtypes["decoder_net.4.weight"] == "float16"
    assert dtypes["to_mu.weight"] == dtypes["to_logvar.weight"] == dtypes["encoder_body.0.bias"] == "float32"
    state = model.state_dict()
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, state[name].numpy().astype(array.dtype))  # round to nearest
    size = (tmp_path / "f16.bin").stat().st_size
    assert size < 0.55 * sum(v.numel() * 4 for k, v in state.items() if k != "decoder_logvar")
    # rounding costs: at most 2^-11 relative per weight; measured effect on the outputs
    x, z = _inputs(model)
    z = z / 2  # draws from the prior N(0, I)
    with torch.no_grad():
        mu, _ = model.encode(x)
        logits = model.decode(z)
    mu16, _ = numpy_encode(header, arrays, x.numpy())
    assert np.abs(mu16 - mu.numpy()).max() < 2e-2
    err = np.abs(numpy_decode(header, arrays, z.numpy()) - logits.numpy())
    assert (err < 1e-2 * (1 + np.abs(logits.numpy()))).all() and np.median(err) < 5e-3  # measured 4e-3, 2e-3


def test_codes_quantization_error_is_half_a_step() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 2)) * [1.0, 3.0]
    q, lo, step = quantize_codes(z)
    assert q.dtype == np.uint8 and q.min() == 0 and q.max() == 255
    err = np.abs(dequantize_codes(q, lo, step) - z)
    assert (err <= np.asarray(step) / 2 + 1e-12).all()


def test_shipped_codes_file_matches_the_model() -> None:
    """The committed codes (book/_static/explorables/models/) are the 2-D model's encoder means."""
    from book_support import ROOT

    header, arrays = read_tensors(ROOT / "book" / "_static" / "explorables" / "models" / "latent2d_codes.json")
    assert header["meta"]["source"] == latent2d_path().name
    codes = dequantize_codes(arrays["codes"], header["meta"]["quantization"]["min"], header["meta"]["quantization"]["step"])
    model = load_latent2d()
    examples = torch.tensor(arrays["examples"], dtype=torch.float32)
    assert set(np.unique(arrays["examples"])) <= {0, 1} and arrays["labels"].max() == 9
    with torch.no_grad():
        mu, _ = model.encode(examples)
    assert codes.shape == (header["meta"]["n"], 2) and np.abs(codes).max() < 6
    index = header["meta"]["example_indices"]  # the examples are among the first n test images
    assert [int(arrays["labels"][i]) for i in index] == list(range(10))
    step = np.asarray(header["meta"]["quantization"]["step"])
    assert (np.abs(codes[index] - mu.numpy()) <= step / 2 + 1e-6).all()


def test_write_tensors_refuses_other_dtypes(tmp_path) -> None:
    with pytest.raises(ValueError, match="dtype"):
        write_tensors(tmp_path / "x.json", {"a": np.zeros(3, dtype=np.float64)})


def test_load_latent2d_checks_the_file() -> None:
    model = load_latent2d()
    assert model.z_dim == 2 and "python -m vae_lib train" in model.extra["command"]
    assert latent2d_path().stat().st_size <= 2_000_000


def test_prior_round_trip_equals_the_state_dict(tmp_path) -> None:
    """The 2-D latent diffusion prior: every exported array is the torch tensor, bit for bit (float32); the
    config and the float64 betas come back exactly; numpy_epsilon on the file gives the torch model's eps."""
    model, betas, _ = ld.load_prior(dataset="latent2d")
    header, arrays = read_tensors(export_prior(model, betas, tmp_path / "prior.json", {"from": "test"}))
    state = model.state_dict()
    assert set(arrays) == set(state)
    for name, value in state.items():
        assert arrays[name].dtype == np.float32 and arrays[name].shape == tuple(value.shape), name
        np.testing.assert_array_equal(arrays[name], value.numpy())
    assert {k: header["model"][k] for k in model.config()} == model.config()
    assert header["schedule"]["betas"] == betas.to(torch.float64).tolist() and header["schedule"]["name"] == "cosine"
    assert header["schedule"]["no_label"] == model.n_classes == 10 and header["meta"] == {"from": "test"}
    assert header["network"]["blocks"] == [f"blocks.{i}" for i in range(model.layers - 1)]
    g = torch.Generator().manual_seed(0)
    z = 2.0 * torch.randn(64, 2, generator=g)
    t = torch.randint(1, model.T + 1, (64,), generator=g)
    y = torch.randint(0, model.n_classes + 1, (64,), generator=g)
    with torch.no_grad():
        expected = model(z, t, y).numpy()
    got = ld.numpy_epsilon(header["model"], arrays, z.numpy(), t.numpy(), y.numpy())
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="betas"):
        export_prior(model, betas[:-1], tmp_path / "bad.json")
    with pytest.raises(TypeError, match="EpsilonMLP"):
        export_prior(load_latent2d(), betas, tmp_path / "bad.json")


def test_book_models_include_the_2d_prior(tmp_path) -> None:
    """The build writes the prior of the 2-D VAE beside the VAEs, with the sha256 of the shipped file."""
    headers = export_book_models(tmp_path)
    assert [h.name for h in headers] == ["latent2d.json", "flagship.json", "latent2d_prior.json"]
    header, arrays = read_tensors(tmp_path / "latent2d_prior.json")
    assert header["meta"]["sha256"] == ld.SHIPPED["latent2d"][1] and header["meta"]["vae"] == latent2d_path().name
    assert header["model"]["z_dim"] == 2 and "--dataset latent2d" in header["meta"]["command"]
    assert (tmp_path / "latent2d_prior.bin").stat().st_size == sum(a.nbytes for a in arrays.values())
