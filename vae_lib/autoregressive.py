"""A VAE whose decoder can be autoregressive over pixels: the posterior-collapse lab of chapter 9.

Encoder (as in ``vae_lib.models.VAE``):  q_phi(z|x) = N(z; mu_phi(x), diag exp(logvar_phi(x))),
prior p(z) = N(0, I). Two decoders for binary pixels x in {0, 1}^D:

* ``decoder="made"`` -- autoregressive, a MADE-style masked MLP (Germain et al. 2015) conditioned on z:

      p_theta(x | z) = prod_{d=1}^{D} Bernoulli(x_d ; sigmoid(l_d(x_{<d}, z))),

  where the logit l_d sees the pixels only through x_1, ..., x_{d-1} (raster order). Such a decoder
  can model p(x) well *without* z, which is what invites posterior collapse.
* ``decoder="mlp"`` -- factorized, l = f_theta(z): the pixels are independent given z (chapter 8),
  so without z it can draw nothing but the mean image; a "weaker" decoder.

``train`` fits either model to the ELBO with three optional remedies for collapse:
a KL weight beta (``beta``), KL annealing (``warmup_epochs``: beta rises linearly from 0) and
free bits (``free_bits`` = lambda, Kingma et al. 2016): the KL term of the *objective* becomes
sum_j max(lambda, mean over the mini-batch of KL_j), so that a latent unit whose KL is below
lambda nats gets no push towards the prior. Every reported number is the true ELBO, in nats.

Shapes: ``x: [B, D]`` flat 0/1 images, ``z: [..., B, K]``; logits ``[..., B, D]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .distributions import log_bernoulli_logits
from .models import mlp

__all__ = ["ARVAE", "MADE", "MaskedLinear", "activity", "elbo_terms", "iwae_bound", "train"]


class MaskedLinear(nn.Linear):
    """``y = x (W * M)^T + b``: a linear layer whose weight is multiplied by a fixed 0/1 mask M."""

    def __init__(self, n_in: int, n_out: int, mask: Tensor) -> None:
        super().__init__(n_in, n_out)
        if mask.shape != (n_out, n_in):
            raise ValueError(f"mask must have shape {(n_out, n_in)}, got {tuple(mask.shape)}")
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Masked autoencoder for distribution estimation, conditioned on a vector c (here c = z).

    Degrees: input pixel d has degree d (1..D); hidden unit h gets a degree m(h) in 1..D-1;
    output d has degree d. Masks: input -> hidden where m(h) >= d_in, hidden -> hidden where
    m(h') >= m(h), hidden -> output where d_out > m(h), and a direct input -> output path where
    d_out > d_in. So logit d is a function of (x_1..x_{d-1}, c) only: dl_d / dx_j = 0 for j >= d.
    The condition c enters the output logits through an unmasked linear map and, with
    ``cond_to="hidden"``, every hidden layer as well.

    ``forward(x [..., D], c [..., C]) -> logits [..., D]``.
    """

    def __init__(
        self, x_dim: int, hidden: Sequence[int] = (256,), cond_dim: int = 0, cond_to: str = "hidden"
    ) -> None:
        super().__init__()
        if cond_to not in ("hidden", "output"):
            raise ValueError(f"cond_to must be 'hidden' or 'output', got {cond_to!r}")
        self.cond_to = cond_to
        if x_dim < 2:
            raise ValueError("MADE needs at least two pixels")
        self.x_dim, self.cond_dim, self.hidden = x_dim, cond_dim, tuple(hidden)
        d_in = torch.arange(1, x_dim + 1)
        degrees = [d_in]
        for h in self.hidden:
            degrees.append(torch.arange(h) % (x_dim - 1) + 1)  # spread over 1..D-1
        self.layers = nn.ModuleList()
        self.cond = nn.ModuleList()
        for m_prev, m_next in zip(degrees[:-1], degrees[1:]):
            mask = (m_next[:, None] >= m_prev[None, :]).float()
            self.layers.append(MaskedLinear(len(m_prev), len(m_next), mask))
            if cond_dim and cond_to == "hidden":
                self.cond.append(nn.Linear(cond_dim, len(m_next), bias=False))
        if cond_dim:  # z -> logits directly (with "hidden" this also reaches logit 1, which has no hidden input)
            self.cond.append(nn.Linear(cond_dim, x_dim, bias=False))
        self.out = MaskedLinear(
            len(degrees[-1]), x_dim, (d_in[:, None] > degrees[-1][None, :]).float()
        )
        self.direct = MaskedLinear(x_dim, x_dim, (d_in[:, None] > d_in[None, :]).float())
        self.direct.bias.data.zero_()

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        h = x
        for i, layer in enumerate(self.layers):
            a = layer(h)
            if self.cond_dim and self.cond_to == "hidden":
                a = a + self.cond[i](c)
            h = torch.relu(a)
        out = self.out(h) + self.direct(x)
        if self.cond_dim:
            out = out + self.cond[-1](c)
        return out


