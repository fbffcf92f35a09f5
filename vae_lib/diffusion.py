"""A diffusion model on 1-D data, seen as a hierarchical VAE with a fixed encoder (float64, in nats).

Encoder (fixed, no parameters): a Gaussian Markov chain with variances beta_1..beta_T,

    q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t),   alpha_t = 1 - beta_t,
    q(x_t | x_0) = N(sqrt(abar_t) x_0, 1 - abar_t),      abar_t = prod_{s<=t} alpha_s  (abar_0 = 1).

Decoder: p(x_T) = N(0, 1) and linear-Gaussian reverse steps p(x_{t-1} | x_t) = N(a_t x_t + b_t, v_t).
The ELBO splits into KL divergences between Gaussians (Sohl-Dickstein et al., 2015; Ho et al., 2020):

    ELBO(x_0) = -L_T - sum_{t=2}^T L_{t-1} - L_0,
    L_T     = KL(q(x_T | x_0) || p(x_T)),
    L_{t-1} = E_{q(x_t | x_0)} KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),
    L_0     = -E_{q(x_1 | x_0)} log p(x_0 | x_1),

with the Gaussian posterior q(x_{t-1} | x_t, x_0) = N(c0_t x_0 + c1_t x_t, tilde_beta_t) of ``posterior``.
Indexing: ``betas``, ``a``, ``b``, ``v`` are tensors of length T whose element t-1 belongs to step t;
``alpha_bars(betas)`` has length T+1 and element t is abar_t.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "alpha_bars",
    "elbo_terms",
    "gaussian_kl",
    "log_normal",
    "mc_elbo",
    "model_marginal",
    "optimal_reverse",
    "posterior",
    "q_sample",
]


def alpha_bars(betas: Tensor) -> Tensor:
    """abar_t = prod_{s<=t} (1 - beta_s) for t = 0..T: [T] -> [T+1], abar_0 = 1."""
    return torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1 - betas, 0)])


def log_normal(x: Tensor, mean: Tensor | float, var: Tensor | float) -> Tensor:
    """log N(x; mean, var) elementwise: -1/2 [log(2 pi var) + (x - mean)^2 / var]."""
    var = torch.as_tensor(var, dtype=torch.float64)
    return -0.5 * (torch.log(2 * math.pi * var) + (x - mean) ** 2 / var)


def gaussian_kl(m1: Tensor | float, v1: Tensor | float, m2: Tensor | float, v2: Tensor | float) -> Tensor:
    """KL(N(m1, v1) || N(m2, v2)) = 1/2 [log(v2 / v1) + (v1 + (m1 - m2)^2) / v2 - 1], elementwise."""
    m1, v1, m2, v2 = (torch.as_tensor(u, dtype=torch.float64) for u in (m1, v1, m2, v2))
    return 0.5 * (torch.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)


def q_sample(x0: Tensor, betas: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One run of the forward chain from each x0 [B]: x_0..x_T as a tensor [T+1, B] (row t is x_t)."""
    xs = [x0]
    for beta in betas:
        noise = torch.randn(x0.shape, dtype=torch.float64, generator=generator)
        xs.append(torch.sqrt(1 - beta) * xs[-1] + torch.sqrt(beta) * noise)
    return torch.stack(xs)


