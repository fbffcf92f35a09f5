"""ELBO, IWAE and importance sampling on a linear-Gaussian model where log p(x) and p(z|x) are exact.

Model: z ~ N(0, I_K), x | z ~ N(W z + b, s^2 I_D). Then x ~ N(b, W W^T + s^2 I) and the posterior is
N(m, S) with S = (I + W^T W / s^2)^-1 and m = S W^T (x - b) / s^2. W has orthogonal columns, so S is
diagonal and a diagonal-Gaussian q can equal the posterior exactly.
"""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from vae_lib.distributions import log_normal_diag
from vae_lib.objectives import check_data, elbo, iwae_bound, log_px_importance
from vae_lib.models import VAE

K, D, S2 = 2, 5, 0.5


class LinearGaussian(torch.nn.Module):
    """A 'VAE' whose decoder is linear-Gaussian and whose encoder returns a q we choose."""

    likelihood = "gaussian"
    x_dim = D

    def __init__(self, q_mu_fn, q_logvar_fn):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        Q, _ = torch.linalg.qr(torch.randn(D, K, generator=g, dtype=torch.float64))
        self.W = Q * torch.tensor([2.0, 0.7], dtype=torch.float64)  # orthogonal columns
        self.b = torch.randn(D, generator=g, dtype=torch.float64)
        self.q_mu_fn, self.q_logvar_fn = q_mu_fn, q_logvar_fn

    def encode(self, x):
        return self.q_mu_fn(x), self.q_logvar_fn(x)

    @staticmethod
    def reparameterize(mu, logvar):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z):
        mean = z @ self.W.T + self.b
        return mean, torch.full_like(mean, math.log(S2))

    def log_likelihood(self, x, decoded):
        return log_normal_diag(x, *decoded)

    # exact quantities
    def log_px(self, x):
        cov = self.W @ self.W.T + S2 * torch.eye(D, dtype=torch.float64)
        return MultivariateNormal(self.b, cov).log_prob(x)

    def posterior(self, x):
        S = torch.linalg.inv(torch.eye(K, dtype=torch.float64) + self.W.T @ self.W / S2)
        m = (x - self.b) @ self.W @ S / S2  # S symmetric
        return m, torch.log(torch.diagonal(S)).expand_as(m)


def exact_model():
    holder = {}
    model = LinearGaussian(lambda x: holder["m"].posterior(x)[0], lambda x: holder["m"].posterior(x)[1])
    holder["m"] = model
    return model


def data(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, D, generator=g, dtype=torch.float64) * 2


def test_posterior_is_diagonal_so_q_can_match_it():
    model = exact_model()
    S = torch.linalg.inv(torch.eye(K, dtype=torch.float64) + model.W.T @ model.W / S2)
    assert abs(S[0, 1].item()) < 1e-12


def test_elbo_is_below_log_px_for_an_arbitrary_q():
    torch.manual_seed(0)
    model = LinearGaussian(lambda x: torch.zeros(len(x), K, dtype=x.dtype) + 0.3, lambda x: torch.zeros(len(x), K, dtype=x.dtype))
    x = data(3)
    reps = 20_000
    terms = elbo(model, x.repeat(reps, 1), check=False)
    per_x = terms.elbo.reshape(reps, 3)
    mean, se = per_x.mean(0), per_x.std(0) / math.sqrt(reps)
    assert (mean + 4 * se < model.log_px(x)).all()


def test_elbo_equals_log_px_when_q_is_the_posterior():
    torch.manual_seed(0)
    model = exact_model()
    x = data(3)
    # the importance weight p(x, z) / q(z|x) equals p(x) for every z: one sample is exact
    torch.testing.assert_close(iwae_bound(model, x, k=1, check=False), model.log_px(x), atol=1e-4, rtol=0)
    # the ELBO (reconstruction - closed-form KL) averages to log p(x)
    reps = 50_000
    per_x = elbo(model, x.repeat(reps, 1), check=False).elbo.reshape(reps, 3)
    assert (per_x.mean(0) - model.log_px(x)).abs().max() < 4 * (per_x.std(0) / math.sqrt(reps)).max() + 1e-4


def test_iwae_rises_with_k_towards_log_px():
    torch.manual_seed(0)
    shift = lambda x: torch.full((len(x), K), 0.8, dtype=x.dtype)
    model = LinearGaussian(shift, lambda x: torch.full((len(x), K), 0.5, dtype=x.dtype))
    x = data(2)
    reps = 400
    means = []
    for k in (1, 10, 100, 1000):
        means.append(iwae_bound(model, x.repeat(reps, 1), k, check=False).reshape(reps, 2).mean(0))
    exact = model.log_px(x)
    for lo, hi in zip(means, means[1:]):
        assert (hi > lo).all()
    assert (means[-1] <= exact + 0.05).all()
    assert ((exact - means[-1]).abs() < (exact - means[0]).abs() / 10).all()


