"""vae_lib.latent_diffusion: the DDPM on latent codes of chapter 12, checked against closed forms."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_lib import VaeLibError, diffusion
from vae_lib import latent_diffusion as ld

BETAS = ld.cosine_betas(100)


def test_cosine_schedule_ends_near_pure_noise() -> None:
    s = ld.schedule(BETAS)
    assert s["abar"][0] == 1 and torch.all(s["abar"][1:] < s["abar"][:-1])
    assert s["abar"][-1] < 1e-4
    assert torch.allclose(s["abar"], diffusion.alpha_bars(BETAS))  # chapter 11's implementation


def test_forward_marginals_match_the_stepwise_chain() -> None:
    """z_t from one jump equals, in distribution, t steps of q(z_t | z_{t-1}) (mean and variance, 4 SE)."""
    gen = torch.Generator().manual_seed(0)
    n, t = 40_000, 30
    z0 = torch.tensor([[1.5, -2.0]], dtype=torch.float64).expand(n, 2)
    z = z0.clone()
    for beta in BETAS[:t]:
        z = torch.sqrt(1 - beta) * z + torch.sqrt(beta) * torch.randn(z.shape, generator=gen, dtype=torch.float64)
    abar = ld.schedule(BETAS)["abar"][t]
    jump = ld.q_sample(z0, torch.full((n,), t), BETAS, torch.randn(z0.shape, generator=gen, dtype=torch.float64))
    for draws in (z, jump):
        se_mean = math.sqrt((1 - abar) / n)
        assert torch.all((draws.mean(0) - abar.sqrt() * z0[0]).abs() < 4 * se_mean)
        se_var = (1 - abar) * math.sqrt(2 / (n - 1))
        assert torch.all((draws.var(0) - (1 - abar)).abs() < 4 * se_var)


def _model(n_classes: int = 0, dtype: torch.dtype = torch.float64) -> ld.EpsilonMLP:
    torch.manual_seed(0)
    return ld.EpsilonMLP(z_dim=3, T=len(BETAS), hidden=32, layers=3, time_dim=8, n_classes=n_classes).to(dtype)


def test_the_weighted_epsilon_errors_are_the_gaussian_kl_terms_of_chapter_11() -> None:
    """L_{t-1} = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) ||eps - eps_theta||^2 equals
    KL(q(z_{t-1} | z_t, z_0) || p(z_{t-1} | z_t)) computed from chapter 11's posterior, draw by draw."""
    model = _model()
    z0 = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    terms = ld.elbo_terms(model, z0, BETAS, generator=torch.Generator().manual_seed(2))
    gen = torch.Generator().manual_seed(2)  # replay the same eps, step by step
    s = ld.schedule(BETAS)
    sigma2 = ld.reverse_variances(BETAS)
    for t in range(1, len(BETAS) + 1):
        eps = torch.randn(z0.shape, generator=gen, dtype=torch.float64)
        steps = torch.full((5,), t)
        zt = ld.q_sample(z0, steps, BETAS, eps)
        with torch.no_grad():
            e = model(zt, steps)
        mu = (zt - s["betas"][t - 1] / torch.sqrt(1 - s["abar"][t]) * e) / torch.sqrt(s["alphas"][t - 1])
        if t == 1:  # L_0 = -log N(z_0; mu_theta(z_1, 1), beta_1)
            expected = -diffusion.log_normal(z0, mu, sigma2[0]).sum(-1)
            assert torch.allclose(terms["L_0"], expected, rtol=1e-9, atol=1e-9)
        else:
            c0, c1, tilde = diffusion.posterior(t, BETAS)
            kl = diffusion.gaussian_kl(c0 * z0 + c1 * zt, tilde, mu, sigma2[t - 1]).sum(-1)
            assert torch.allclose(terms["L_t"][t - 2], kl, rtol=1e-9, atol=1e-9)
    abar_T = s["abar"][-1]
    L_T = diffusion.gaussian_kl(torch.sqrt(abar_T) * z0, 1 - abar_T, 0.0, 1.0).sum(-1)
    assert torch.allclose(terms["L_T"], L_T, rtol=1e-9, atol=1e-12)


