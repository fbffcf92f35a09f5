"""vae_lib.diffusion: the 1-D diffusion's ELBO as a sum of Gaussian KL terms."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_lib import diffusion

BETAS = torch.linspace(0.05, 0.5, 8, dtype=torch.float64)
M, S2 = 1.5, 0.3


def test_alpha_bars() -> None:
    ab = diffusion.alpha_bars(BETAS)
    assert ab.shape == (9,) and ab[0] == 1
    assert ab[3].item() == pytest.approx(float((1 - BETAS[:3]).prod()))


def test_gaussian_kl_matches_torch() -> None:
    ref = kl_divergence(Normal(0.3, 1.2), Normal(-0.4, 0.7)).item()
    assert diffusion.gaussian_kl(0.3, 1.44, -0.4, 0.49).item() == pytest.approx(ref)


def test_q_sample_has_the_forward_marginals() -> None:
    g = torch.Generator().manual_seed(0)
    xs = diffusion.q_sample(torch.full((100_000,), 2.0, dtype=torch.float64), BETAS, g)
    ab = diffusion.alpha_bars(BETAS)
    for t in (1, 4, 8):
        se = math.sqrt((1 - ab[t]) / 100_000)
        assert abs(xs[t].mean() - math.sqrt(ab[t]) * 2.0) < 4 * se
        assert abs(xs[t].var() - (1 - ab[t])) < 4 * (1 - ab[t]) * math.sqrt(2 / 100_000)


def test_posterior_equals_gaussian_conditioning() -> None:
    ab = diffusion.alpha_bars(BETAS)
    for t in range(2, 9):
        c0, c1, tb = diffusion.posterior(t, BETAS)
        cov = torch.tensor([[1 - ab[t - 1], math.sqrt(1 - BETAS[t - 1]) * (1 - ab[t - 1])],
                            [math.sqrt(1 - BETAS[t - 1]) * (1 - ab[t - 1]), 1 - ab[t]]], dtype=torch.float64)
        gain = cov[0, 1] / cov[1, 1]
        assert c1.item() == pytest.approx(gain.item())
        assert c0.item() == pytest.approx((math.sqrt(ab[t - 1]) - gain * math.sqrt(ab[t])).item())
        assert tb.item() == pytest.approx((cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1]).item())


def test_optimal_reverse_inverts_the_forward_chain() -> None:
    a, b, v = diffusion.optimal_reverse(M, S2, BETAS)
    ab = diffusion.alpha_bars(BETAS)
    mean_T, var_T = math.sqrt(ab[-1]) * M, (ab[-1] * S2 + 1 - ab[-1]).item()
    mean0, var0 = diffusion.model_marginal(a, b, v, mean_T, var_T)  # start from q(x_T) itself
    assert mean0.item() == pytest.approx(M) and var0.item() == pytest.approx(S2)


def test_elbo_terms_match_monte_carlo_for_any_reverse_process() -> None:
    g = torch.Generator().manual_seed(1)
    a = 0.8 + 0.4 * torch.rand(8, dtype=torch.float64, generator=g)  # deliberately not optimal
    b = 0.3 * torch.randn(8, dtype=torch.float64, generator=g)
    v = 0.1 + torch.rand(8, dtype=torch.float64, generator=g)
    x0 = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    terms = diffusion.elbo_terms(x0, BETAS, a, b, v)
    assert terms["L_t"].shape == (7, 3) and (terms["L_t"] >= 0).all() and (terms["L_T"] >= 0).all()
    mc = diffusion.mc_elbo(x0, BETAS, a, b, v, n=200_000, generator=g)
    se = mc.std(0) / math.sqrt(mc.shape[0])
    assert (abs(mc.mean(0) - terms["elbo"]) < 4 * se).all(), (mc.mean(0), terms["elbo"], se)
    exact = diffusion.log_normal(x0, *diffusion.model_marginal(a, b, v))
    assert (terms["elbo"] < exact).all()


def test_optimal_elbo_closed_form_and_gap() -> None:
    a, b, v = diffusion.optimal_reverse(M, S2, BETAS)
    g = torch.Generator().manual_seed(2)
    x0 = M + math.sqrt(S2) * torch.randn(200_000, dtype=torch.float64, generator=g)
    elbo = diffusion.elbo_terms(x0, BETAS, a, b, v)["elbo"]
    ab = diffusion.alpha_bars(BETAS)
    kl_T = diffusion.gaussian_kl(math.sqrt(ab[-1]) * M, ab[-1] * S2 + 1 - ab[-1], 0.0, 1.0).item()
    closed = -0.5 * math.log(2 * math.pi * math.e * S2) - kl_T
    assert abs(elbo.mean() - closed) < 4 * elbo.std() / math.sqrt(len(x0))
    p_mean, p_var = diffusion.model_marginal(a, b, v)
    gaps = diffusion.log_normal(x0, p_mean, p_var) - elbo  # [n], >= 0 for every x0
    expected = kl_T - diffusion.gaussian_kl(M, S2, p_mean, p_var).item()
    assert (gaps > 0).all()
    assert abs(gaps.mean() - expected) < 4 * gaps.std() / math.sqrt(len(x0)), (gaps.mean(), expected)
    # any other reverse process has a lower average ELBO
    worse = diffusion.elbo_terms(x0, BETAS, a * 1.05, b, v)["elbo"]
    assert worse.mean() < elbo.mean()