def posterior(t: int, betas: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """q(x_{t-1} | x_t, x_0) = N(c0 x_0 + c1 x_t, tilde_beta) for t >= 1: returns (c0, c1, tilde_beta).

    c0 = sqrt(abar_{t-1}) beta_t / (1 - abar_t),  c1 = sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t),
    tilde_beta = (1 - abar_{t-1}) beta_t / (1 - abar_t)   (for t = 1: c0 = 1, c1 = 0, tilde_beta = 0).
    """
    abar = alpha_bars(betas)
    beta = betas[t - 1]
    c0 = torch.sqrt(abar[t - 1]) * beta / (1 - abar[t])
    c1 = torch.sqrt(1 - beta) * (1 - abar[t - 1]) / (1 - abar[t])
    return c0, c1, (1 - abar[t - 1]) * beta / (1 - abar[t])


def optimal_reverse(m: float, s2: float, betas: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The reverse steps that maximize the average ELBO for data x_0 ~ N(m, s2): (a, b, v), each [T].

    They are the reverse conditionals of the forward process, q(x_{t-1} | x_t): with the marginals
    q(x_t) = N(M_t, V_t), M_t = sqrt(abar_t) m, V_t = abar_t s2 + 1 - abar_t, Gaussian conditioning gives
    a_t = sqrt(alpha_t) V_{t-1} / V_t,  b_t = M_{t-1} - a_t M_t,  v_t = beta_t V_{t-1} / V_t.
    """
    abar = alpha_bars(betas)
    M = torch.sqrt(abar) * m
    V = abar * s2 + 1 - abar
    a = torch.sqrt(1 - betas) * V[:-1] / V[1:]
    return a, M[:-1] - a * M[1:], betas * V[:-1] / V[1:]


def model_marginal(a: Tensor, b: Tensor, v: Tensor, prior_mean: float = 0.0,
                   prior_var: float = 1.0) -> tuple[Tensor, Tensor]:
    """Mean and variance of the model's p(x_0): run x_T ~ N(prior_mean, prior_var) down the reverse steps.

    M_{t-1} = a_t M_t + b_t,  V_{t-1} = a_t^2 V_t + v_t, for t = T..1.
    """
    mean, var = torch.tensor(prior_mean, dtype=torch.float64), torch.tensor(prior_var, dtype=torch.float64)
    for t in range(len(a), 0, -1):
        mean, var = a[t - 1] * mean + b[t - 1], a[t - 1] ** 2 * var + v[t - 1]
    return mean, var


def elbo_terms(x0: Tensor, betas: Tensor, a: Tensor, b: Tensor, v: Tensor, prior_mean: float = 0.0,
               prior_var: float = 1.0) -> dict[str, Tensor]:
    """The ELBO of each x0 [B] as an analytic sum of Gaussian KL terms (module docstring):

    ``L_T`` [B]; ``L_t`` [T-1, B] (row t-2 is L_{t-1} for t = 2..T); ``L_0`` [B]; ``elbo`` [B].
    The expectations over x_t ~ q(x_t | x_0) = N(sqrt(abar_t) x_0, 1 - abar_t) are exact because the
    KL is quadratic in x_t: E[(u x_t + w)^2] = (u sqrt(abar_t) x_0 + w)^2 + u^2 (1 - abar_t).
    """
    abar = alpha_bars(betas)
    T = len(betas)
    L_T = gaussian_kl(torch.sqrt(abar[T]) * x0, 1 - abar[T], prior_mean, prior_var)
    rows = []
    for t in range(2, T + 1):
        c0, c1, tb = posterior(t, betas)
        u, w = c1 - a[t - 1], c0 * x0 - b[t - 1]  # mean difference = u x_t + w
        sq = (u * torch.sqrt(abar[t]) * x0 + w) ** 2 + u**2 * (1 - abar[t])
        rows.append(0.5 * (torch.log(v[t - 1] / tb) + (tb + sq) / v[t - 1] - 1))
    L_t = torch.stack(rows) if rows else torch.zeros(0, *x0.shape, dtype=torch.float64)
    u, w = -a[0], x0 - b[0]  # x_0 - (a_1 x_1 + b_1) = u x_1 + w
    sq = (u * torch.sqrt(abar[1]) * x0 + w) ** 2 + u**2 * (1 - abar[1])
    L_0 = 0.5 * torch.log(2 * math.pi * v[0]) + sq / (2 * v[0])
    return {"L_T": L_T, "L_t": L_t, "L_0": L_0, "elbo": -(L_T + L_t.sum(0) + L_0)}


def mc_elbo(x0: Tensor, betas: Tensor, a: Tensor, b: Tensor, v: Tensor, n: int,
            generator: torch.Generator | None = None, prior_mean: float = 0.0, prior_var: float = 1.0) -> Tensor:
    """n Monte Carlo draws of log p(x_{0:T}) - log q(x_{1:T} | x_0), x_{1:T} ~ q: x0 [B] -> [n, B].

    Their mean is an unbiased estimate of ELBO(x_0) = E_q[log p(x_{0:T}) - log q(x_{1:T} | x_0)].
    """
    xs = q_sample(x0.expand(n, *x0.shape), betas, generator)  # [T+1, n, B]
    T = len(betas)
    log_ratio = log_normal(xs[T], prior_mean, prior_var)
    for t in range(1, T + 1):
        log_ratio = log_ratio + log_normal(xs[t - 1], a[t - 1] * xs[t] + b[t - 1], v[t - 1])
        log_ratio = log_ratio - log_normal(xs[t], torch.sqrt(1 - betas[t - 1]) * xs[t - 1], betas[t - 1])
    return log_ratio
