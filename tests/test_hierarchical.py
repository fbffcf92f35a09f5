"""vae_lib.hierarchical: the importance weights of one- and two-layer VAEs are correct.

For a tiny model (2 pixels, scalar latents) p(x) is an integral over one or two dimensions that
quadrature computes to high accuracy; the mean of the weights w = p(x, z)/q(z|x) must match it.
"""

from __future__ import annotations

import math

import pytest
import torch

from vae_lib.distributions import (
    log_bernoulli_logits,
    log_normal_diag,
    log_standard_normal,
)
from vae_lib.hierarchical import HierarchicalVAE, evaluate_bounds, train_iwae

X = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])


def _exact_log_px(model: HierarchicalVAE, x: torch.Tensor) -> torch.Tensor:
    """log p(x) by quadrature on a grid (scalar latents only)."""
    grid = torch.linspace(-8, 8, 801, dtype=torch.float64)
    dz = float(grid[1] - grid[0])
    model = model.double()
    with torch.no_grad():
        z1 = grid[:, None]  # [G, 1]
        log_px_z1 = log_bernoulli_logits(x.double()[None], model.decoder(z1)[:, None])  # [G, B]
        if len(model.z_dims) == 1:
            log_prior = log_standard_normal(z1)  # [G]
        else:
            mu, logvar = model.p[0](grid[:, None])  # p(z1 | z2) for z2 on the grid: [G2, 1]
            log_p_z1_z2 = log_normal_diag(z1[:, None], mu[None], logvar[None])  # [G1, G2]
            log_prior = torch.logsumexp(log_p_z1_z2 + log_standard_normal(grid[:, None])[None], 1) + math.log(dz)
        out = torch.logsumexp(log_px_z1 + log_prior[:, None], 0) + math.log(dz)
    model.float()
    return out.float()


@pytest.mark.parametrize("z_dims,hidden", [((1,), (8,)), ((1, 1), (8, 8))])
def test_importance_weights_are_unbiased_for_p_x(z_dims, hidden) -> None:
    torch.manual_seed(0)
    model = HierarchicalVAE(x_dim=2, z_dims=z_dims, hidden=hidden)
    exact = _exact_log_px(model, X)
    with torch.no_grad():
        w = model.log_weights(X, 200_000).double().exp()  # [k, B]
    mean, se = w.mean(0), w.std(0) / math.sqrt(w.shape[0])
    assert (abs(mean - exact.double().exp()) < 4 * se).all(), (mean, exact.exp(), se)
    with torch.no_grad():
        elbo = model.log_weights(X, 20_000).mean(0)
    assert (elbo < exact).all(), "the ELBO lies below log p(x)"


def test_evaluate_bounds_order_and_checks() -> None:
    torch.manual_seed(0)
    model = HierarchicalVAE(x_dim=2, z_dims=(1, 1), hidden=(8, 8))
    b = evaluate_bounds(model, X, k_iwae=5, k_lpx=2000, chunk=300)
    assert all(v.shape == (3,) and v.dtype == torch.float64 for v in b.values())
    assert (b["elbo"] < b["iwae"]).all() and (b["iwae"] < b["log_px"] + 1e-3).all()
    assert (abs(b["log_px"] - _exact_log_px(model, X).double()) < 0.05).all()
    with pytest.raises(ValueError, match="multiple"):
        evaluate_bounds(model, X, k_iwae=3, k_lpx=100)


def test_layer_shapes_and_sampling() -> None:
    model = HierarchicalVAE(x_dim=6, z_dims=(4, 3, 2), hidden=(5, 5, 5))
    assert model.log_weights(torch.ones(2, 6), 7).shape == (7, 2)
    s = model.sample(9)
    assert s.shape == (9, 6) and ((s > 0) & (s < 1)).all()
    with pytest.raises(ValueError, match="one hidden width"):
        HierarchicalVAE(z_dims=(3, 2), hidden=(5,))


def test_training_raises_the_bound() -> None:
    g = torch.Generator().manual_seed(0)
    prototypes = (torch.rand(3, 12, generator=g) > 0.5).float() * 0.9 + 0.05
    x = prototypes[torch.randint(0, 3, (600,), generator=g)]
    torch.manual_seed(0)
    model = HierarchicalVAE(x_dim=12, z_dims=(3, 2), hidden=(16, 8))
    history = train_iwae(model, x, epochs=8, k=5, batch_size=50, lr=1e-2, seed=0)
    assert history[-1] > history[0] + 1.0
