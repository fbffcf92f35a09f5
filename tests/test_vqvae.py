"""vae_lib.vqvae: nearest-code quantization, the straight-through gradient, the three loss terms."""

from __future__ import annotations

import math

import pytest
import torch

from vae_lib.vqvae import VQVAE, codebook_usage, quantize, straight_through, train_vqvae


def test_quantize_picks_the_nearest_code() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, 3, generator=g)
    codebook = torch.randn(11, 3, generator=g)
    idx, zq = quantize(z, codebook)
    brute = torch.cdist(z.reshape(-1, 3), codebook).argmin(1).reshape(7, 5)
    assert idx.shape == (7, 5) and zq.shape == z.shape
    assert torch.equal(idx, brute)
    assert torch.equal(zq, codebook[brute])


def test_straight_through_value_and_gradient() -> None:
    g = torch.Generator().manual_seed(1)
    z_e = torch.randn(4, 3, generator=g, requires_grad=True)
    z_q = torch.randn(4, 3, generator=g)
    z_st = straight_through(z_e, z_q)
    assert torch.allclose(z_st, z_q, atol=1e-6)
    upstream = torch.randn(4, 3, generator=g)
    (grad,) = torch.autograd.grad((z_st * upstream).sum(), [z_e])
    assert torch.equal(grad, upstream), "the upstream gradient reaches z_e unchanged"


def test_codebook_usage_perplexity() -> None:
    assert codebook_usage(torch.zeros(20, dtype=torch.long), 8) == (pytest.approx(1.0), 1)
    ppl, used = codebook_usage(torch.arange(8).repeat(5), 8)
    assert ppl == pytest.approx(8.0) and used == 8
    ppl, used = codebook_usage(torch.tensor([0, 0, 0, 3]), 8)  # 3:1
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert ppl == pytest.approx(math.exp(h)) and used == 2


def _model() -> VQVAE:
    torch.manual_seed(0)
    return VQVAE(x_dim=16, num_latents=3, code_dim=2, num_codes=5, hidden=8)


def test_terms_shapes_and_gradient_routing() -> None:
    model = _model()
    x = torch.bernoulli(torch.full((6, 16), 0.5), generator=torch.Generator().manual_seed(0))
    t = model.terms(x, beta=0.25)
    assert t.loss.shape == t.recon.shape == t.codebook.shape == (6,)
    assert t.indices.shape == (6, 3) and int(t.indices.max()) < 5
    assert torch.allclose(t.codebook, t.commitment), "same distance, different stop-gradients"
    assert torch.allclose(t.loss, -t.recon + t.codebook + 0.25 * t.commitment)
    enc = list(model.encoder.parameters())
    dec = list(model.decoder.parameters())
    # codebook loss moves only the codes; commitment loss only the encoder
    g = torch.autograd.grad(t.codebook.sum(), [model.codebook, *enc, *dec], allow_unused=True, retain_graph=True)
    assert g[0] is not None and g[0].abs().sum() > 0 and all(v is None for v in g[1:])
    g = torch.autograd.grad(t.commitment.sum(), [model.codebook, *enc, *dec], allow_unused=True, retain_graph=True)
    assert g[0] is None and all(v is not None for v in g[1 : 1 + len(enc)]) and all(v is None for v in g[1 + len(enc):])
    # reconstruction: decoder and (through straight-through) encoder, never the codebook
    g = torch.autograd.grad(t.recon.sum(), [model.codebook, *enc], allow_unused=True)
    assert g[0] is None and all(v is not None and v.abs().sum() > 0 for v in g[1:])


def test_init_codebook_uses_encoder_outputs() -> None:
    model = _model()
    x = torch.rand(4, 16)
    model.init_codebook(x, generator=torch.Generator().manual_seed(0))
    z = model.encode(x).reshape(-1, 2)
    assert all(torch.isclose(z, code).all(1).any() for code in model.codebook)
    with pytest.raises(ValueError, match="at least"):
        model.init_codebook(x[:1])


def test_kl_constant() -> None:
    assert _model().kl_constant() == pytest.approx(3 * math.log(5))


def test_training_lowers_the_loss_and_uses_the_codes() -> None:
    g = torch.Generator().manual_seed(0)
    prototypes = (torch.rand(4, 16, generator=g) > 0.5).float() * 0.9 + 0.05  # 4 digit-like classes
    x = prototypes[torch.randint(0, 4, (512,), generator=g)]
    model = _model()
    history = train_vqvae(model, x, epochs=10, batch_size=64, lr=2e-3, seed=0)
    assert history[-1]["recon"] > history[0]["recon"] + 1.0, "reconstruction improves by > 1 nat"
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["used"] >= 2
    again = train_vqvae(_model(), x, epochs=10, batch_size=64, lr=2e-3, seed=0)
    assert again[-1]["loss"] == pytest.approx(history[-1]["loss"]), "seeded runs repeat"