def _oracle(m: torch.Tensor, s2: torch.Tensor) -> ld.EpsFn:
    """The optimal eps for data N(m, diag s2): E[eps | z_t] = sqrt(1-abar)(z_t - sqrt(abar) m) / (abar s2 + 1 - abar)."""
    abar = ld.schedule(BETAS)["abar"]

    def eps(z: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        a = abar[t].to(z.dtype).unsqueeze(-1)
        return torch.sqrt(1 - a) * (z - torch.sqrt(a) * m) / (a * s2 + 1 - a)

    return eps


def test_the_sampler_with_the_optimal_denoiser_reproduces_a_gaussian_target() -> None:
    """With the optimal eps every reverse step is linear-Gaussian, so the sampler's output law is known exactly
    (chapter 11's ``model_marginal``): the draws match it within 4 standard errors, and it is the target
    N(m, s2) up to the discretization of 100 steps (under 2.5 % in variance)."""
    m, s2 = torch.tensor([1.0, -2.0, 0.0]), torch.tensor([0.25, 4.0, 1.0])
    s, sigma2 = ld.schedule(BETAS), ld.reverse_variances(BETAS)
    abar, b, alpha = s["abar"][1:], s["betas"], s["alphas"]
    exact_mean, exact_var = [], []
    for i in range(3):  # the reverse step z_{t-1} = A_t z_t + B_t + sigma_t xi of each coordinate
        k = torch.sqrt(1 - abar) / (abar * s2[i] + 1 - abar)
        A = (1 - b * k / torch.sqrt(1 - abar)) / torch.sqrt(alpha)
        B = b * k * torch.sqrt(abar) * m[i] / (torch.sqrt(1 - abar) * torch.sqrt(alpha))
        v = torch.cat([torch.zeros(1, dtype=torch.float64), sigma2[1:]])  # no noise at t = 1
        mean, var = diffusion.model_marginal(A, B, v)
        exact_mean.append(mean)
        exact_var.append(var)
    exact_mean, exact_var = torch.stack(exact_mean).float(), torch.stack(exact_var).float()
    assert torch.all((exact_var / s2 - 1).abs() < 0.025) and torch.all((exact_mean - m).abs() < 0.01)
    n = 20_000
    z = ld.sample(_oracle(m, s2), n, 3, BETAS, generator=torch.Generator().manual_seed(3))
    assert torch.all((z.mean(0) - exact_mean).abs() < 4 * torch.sqrt(exact_var / n)), (z.mean(0), exact_mean)
    se_var = exact_var * math.sqrt(2 / (n - 1))
    assert torch.all((z.var(0) - exact_var).abs() < 4 * se_var), (z.var(0), exact_var)
    # a wrong reverse mean (the sign of eps flipped) does not reproduce it
    wrong = ld.sample(lambda z, t, y: -_oracle(m, s2)(z, t, y), 2000, 3, BETAS,
                      generator=torch.Generator().manual_seed(4))
    assert not torch.all((wrong.mean(0) - m).abs() < 4 * torch.sqrt(s2 / 2000))


def test_the_elbo_of_the_optimal_denoiser_is_a_tight_lower_bound_on_log_density() -> None:
    m, s2 = torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64), torch.tensor([0.25, 4.0, 1.0], dtype=torch.float64)
    gen = torch.Generator().manual_seed(5)
    z0 = m + s2.sqrt() * torch.randn(4000, 3, generator=gen, dtype=torch.float64)
    elbo = ld.elbo_terms(_oracle(m, s2), z0, BETAS, generator=gen)["elbo"]
    exact = diffusion.log_normal(z0, m, s2).sum(-1)
    gap = exact - elbo
    se = gap.std() / math.sqrt(len(gap))
    assert gap.mean() > -4 * se, "the ELBO exceeds log p(z): not a lower bound"
    assert gap.mean() < 0.05, f"the optimal denoiser's bound should be tight, gap {gap.mean():.3f} nats"