class ARVAE(nn.Module):
    """A VAE with a Gaussian encoder and a Bernoulli decoder that is autoregressive or factorized.

    Args:
        x_dim: pixels D. z_dim: latent size K. hidden: encoder widths (an MLP, then mu and logvar).
        decoder: ``"made"`` (p(x|z) = prod_d p(x_d | x_<d, z), a masked MLP of width ``dec_hidden``)
            or ``"mlp"`` (p(x|z) = prod_d p(x_d | z), an MLP ``K -> dec_hidden -> D``).
        cond_to: where z enters the MADE: every hidden layer, or only the output logits (linearly).
        zero_init_cond: start the MADE's z-weights at 0, so that the decoder starts out ignoring z.
    """

    def __init__(
        self,
        x_dim: int = 784,
        z_dim: int = 16,
        hidden: Sequence[int] = (256,),
        decoder: str = "made",
        dec_hidden: Sequence[int] = (256,),
        cond_to: str = "hidden",
        zero_init_cond: bool = False,
    ) -> None:
        super().__init__()
        if decoder not in ("made", "mlp"):
            raise ValueError(f"decoder must be 'made' or 'mlp', got {decoder!r}")
        self.x_dim, self.z_dim, self.decoder_kind = x_dim, z_dim, decoder
        self.likelihood = "bernoulli"
        self.encoder_body = nn.Sequential(mlp([x_dim, *hidden]), nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], z_dim)
        self.to_logvar = nn.Linear(hidden[-1], z_dim)
        if decoder == "made":
            self.decoder_net = MADE(x_dim, dec_hidden, cond_dim=z_dim, cond_to=cond_to)
            if zero_init_cond:  # the decoder starts out ignoring z (d logits / d z = 0)
                for layer in self.decoder_net.cond:
                    nn.init.zeros_(layer.weight)
        else:
            self.decoder_net = mlp([z_dim, *dec_hidden, x_dim])

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """q_phi(z|x): ``x [B, D] -> (mu [B, K], logvar [B, K])``."""
        h = self.encoder_body(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: Tensor, x: Tensor) -> Tensor:
        """Bernoulli logits ``[..., B, D]`` of p(x|z); the MADE decoder also reads x (only x_<d for logit d)."""
        if self.decoder_kind == "mlp":
            return self.decoder_net(z)
        return self.decoder_net(x.expand(*z.shape[:-1], self.x_dim), z)

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p_theta(x|z) = sum_d log Bernoulli(x_d; sigmoid(l_d)), ``[..., B]``."""
        return log_bernoulli_logits(x, self.decode(z, x))

    @torch.no_grad()
    def sample(
        self, n: int, z: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Binary samples ``[n, D]``: z ~ N(0, I) (unless given), then x_1, x_2, ... one pixel at a time."""
        dev = self.to_mu.weight.device
        if z is None:
            z = torch.randn(n, self.z_dim, generator=generator).to(dev)
        if self.decoder_kind == "mlp":
            return torch.bernoulli(torch.sigmoid(self.decoder_net(z)), generator=generator)
        x = torch.zeros(n, self.x_dim, device=dev)
        for d in range(self.x_dim):  # D decoder passes: why autoregressive sampling is slow
            p = torch.sigmoid(self.decoder_net(x, z)[:, d])
            x[:, d] = torch.bernoulli(p.cpu(), generator=generator).to(dev)
        return x