def test_importance_sampling_estimate_and_standard_error():
    torch.manual_seed(0)
    # a proposal that is off-centre and wider than the posterior: well-behaved, but not exact
    holder = {}
    model = LinearGaussian(lambda x: holder["m"].posterior(x)[0] + 0.3, lambda x: holder["m"].posterior(x)[1] + 0.7)
    holder["m"] = model
    x = data(4)
    est, se = log_px_importance(model, x, k=5000, max_rows=2000, check=False)  # several chunks
    assert est.shape == se.shape == (4,)
    assert ((est - model.log_px(x)).abs() < 4 * se + 1e-3).all()
    assert (se > 0).all()


def test_importance_sampling_is_chunk_size_independent():
    model = exact_model()
    x = data(3)
    torch.manual_seed(5)
    a, _ = log_px_importance(model, x, k=300, max_rows=10_000, check=False)
    torch.manual_seed(5)
    b, _ = log_px_importance(model, x, k=300, max_rows=3, check=False)
    torch.testing.assert_close(a, b)  # exact posterior: every chunking gives log p(x)


def test_elbo_terms_on_a_vae():
    torch.manual_seed(0)
    model = VAE(z_dim=3, hidden=(16,))
    x = (torch.rand(6, 784) > 0.5).float()
    torch.manual_seed(1)
    t1 = elbo(model, x, beta=1.0)
    torch.manual_seed(1)
    t2 = elbo(model, x, beta=2.5)
    torch.testing.assert_close(t1.recon, t2.recon)
    torch.testing.assert_close(t2.elbo, t2.recon - 2.5 * t2.kl)
    assert t1.elbo.shape == (6,) and (t1.kl >= 0).all()


@pytest.mark.parametrize(
    "x, error, match",
    [
        (torch.rand(4, 784), ValueError, "binary"),
        (torch.full((4, 784), 2.0), ValueError, r"\[0, 1\]"),
        (torch.full((4, 784), float("nan")), ValueError, "NaN"),
        (torch.ones(4, 28, 28), ValueError, "shape"),
        (torch.ones(4, 784, dtype=torch.int64), TypeError, "floating"),
        ("not a tensor", TypeError, "torch.Tensor"),
    ],
)
def test_check_data_refuses_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        check_data(VAE(z_dim=2, hidden=(8,)), x)


def test_gaussian_model_accepts_grey_pixels_and_bad_k_or_beta_refused():
    model = VAE(z_dim=2, hidden=(8,), likelihood="gaussian")
    x = torch.rand(4, 784)
    check_data(model, x)
    with pytest.raises(ValueError, match="k"):
        iwae_bound(model, x, 0)
    with pytest.raises(ValueError, match="k"):
        log_px_importance(model, x, k=-1)
    with pytest.raises(ValueError, match="beta"):
        elbo(model, x, beta=-1.0)


def test_iwae_terms_is_exact_when_q_is_the_posterior():
    from vae_lib.objectives import iwae_terms

    torch.manual_seed(0)
    model = exact_model()
    x = data(3)
    t = iwae_terms(model, x, k=7, check=False)
    exact = model.log_px(x)
    # every importance weight equals p(x): the bound, its ELBO average and recon - kl are all log p(x)
    torch.testing.assert_close(t.iwae, exact, atol=1e-6, rtol=0)
    torch.testing.assert_close(t.elbo, exact, atol=1e-6, rtol=0)
    torch.testing.assert_close(t.recon - t.kl, exact, atol=1e-6, rtol=0)


def test_iwae_terms_matches_iwae_bound_and_closed_form_kl():
    from torch.distributions import Normal, kl_divergence

    from vae_lib.objectives import iwae_terms

    shift = lambda x: torch.full((len(x), K), 0.8, dtype=x.dtype)
    model = LinearGaussian(shift, lambda x: torch.full((len(x), K), -0.5, dtype=x.dtype))
    x = data(4)
    torch.manual_seed(3)
    t = iwae_terms(model, x, k=20, check=False)
    torch.manual_seed(3)
    torch.testing.assert_close(t.iwae, iwae_bound(model, x, k=20, check=False))  # same samples, same bound
    assert (t.iwae >= t.elbo).all()  # Jensen on the same k samples
    # the Monte Carlo KL averages to the closed form KL(q || N(0, I)) (torch.distributions)
    torch.manual_seed(4)
    big = iwae_terms(model, x[:1], k=200_000, check=False)
    q = Normal(torch.tensor([0.8, 0.8], dtype=torch.float64), torch.exp(0.5 * torch.tensor([-0.5, -0.5], dtype=torch.float64)))
    p = Normal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    assert abs(big.kl.item() - kl_divergence(q, p).sum().item()) < 0.01


def test_iwae_terms_trains_the_encoder_and_refuses_bad_k():
    from vae_lib.objectives import iwae_terms

    torch.manual_seed(0)
    vae = VAE(x_dim=6, z_dim=2, hidden=(8,))
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    iwae_terms(vae, x, k=4).iwae.sum().backward()
    assert vae.to_mu.weight.grad.abs().sum() > 0 and vae.to_logvar.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="k"):
        iwae_terms(vae, x, k=0)
    with pytest.raises(ValueError, match="binary"):
        iwae_terms(vae, x * 0.5, k=2)
