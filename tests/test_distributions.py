"""Every log-density and KL in vae_lib.distributions against torch.distributions and scipy.stats."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from vae_lib import distributions as D


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(1234)


def random_gaussian(gen, shape):
    mu = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    logvar = torch.randn(shape, generator=gen, dtype=torch.float64)
    return mu, logvar


def test_log_normal_diag_matches_torch_and_scipy(rng):
    mu, logvar = random_gaussian(rng, (7, 5))
    x = torch.randn((7, 5), generator=rng, dtype=torch.float64) * 3
    ours = D.log_normal_diag(x, mu, logvar)
    ref = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1).log_prob(x)
    torch.testing.assert_close(ours, ref)
    sp = stats.multivariate_normal(mu[0].numpy(), np.diag(np.exp(logvar[0].numpy()))).logpdf(x[0].numpy())
    assert ours[0].item() == pytest.approx(sp, rel=1e-10)


def test_log_normal_diag_broadcasts_over_samples(rng):
    mu, logvar = random_gaussian(rng, (4, 3))
    z = torch.randn((6, 4, 3), generator=rng, dtype=torch.float64)
    out = D.log_normal_diag(z, mu, logvar)
    assert out.shape == (6, 4)
    torch.testing.assert_close(out[2], D.log_normal_diag(z[2], mu, logvar))


def test_log_standard_normal(rng):
    z = torch.randn((9, 4), generator=rng, dtype=torch.float64)
    ref = Independent(Normal(torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)), 1).log_prob(z)
    torch.testing.assert_close(D.log_standard_normal(z), ref)


def test_log_bernoulli_logits_matches_torch_and_scipy(rng):
    logits = torch.randn((8, 10), generator=rng, dtype=torch.float64) * 4
    x = torch.bernoulli(torch.full((8, 10), 0.4, dtype=torch.float64), generator=rng)
    ours = D.log_bernoulli_logits(x, logits)
    torch.testing.assert_close(ours, Independent(Bernoulli(logits=logits), 1).log_prob(x))
    p = torch.sigmoid(logits[0]).numpy()
    assert ours[0].item() == pytest.approx(stats.bernoulli(p).logpmf(x[0].numpy()).sum(), rel=1e-9)


def test_log_bernoulli_is_stable_for_extreme_logits():
    logits = torch.tensor([[200.0, -200.0, 200.0]])
    x = torch.tensor([[1.0, 0.0, 0.0]])
    out = D.log_bernoulli_logits(x, logits)
    assert torch.isfinite(out).all()
    assert out.item() == pytest.approx(-200.0, abs=1e-4)  # only the third pixel is wrong, log sigmoid(-200)


def test_kl_normal_diag_matches_torch(rng):
    mq, lq = random_gaussian(rng, (6, 4))
    mp, lp = random_gaussian(rng, (6, 4))
    ref = kl_divergence(Independent(Normal(mq, torch.exp(0.5 * lq)), 1), Independent(Normal(mp, torch.exp(0.5 * lp)), 1))
    torch.testing.assert_close(D.kl_normal_diag(mq, lq, mp, lp), ref)


def test_kl_standard_normal_matches_torch_and_general_form(rng):
    mu, logvar = random_gaussian(rng, (5, 3))
    zeros = torch.zeros_like(mu)
    ref = kl_divergence(Independent(Normal(mu, torch.exp(0.5 * logvar)), 1), Independent(Normal(zeros, torch.ones_like(mu)), 1))
    torch.testing.assert_close(D.kl_standard_normal(mu, logvar), ref)
    torch.testing.assert_close(D.kl_standard_normal(mu, logvar), D.kl_normal_diag(mu, logvar, zeros, zeros))


def test_kl_is_zero_only_for_equal_distributions(rng):
    mu, logvar = random_gaussian(rng, (3, 4))
    assert torch.allclose(D.kl_normal_diag(mu, logvar, mu, logvar), torch.zeros(3, dtype=torch.float64))
    assert (D.kl_normal_diag(mu, logvar, mu + 0.1, logvar) > 0).all()


def test_monte_carlo_kl_agrees_with_closed_form_within_4_standard_errors():
    q = Independent(Normal(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.8, 1.5, 0.3])), 1)
    p = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    exact = kl_divergence(q, p).item()
    est, se = D.monte_carlo_kl(q, p, 20_000, generator=torch.Generator().manual_seed(0))
    assert se > 0
    assert abs(est - exact) < 4 * se, (est, se, exact)


def test_monte_carlo_kl_is_reproducible_with_generator_and_se_shrinks():
    q, p = Normal(torch.tensor(1.0), torch.tensor(0.5)), Normal(torch.tensor(0.0), torch.tensor(1.0))
    a = D.monte_carlo_kl(q, p, 1000, generator=torch.Generator().manual_seed(3))
    b = D.monte_carlo_kl(q, p, 1000, generator=torch.Generator().manual_seed(3))
    assert a == b
    _, se_big = D.monte_carlo_kl(q, p, 16_000, generator=torch.Generator().manual_seed(3))
    assert se_big < a[1] / 2  # 16x samples -> about 4x smaller standard error


@pytest.mark.parametrize("n", [0, 1, -5, 2.5, True])
def test_monte_carlo_kl_rejects_bad_sample_counts(n):
    q = Normal(torch.tensor(0.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match="n >= 2"):
        D.monte_carlo_kl(q, q, n)