def _kl_per_unit(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) per latent unit: 1/2 (mu^2 + sigma^2 - 1 - log sigma^2), ``[B, K]``."""
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar)


def elbo_terms(model: ARVAE, x: Tensor) -> tuple[Tensor, Tensor]:
    """One-sample ELBO terms: (recon = log p(x|z) ``[B]``, KL per unit ``[B, K]``), z = mu + sigma * eps."""
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    return model.log_likelihood(x, z), _kl_per_unit(mu, logvar)


@torch.no_grad()
def iwae_bound(model: ARVAE, x: Tensor, k: int) -> Tensor:
    """log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x): one draw per example, ``[B]``."""
    mu, logvar = model.encode(x)
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(k, *mu.shape, device=mu.device)
    z = mu + std * eps
    log_q = (-0.5 * (math.log(2 * math.pi) + logvar + eps**2)).sum(-1)
    log_p = (-0.5 * (math.log(2 * math.pi) + z**2)).sum(-1)
    log_w = model.log_likelihood(x, z) + log_p - log_q  # [k, B]
    return torch.logsumexp(log_w, 0) - math.log(k)


@torch.no_grad()
def activity(model: ARVAE, x: Tensor) -> Tensor:
    """Activity of each latent unit, A_u = Var_x(E_q[z_u]) = Var_x(mu_u(x)), ``[K]`` (active if > 0.01)."""
    mu, _ = model.encode(x)
    return mu.var(0).cpu()


def train(
    model: ARVAE,
    x: Tensor,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 1.0,
    warmup_epochs: float = 0.0,
    free_bits: float = 0.0,
    seed: int = 0,
    binarize: bool = True,
    lr_end: float | None = None,
) -> list[dict[str, float]]:
    """Adam on the (modified) negative ELBO; returns one dict per epoch with the *true* ELBO terms.

    Objective per mini-batch:  -mean_b recon_b + beta_t * sum_j max(lambda, mean_b KL_bj),
    beta_t = beta * min(1, t / warmup_steps) (KL annealing; none if ``warmup_epochs`` = 0),
    lambda = ``free_bits`` nats per unit (0: the plain ELBO). With ``lr_end`` the learning rate decays
    from ``lr`` to ``lr_end`` on a cosine over all steps (else it stays ``lr``). With ``binarize``, grey pixels are
    drawn afresh as Bernoulli(x) in every mini-batch (dynamic binarization).
    History keys: ``elbo``, ``recon``, ``kl`` (nats per image, averaged over the epoch), ``beta``
    (at the end of the epoch), ``seconds``.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(x)
    steps_per_epoch = math.ceil(n / batch_size)
    warmup_steps = warmup_epochs * steps_per_epoch
    total_steps = epochs * steps_per_epoch
    history, step = [], 0
    model.train()
    for _ in range(epochs):
        t0, sums = time.perf_counter(), torch.zeros(3)
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            xb = x[idx]
            if binarize:  # drawn with the CPU generator ``gen`` wherever x lives (CUDA too)
                xb = torch.bernoulli(xb.cpu(), generator=gen).to(xb.device)
            step += 1
            beta_t = beta * min(1.0, step / warmup_steps) if warmup_steps else beta
            if lr_end is not None:
                for group in opt.param_groups:
                    group["lr"] = lr_end + (lr - lr_end) * 0.5 * (
                        1 + math.cos(math.pi * (step - 1) / total_steps)
                    )
            recon, kl_u = elbo_terms(model, xb)
            kl_batch = kl_u.mean(0)  # [K]
            kl_obj = torch.clamp(kl_batch, min=free_bits).sum() if free_bits else kl_batch.sum()
            loss = -recon.mean() + beta_t * kl_obj
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            kl = kl_u.sum(-1).detach()
            sums += torch.stack([(recon.detach() - kl).sum(), recon.detach().sum(), kl.sum()])
        mean = (sums / n).tolist()
        history.append(
            {
                "elbo": mean[0],
                "recon": mean[1],
                "kl": mean[2],
                "beta": beta_t,
                "seconds": time.perf_counter() - t0,
            }
        )
    model.eval()
    return history


@torch.no_grad()
def mean_terms(model: ARVAE, x: Tensor, seed: int = 0, batch_size: int = 1000) -> dict[str, float]:
    """Mean one-sample ELBO, recon and KL (nats per image) on binary data ``x [N, D]``; fixed noise."""
    torch.manual_seed(seed)
    rec, kl = [], []
    for xb in x.split(batch_size):
        r, k = elbo_terms(model, xb)
        rec.append(r)
        kl.append(k.sum(-1))
    r, k = torch.cat(rec).mean().item(), torch.cat(kl).mean().item()
    return {"elbo": r - k, "recon": r, "kl": k}
