"""vae_lib.autoregressive: the MADE decoder is autoregressive, the ARVAE's terms are the ELBO, free bits work."""

from __future__ import annotations

import math

import pytest
import torch

from vae_lib import autoregressive as ar


@pytest.mark.parametrize("hidden", [(32,), (24, 40)])
@pytest.mark.parametrize("cond_to", ["hidden", "output"])
def test_made_logit_d_depends_only_on_earlier_pixels(hidden, cond_to):
    torch.manual_seed(0)
    D = 10
    made = ar.MADE(D, hidden, cond_dim=3, cond_to=cond_to)
    for p in made.parameters():  # make every allowed path non-trivial
        torch.nn.init.normal_(p, std=0.5)
    x = torch.bernoulli(torch.full((D,), 0.5))
    c = torch.randn(3)
    jac = torch.autograd.functional.jacobian(lambda v: made(v, c), x)  # [D out, D in]
    upper = torch.triu(torch.ones(D, D, dtype=torch.bool))  # j >= d: must not influence logit d
    assert torch.all(jac[upper] == 0), "logit d must not depend on x_d, x_{d+1}, ..."
    assert torch.all(jac[~upper].abs().sum() > 0), "logits must depend on earlier pixels"
    assert (jac[1:, 0] != 0).all(), "pixel 1 feeds every later logit (direct connection)"
    jac_c = torch.autograd.functional.jacobian(lambda v: made(x, v), c)
    assert (jac_c.abs().sum(-1) > 0).all(), "every logit depends on the condition z"


def test_made_rejects_bad_settings():
    with pytest.raises(ValueError):
        ar.MADE(1)
    with pytest.raises(ValueError):
        ar.MADE(5, cond_dim=2, cond_to="nowhere")
    with pytest.raises(ValueError):
        ar.ARVAE(decoder="pixelcnn")


def test_zero_init_decoder_ignores_z_and_log_likelihood_is_bernoulli():
    torch.manual_seed(1)
    m = ar.ARVAE(
        x_dim=12, z_dim=3, hidden=(16,), dec_hidden=(20,), cond_to="output", zero_init_cond=True
    )
    x = torch.bernoulli(torch.full((4, 12), 0.3))
    z1, z2 = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.equal(m.log_likelihood(x, z1), m.log_likelihood(x, z2))
    logits = m.decode(z1, x)
    direct = (x * torch.sigmoid(logits).log() + (1 - x) * (1 - torch.sigmoid(logits)).log()).sum(-1)
    assert torch.allclose(m.log_likelihood(x, z1), direct, atol=1e-5)
    # sample-leading dimensions broadcast: z [k, B, K] with x [B, D]
    assert m.log_likelihood(x, torch.randn(5, 4, 3)).shape == (5, 4)


def _exact_log_px_tiny(m: ar.ARVAE, x: torch.Tensor) -> torch.Tensor:
    """log p(x) by brute-force quadrature over a 1-D latent (z_dim = 1): a reference for iwae_bound."""
    z = torch.linspace(-8, 8, 4001)[:, None, None].expand(-1, len(x), 1)  # [G, B, 1]
    log_joint = m.log_likelihood(x, z) - 0.5 * (math.log(2 * math.pi) + z[..., 0] ** 2)
    return torch.logsumexp(log_joint, 0) + math.log(16 / 4000)


def test_iwae_bound_below_and_near_log_px():
    torch.manual_seed(2)
    m = ar.ARVAE(x_dim=6, z_dim=1, hidden=(8,), dec_hidden=(8,), decoder="mlp")
    x = torch.bernoulli(torch.full((3, 6), 0.5))
    exact = _exact_log_px_tiny(m, x)
    with torch.no_grad():
        b1 = torch.stack([ar.iwae_bound(m, x, 1) for _ in range(200)]).mean(0)
        b2k = ar.iwae_bound(m, x, 20_000)
    assert (b1 < exact + 1e-3).all(), "the ELBO lies below log p(x)"
    assert torch.allclose(b2k, exact, atol=0.02), (b2k, exact)


def test_free_bits_keep_the_kl_of_a_collapsing_model():
    torch.manual_seed(3)
    g = torch.Generator().manual_seed(0)
    x = torch.bernoulli(torch.full((256, 12), 0.5), generator=g)  # pure noise: z is useless
    plain = ar.ARVAE(x_dim=12, z_dim=4, hidden=(16,), dec_hidden=(16,), cond_to="output")
    fb = ar.ARVAE(x_dim=12, z_dim=4, hidden=(16,), dec_hidden=(16,), cond_to="output")
    fb.load_state_dict(plain.state_dict())
    h_plain = ar.train(plain, x, epochs=30, batch_size=64, lr=1e-2, binarize=False)
    h_fb = ar.train(fb, x, epochs=30, batch_size=64, lr=1e-2, free_bits=0.5, binarize=False)
    assert h_plain[-1]["kl"] < 0.2, "with useless z the ELBO drives the KL towards 0"
    assert h_fb[-1]["kl"] > 4 * 0.5 * 0.8, "free bits: each of 4 units keeps about 0.5 nats"
    for row in h_fb:
        assert math.isclose(row["elbo"], row["recon"] - row["kl"], rel_tol=1e-5)


def test_train_warmup_and_cosine_schedule():
    torch.manual_seed(4)
    x = torch.rand(100, 12)
    m = ar.ARVAE(x_dim=12, z_dim=2, hidden=(8,), dec_hidden=(8,))
    h = ar.train(m, x, epochs=4, batch_size=50, lr=1e-3, warmup_epochs=2, lr_end=1e-5)
    assert [round(r["beta"], 6) for r in h] == [0.5, 1.0, 1.0, 1.0]
    assert not m.training


def test_sample_shapes_and_values():
    torch.manual_seed(5)
    for dec in ("made", "mlp"):
        m = ar.ARVAE(x_dim=9, z_dim=2, hidden=(8,), dec_hidden=(8,), decoder=dec)
        s = m.sample(3, generator=torch.Generator().manual_seed(0))
        assert s.shape == (3, 9) and set(s.unique().tolist()) <= {0.0, 1.0}


def test_train_binarizes_with_the_cpu_generator_on_the_best_device():
    # ar.train's dynamic binarization draws from a CPU generator; data on the GPU (chapter 9 on a
    # GPU) must not raise "Expected a 'cuda' device type for generator". Runs on CUDA where there is
    # one, else on the CPU, so it never skips.
    from vae_lib.train import select_device

    device = select_device()
    torch.manual_seed(0)
    model = ar.ARVAE(x_dim=12, z_dim=2, hidden=(8,), dec_hidden=(16,)).to(device)
    history = ar.train(model, torch.rand(64, 12, device=device), epochs=2, batch_size=16, seed=0)
    assert len(history) == 2 and all(math.isfinite(row["elbo"]) for row in history)