def test_guidance_scale_zero_and_one_are_the_unconditional_and_conditional_models() -> None:
    model = _model(n_classes=4, dtype=torch.float32)
    y = torch.tensor([0, 1, 2, 3, 3])
    null = torch.full_like(y, 4)
    guided = {w: ld.sample(model, 5, 3, BETAS, y=y, scale=w, null_label=4,
                           generator=torch.Generator().manual_seed(6)) for w in (0.0, 1.0, 3.0)}
    cond = ld.sample(lambda z, t, _: model(z, t, y), 5, 3, BETAS, y=None, generator=torch.Generator().manual_seed(6))
    uncond = ld.sample(lambda z, t, _: model(z, t, null), 5, 3, BETAS, generator=torch.Generator().manual_seed(6))
    assert torch.allclose(guided[1.0], cond, atol=1e-4)
    assert torch.allclose(guided[0.0], uncond, atol=1e-4)
    assert not torch.allclose(guided[3.0], cond, atol=1e-2)


def test_numpy_forward_matches_torch() -> None:
    model = _model(n_classes=10, dtype=torch.float32)
    arrays = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(6, 3, generator=gen)
    t = torch.tensor([1, 5, 20, 50, 99, 100])
    for y in (None, torch.tensor([0, 3, 9, 10, 2, 1])):
        with torch.no_grad():
            expected = model(z, t, y).numpy()
        got = ld.numpy_epsilon(model.config(), arrays, z.numpy(), t.numpy(), None if y is None else y.numpy())
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_training_learns_to_predict_the_noise() -> None:
    gen = torch.Generator().manual_seed(8)
    codes = torch.tensor([2.0, -1.0, 0.5]) + 0.3 * torch.randn(3000, 3, generator=gen)
    labels = (codes[:, 0] > 2).long()
    torch.manual_seed(9)
    model = ld.EpsilonMLP(3, len(BETAS), hidden=64, layers=2, time_dim=16, n_classes=2)
    history = ld.fit_latent_diffusion(model, codes, BETAS, labels=labels, epochs=8, batch_size=128, seed=10,
                                      progress=False)
    # predicting eps = 0 scores E||eps||^2 = d = 3; the trained model must do clearly better
    assert history[-1] < 0.8 * history[0] and history[-1] < 2.0, history


def test_bad_settings_say_what_to_fix() -> None:
    with pytest.raises(VaeLibError, match="T must be"):
        ld.cosine_betas(0)
    with pytest.raises(VaeLibError, match="time_dim must be even"):
        ld.EpsilonMLP(2, 10, time_dim=5)
    with pytest.raises(VaeLibError, match=r"\[B, 2\]"):
        ld.EpsilonMLP(2, 10)(torch.zeros(4, 3), torch.ones(4, dtype=torch.long))
    with pytest.raises(VaeLibError, match="NaN"):
        ld.EpsilonMLP(2, 10)(torch.full((1, 2), float("nan")), torch.ones(1, dtype=torch.long))
    with pytest.raises(VaeLibError, match="n_classes = 0"):
        ld.fit_latent_diffusion(ld.EpsilonMLP(2, 10), torch.zeros(4, 2), ld.cosine_betas(10), labels=torch.zeros(4).long())


def test_a_saved_prior_loads_back_identically_and_a_foreign_file_is_refused(tmp_path) -> None:
    model = _model(n_classes=10, dtype=torch.float32)
    path = ld.save_prior(tmp_path / "prior.pt", model, BETAS, {"command": "test"})
    back, betas, meta = ld.load_prior(path)
    z, t = torch.randn(4, 3), torch.tensor([1, 2, 50, 100])
    with torch.no_grad():
        assert torch.equal(back(z, t), model(z, t))
    assert torch.equal(betas, BETAS) and meta == {"command": "test"}
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(VaeLibError, match="not a latent diffusion prior"):
        ld.load_prior(tmp_path / "other.pt")
    with pytest.raises(VaeLibError, match="no shipped latent diffusion prior"):
        ld.load_prior(dataset="cifar")


