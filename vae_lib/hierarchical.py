"""VAEs with one or more stochastic layers (Burda et al., 2016, section 5), trained on the IWAE bound.

With L stochastic layers z_1, ..., z_L (z_0 = x), the generative model is top-down

    p(z_L) = N(0, I),   p(z_l | z_{l+1}) = N(mu_l(z_{l+1}), diag sigma_l^2(z_{l+1})),   p(x | z_1) = Bernoulli

and the encoder is bottom-up: q(z_l | z_{l-1}) = N(m_l(z_{l-1}), diag s_l^2(z_{l-1})), l = 1..L.
Every conditional is an MLP with one tanh hidden layer. One importance weight per draw of
(z_1, ..., z_L) ~ q is

    log w = log p(x | z_1) + sum_{l<L} log p(z_l | z_{l+1}) + log p(z_L) - sum_l log q(z_l | z_{l-1})

and IWAE_k = log (1/k) sum_i w_i; k = 1 is a one-sample ELBO. L = 1 is the ordinary VAE of
chapter 8 (with a Monte Carlo KL), so one class serves both sides of a comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .distributions import log_bernoulli_logits, log_normal_diag, log_standard_normal

__all__ = ["HierarchicalVAE", "evaluate_bounds", "train_iwae"]


class _Gaussian(nn.Module):
    """An MLP in_dim -> hidden (tanh) -> (mean, log-variance) of out_dim, acting on the last dimension."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, 2 * out_dim))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.net(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)


class HierarchicalVAE(nn.Module):
    """A VAE with ``len(z_dims)`` stochastic layers; ``hidden[l]`` is the width of the MLPs of layer l.

    ``HierarchicalVAE(z_dims=(20,), hidden=(200,))`` is a one-layer VAE;
    ``HierarchicalVAE(z_dims=(20, 10), hidden=(200, 100))`` has z_2 [10] -> z_1 [20] -> x [784].
    The decoder of x is an MLP z_1 -> hidden[0] (tanh) -> D Bernoulli logits.
    """

    def __init__(self, x_dim: int = 784, z_dims: Sequence[int] = (20,), hidden: Sequence[int] = (200,)) -> None:
        super().__init__()
        if len(z_dims) != len(hidden) or not z_dims:
            raise ValueError(f"need one hidden width per stochastic layer, got z_dims={z_dims}, hidden={hidden}")
        self.x_dim, self.z_dims = x_dim, tuple(z_dims)
        below = (x_dim, *z_dims[:-1])  # input of q(z_l | z_{l-1})
        self.q = nn.ModuleList(_Gaussian(below[l], hidden[l], z_dims[l]) for l in range(len(z_dims)))
        # p(z_l | z_{l+1}) for l = 1..L-1 (index l-1), then the Bernoulli decoder p(x | z_1)
        self.p = nn.ModuleList(_Gaussian(z_dims[l + 1], hidden[l + 1], z_dims[l]) for l in range(len(z_dims) - 1))
        self.decoder = nn.Sequential(nn.Linear(z_dims[0], hidden[0]), nn.Tanh(), nn.Linear(hidden[0], x_dim))

    def log_weights(self, x: Tensor, k: int) -> Tensor:
        """log w_i for k draws (z_1..z_L)_i ~ q(. | x), reparameterized: x [B, D] -> [k, B]."""
        h = x.expand(k, *x.shape)  # [k, B, D]
        log_q, zs = 0.0, []
        for layer in self.q:
            mu, logvar = layer(h)
            h = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            log_q = log_q + log_normal_diag(h, mu, logvar)
            zs.append(h)
        log_p = log_standard_normal(zs[-1])
        for l, layer in enumerate(self.p):  # p(z_{l+1} | z_{l+2}) in 1-based names
            mu, logvar = layer(zs[l + 1])
            log_p = log_p + log_normal_diag(zs[l], mu, logvar)
        log_p = log_p + log_bernoulli_logits(x, self.decoder(zs[0]))
        return log_p - log_q

    def iwae(self, x: Tensor, k: int) -> Tensor:
        """One draw of IWAE_k = logsumexp_i log w_i - log k per image: [B]."""
        return torch.logsumexp(self.log_weights(x, k), dim=0) - math.log(k)

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """Ancestral samples from the model: pixel probabilities sigmoid(logits) [n, D]."""
        z = torch.randn(n, self.z_dims[-1], device=next(self.parameters()).device)
        for layer in reversed(self.p):
            mu, logvar = layer(z)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return torch.sigmoid(self.decoder(z))


def train_iwae(model: HierarchicalVAE, x_train: Tensor, epochs: int = 1, k: int = 5, batch_size: int = 100,
               lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Adam on -IWAE_k, dynamic binarization of grey images x_train [N, D]; returns the epoch means of IWAE_k.

    Batches are moved to the model's device; the binarization noise is drawn on the CPU from ``seed``.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the reparameterization noise
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        order = torch.randperm(x_train.shape[0], generator=gen)
        total = 0.0
        for start in range(0, len(order), batch_size):
            xb = torch.bernoulli(x_train[order[start:start + batch_size]], generator=gen).to(device)
            bound = model.iwae(xb, k)
            opt.zero_grad(set_to_none=True)
            (-bound.mean()).backward()
            opt.step()
            total += float(bound.detach().sum())
        history.append(total / len(order))
    return history


@torch.no_grad()
def evaluate_bounds(model: HierarchicalVAE, x: Tensor, k_iwae: int = 5, k_lpx: int = 1000,
                    chunk: int = 100) -> dict[str, Tensor]:
    """Per-image bounds on binary test images x [B, D], in nats, each ``[B]`` (float64):

    ``elbo``: mean of log w over k_lpx draws (a Monte Carlo ELBO);
    ``iwae``: IWAE_{k_iwae}, the average of the k_lpx / k_iwae disjoint groups of k_iwae draws;
    ``log_px``: log (1/k_lpx) sum_i w_i, the importance-sampled estimate of log p(x).
    The same k_lpx draws serve all three (k_lpx must be a multiple of k_iwae).
    """
    if k_lpx % k_iwae:
        raise ValueError(f"k_lpx = {k_lpx} must be a multiple of k_iwae = {k_iwae}")
    log_w = torch.cat([model.log_weights(x, chunk).double() for _ in range(k_lpx // chunk)]
                      + ([model.log_weights(x, k_lpx % chunk).double()] if k_lpx % chunk else []))
    groups = log_w.reshape(k_lpx // k_iwae, k_iwae, -1)
    return {
        "elbo": log_w.mean(0),
        "iwae": (torch.logsumexp(groups, dim=1) - math.log(k_iwae)).mean(0),
        "log_px": torch.logsumexp(log_w, dim=0) - math.log(k_lpx),
    }
