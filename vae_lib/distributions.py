"""Log-densities and KL divergences used by the VAE, in nats.

Conventions: the *event* dimension is the last one and is summed over, so for
inputs of shape ``[..., D]`` every function returns shape ``[...]``.
Variances are passed as log-variances ``logvar = log sigma^2``; this keeps the
parameters unconstrained and the formulas numerically stable.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)

__all__ = [
    "log_normal_diag",
    "log_standard_normal",
    "log_bernoulli_logits",
    "kl_normal_diag",
    "kl_standard_normal",
    "monte_carlo_kl",
]


def log_normal_diag(x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mu, diag(exp(logvar))), summed over the last dimension.

    log N = -1/2 * sum_d [ log(2 pi) + logvar_d + (x_d - mu_d)^2 / exp(logvar_d) ].
    Shapes broadcast; ``[..., D] -> [...]``.
    """
    return -0.5 * (LOG_2PI + logvar + (x - mu) ** 2 * torch.exp(-logvar)).sum(-1)


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension: -1/2 * sum_d (log 2pi + z_d^2)."""
    return -0.5 * (LOG_2PI + z**2).sum(-1)


def log_bernoulli_logits(x: Tensor, logits: Tensor) -> Tensor:
    """log Bernoulli(x; sigmoid(logits)), summed over the last dimension.

    log p = sum_d [ x_d log sigmoid(l_d) + (1 - x_d) log(1 - sigmoid(l_d)) ]
          = -BCEWithLogits(l, x), computed without forming sigmoid(l), so it is
    stable for large |l|. ``x`` must hold 0/1 values for this to be a likelihood.
    Shapes broadcast; ``[..., D] -> [...]``.
    """
    x, logits = torch.broadcast_tensors(x, logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def kl_normal_diag(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor) -> Tensor:
    """KL( N(mu_q, diag s_q^2) || N(mu_p, diag s_p^2) ), summed over the last dimension.

    KL = 1/2 * sum_d [ logvar_p - logvar_q + (s_q^2 + (mu_q - mu_p)^2) / s_p^2 - 1 ].
    """
    return 0.5 * (
        logvar_p - logvar_q + (torch.exp(logvar_q) + (mu_q - mu_p) ** 2) * torch.exp(-logvar_p) - 1.0
    ).sum(-1)


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) = 1/2 * sum_d (mu_d^2 + s_d^2 - 1 - log s_d^2)."""
    return 0.5 * (mu**2 + torch.exp(logvar) - 1.0 - logvar).sum(-1)


def monte_carlo_kl(
    q: torch.distributions.Distribution,
    p: torch.distributions.Distribution,
    n: int,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Monte Carlo estimate of KL(q || p) = E_q[log q(z) - log p(z)] and its standard error.

    Draws ``n`` samples z_i ~ q and returns (mean, std / sqrt(n)) of
    ``log q(z_i) - log p(z_i)``. With a ``generator`` the draws are reproducible
    (sampled by ``torch.manual_seed`` from the generator's seed).
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"monte_carlo_kl needs an integer n >= 2 samples (a standard error needs two); got {n!r}")
    if generator is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            z = q.sample((n,))
    else:
        z = q.sample((n,))
    log_ratio = q.log_prob(z) - p.log_prob(z)
    while log_ratio.dim() > 1:  # a non-factorised batch: sum remaining event dims
        log_ratio = log_ratio.sum(-1)
    log_ratio = log_ratio.double()
    return float(log_ratio.mean()), float(log_ratio.std(unbiased=True) / math.sqrt(n))