def test_ema_ends_with_the_moving_average_of_the_weights() -> None:
    """One Adam step from theta_0 to theta_1: with ema = m the model ends at m theta_0 + (1 - m) theta_1."""
    codes = torch.randn(64, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    start = _model()
    theta0 = [p.detach().clone() for p in start.parameters()]
    plain, averaged = _model(), _model()
    ld.fit_latent_diffusion(plain, codes, BETAS, epochs=1, batch_size=64, seed=5, progress=False)
    ld.fit_latent_diffusion(averaged, codes, BETAS, epochs=1, batch_size=64, ema=0.9, seed=5, progress=False)
    for p0, p1, pa in zip(theta0, plain.parameters(), averaged.parameters()):
        assert not torch.allclose(p0, p1), "the step moved every weight"
        torch.testing.assert_close(pa, 0.9 * p0 + 0.1 * p1)
    with pytest.raises(VaeLibError, match="ema must be in"):
        ld.fit_latent_diffusion(_model(), codes, BETAS, epochs=1, ema=1.0, progress=False)


SHARED_DATA = Path(os.environ.get("VAE_LIB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(),
                    reason="MNIST not present in $VAE_LIB_DATA or ../shared/data")
def test_the_shipped_2d_prior_samples_the_aggregate_posterior_of_the_2d_vae() -> None:
    """load_prior(dataset="latent2d"): the prior of the explorable's 2-D VAE. Its draws have the mean of the
    training codes z ~ q(z|x) (4 standard errors) and their variances up to a 5 % bias (measured: 2-3 % low)
    plus 4 standard errors; draws of N(0, I) instead (variance ratios 0.61 and 0.51) fail both."""
    from vae_lib.data import dynamic_binarize, load_mnist
    from vae_lib.export import load_latent2d

    model, betas, meta = ld.load_prior(dataset="latent2d")
    assert model.config() == {"z_dim": 2, "T": 50, "hidden": 64, "layers": 3, "time_dim": 64, "n_classes": 10}
    assert "--dataset latent2d" in meta["command"] and len(meta["history"]) == 200
    x, _ = load_mnist("train")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        mu, logvar = load_latent2d().encode(dynamic_binarize(x[:20_000], generator=gen))
    codes = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen)
    n = 4000
    z = ld.sample(model, n, 2, betas, null_label=10, generator=gen)
    se = torch.sqrt(codes.var(0) / n + z.var(0) / len(codes))
    assert torch.all((z.mean(0) - codes.mean(0)).abs() < 4 * se), (z.mean(0), codes.mean(0), se)
    se_ratio = math.sqrt(2 / (n - 1))  # standard error of a sample variance, relative
    assert torch.all((z.var(0) / codes.var(0) - 1).abs() < 0.05 + 4 * se_ratio), (z.var(0), codes.var(0))


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(),
                    reason="needs MNIST in ../shared/data")
def test_the_shipped_flagship_prior_predicts_the_noise_of_test_codes_better_than_the_standard_normal() -> None:
    """load_prior(dataset="mnist") (chapter 12): the schedule is the chapter's (cosine, T = 100, beta <= 0.5), and on
    test codes z ~ q(z|x) its noise predictions, told the digit, beat sqrt(1 - abar_t) z_t, the best predictor for
    N(0, I) codes, by 4 paired standard errors; a network with its weights shuffled does not."""
    from vae_lib.data import dynamic_binarize, load_mnist
    from vae_lib.flagship import load_flagship

    model, betas, meta = ld.load_prior(dataset="mnist")
    assert torch.equal(betas, ld.cosine_betas(100, max_beta=0.5))
    assert model.n_classes == 10 and "--label-dropout 0.5" in meta["command"]
    x, y = load_mnist("test")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        mu, logvar = load_flagship("mnist").encode(dynamic_binarize(x[:3000], generator=gen))
    z0 = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen)
    t = torch.randint(1, 101, (len(z0),), generator=gen)
    eps = torch.randn(z0.shape, generator=gen)
    zt = ld.q_sample(z0, t, betas, eps)
    abar = ld.schedule(betas)["abar"][t].float().unsqueeze(-1)
    base = ((eps - (1 - abar).sqrt() * zt) ** 2).sum(-1)

    def gain(net: ld.EpsilonMLP) -> tuple[float, float]:
        with torch.no_grad():
            d = ((eps - net(zt, t, y[:3000])) ** 2).sum(-1) - base
        return d.mean().item(), d.std().item() / math.sqrt(len(d))

    m, se = gain(model)
    assert m < -4 * se, (m, se)
    shuffled = ld.EpsilonMLP(**model.config())
    shuffled.load_state_dict({k: v.flatten()[torch.randperm(v.numel(), generator=gen)].view_as(v)
                              for k, v in model.state_dict().items()})
    assert gain(shuffled.eval())[0] > 0
