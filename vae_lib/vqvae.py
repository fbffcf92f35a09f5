"""A small vector-quantized VAE (VQ-VAE, van den Oord et al., 2017) for flat binary images.

The encoder maps an image x [B, D] to L continuous vectors z_e(x) [B, L, d]. Each vector is
replaced by its nearest entry of a learned codebook e [K, d]:

    k_l(x) = argmin_j || z_e(x)_l - e_j ||^2,     z_q(x)_l = e_{k_l(x)}

and the decoder turns z_q [B, L, d] into Bernoulli logits [B, D]. The argmin has no useful
gradient, so the decoder-input gradient is copied to the encoder output unchanged (the
straight-through estimator): z_st = z_e + sg[z_q - z_e] equals z_q in the forward pass, and
d z_st / d z_e = I in the backward pass. The loss per image, in nats, is

    loss = -log p(x | z_q)  +  ||sg[z_e] - e||^2  +  beta ||z_e - sg[e]||^2

(reconstruction, codebook and commitment terms; sg = stop-gradient, squared norms summed over
the L vectors). With a uniform prior over the K codes and the one-hot posterior q(k|x), the
KL term of the ELBO is the constant L log K, so -ELBO = -log p(x|z_q) + L log K.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .distributions import log_bernoulli_logits

__all__ = ["VQVAE", "VQTerms", "codebook_usage", "quantize", "straight_through", "train_vqvae", "vq_loss"]


def quantize(z_e: Tensor, codebook: Tensor) -> tuple[Tensor, Tensor]:
    """Nearest-code quantization: z_e [..., d], codebook [K, d] -> (indices [...], z_q [..., d]).

    indices = argmin_j ||z_e - e_j||^2 (ties go to the lowest j); z_q = codebook[indices].
    """
    flat = z_e.reshape(-1, z_e.shape[-1])  # [N, d]
    # ||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2, computed for all pairs at once: [N, K]
    dist = (flat**2).sum(1, keepdim=True) - 2 * flat @ codebook.T + (codebook**2).sum(1)
    indices = dist.argmin(1).reshape(z_e.shape[:-1])
    return indices, codebook[indices]


def straight_through(z_e: Tensor, z_q: Tensor) -> Tensor:
    """z_e + sg[z_q - z_e]: the value of z_q, the gradient of the identity with respect to z_e."""
    return z_e + (z_q - z_e).detach()


def codebook_usage(indices: Tensor, num_codes: int) -> tuple[float, int]:
    """(perplexity, number of used codes) of a batch of code indices (any shape, values in 0..K-1).

    With p_j the fraction of positions that use code j, perplexity = exp(-sum_j p_j log p_j),
    between 1 (one code used) and K (all codes used equally often).
    """
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).double()
    p = counts / counts.sum()
    nz = p[p > 0]
    return float(torch.exp(-(nz * nz.log()).sum())), int((counts > 0).sum())


class VQTerms(NamedTuple):
    """Per-image terms, each ``[B]`` (nats for ``recon``; squared distances for the others)."""

    loss: Tensor  #: -recon + codebook + beta * commitment
    recon: Tensor  #: log p(x | z_q)
    codebook: Tensor  #: ||sg[z_e] - z_q||^2, summed over the L vectors (moves the codes)
    commitment: Tensor  #: ||z_e - sg[z_q]||^2, summed over the L vectors (moves the encoder)
    indices: Tensor  #: [B, L] code index of every latent vector


class VQVAE(nn.Module):
    """MLP VQ-VAE: x [B, D] -> z_e [B, L, d] -> nearest codes z_q [B, L, d] -> logits [B, D].

    Args:
        x_dim: D, pixels per image (784 for MNIST).
        num_latents: L, latent vectors per image.
        code_dim: d, dimension of each latent vector and each code.
        num_codes: K, codebook size.
        hidden: width of the single hidden layer of the encoder and of the decoder.
    """

    def __init__(self, x_dim: int = 784, num_latents: int = 16, code_dim: int = 4, num_codes: int = 64,
                 hidden: int = 256) -> None:
        super().__init__()
        self.x_dim, self.num_latents, self.code_dim, self.num_codes = x_dim, num_latents, code_dim, num_codes
        self.encoder = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_latents * code_dim))
        self.decoder = nn.Sequential(nn.Linear(num_latents * code_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))
        self.codebook = nn.Parameter(torch.randn(num_codes, code_dim) / math.sqrt(code_dim))

    def encode(self, x: Tensor) -> Tensor:
        """z_e(x): [B, D] -> [B, L, d]."""
        return self.encoder(x).reshape(x.shape[0], self.num_latents, self.code_dim)

    def decode(self, z: Tensor) -> Tensor:
        """Bernoulli logits [B, D] from latent vectors z [B, L, d]."""
        return self.decoder(z.reshape(z.shape[0], -1))

    @torch.no_grad()
    def init_codebook(self, x: Tensor, generator: torch.Generator | None = None) -> None:
        """Set the K codes to K encoder outputs z_e(x)_l drawn at random from the batch x (needs B L >= K).

        Codes placed where the encoder's outputs are get used from the start; random codes far from
        every z_e are never the nearest, receive no gradient and stay unused ("dead codes").
        """
        z = self.encode(x).reshape(-1, self.code_dim)
        if z.shape[0] < self.num_codes:
            raise ValueError(f"need at least K = {self.num_codes} encoder vectors, got {z.shape[0]}")
        pick = torch.randperm(z.shape[0], generator=generator)[: self.num_codes].to(z.device)
        self.codebook.copy_(z[pick])

    def terms(self, x: Tensor, beta: float = 0.25) -> VQTerms:
        """The VQ-VAE loss terms of a binary batch x [B, D] (see the module docstring)."""
        z_e = self.encode(x)
        indices, z_q = quantize(z_e, self.codebook)
        logits = self.decode(straight_through(z_e, z_q))
        recon = log_bernoulli_logits(x, logits)
        codebook = ((z_e.detach() - z_q) ** 2).sum((1, 2))
        commitment = ((z_e - z_q.detach()) ** 2).sum((1, 2))
        return VQTerms(-recon + codebook + beta * commitment, recon, codebook, commitment, indices)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Pixel probabilities sigmoid(decode(z_q(x))): [B, D]."""
        _, z_q = quantize(self.encode(x), self.codebook)
        return torch.sigmoid(self.decode(z_q))

    def kl_constant(self) -> float:
        """KL(q(k|x) || uniform) = L log K nats: q is one-hot, the prior uniform over K codes."""
        return self.num_latents * math.log(self.num_codes)


def vq_loss(model: VQVAE, x: Tensor, beta: float = 0.25) -> Tensor:
    """Mean VQ-VAE loss of a batch (a scalar to minimize)."""
    return model.terms(x, beta).loss.mean()


def train_vqvae(model: VQVAE, x_train: Tensor, epochs: int = 1, batch_size: int = 128, lr: float = 1e-3,
                beta: float = 0.25, seed: int = 0, codebook_lr: float | None = None) -> list[dict[str, float]]:
    """Adam on the VQ-VAE loss, dynamic binarization of grey images x_train [N, D] in [0, 1].

    The codebook gets its own learning rate, ``codebook_lr`` (default ``10 * lr``): Adam moves every
    parameter by about the learning rate per step, so with one rate the codes, pulled only by the
    codebook loss, lag far behind the encoder's outputs early in training.

    The codebook is first set from encoder outputs (``init_codebook``). Batches are moved to the
    model's device; the binarization noise is drawn on the CPU from ``seed``, so runs are repeatable. Returns one dict per
    epoch with the epoch means of ``loss``, ``recon`` (nats), ``codebook``, ``commitment`` and the
    ``perplexity`` and ``used`` codes of the epoch's code indices.
    """
    gen = torch.Generator().manual_seed(seed)
    device = model.codebook.device
    model.init_codebook(torch.bernoulli(x_train[:512], generator=gen).to(device), generator=gen)
    rest = [p for name, p in model.named_parameters() if name != "codebook"]
    opt = torch.optim.Adam([{"params": rest},
                            {"params": [model.codebook], "lr": 10 * lr if codebook_lr is None else codebook_lr}], lr=lr)
    history = []
    for _ in range(epochs):
        order = torch.randperm(x_train.shape[0], generator=gen)
        sums = {"loss": 0.0, "recon": 0.0, "codebook": 0.0, "commitment": 0.0}
        all_idx = []
        for start in range(0, len(order), batch_size):
            xb = torch.bernoulli(x_train[order[start:start + batch_size]], generator=gen).to(device)
            t = model.terms(xb, beta)
            opt.zero_grad(set_to_none=True)
            t.loss.mean().backward()
            opt.step()
            for key in sums:
                sums[key] += float(getattr(t, key).detach().sum())
            all_idx.append(t.indices)
        row = {key: v / len(order) for key, v in sums.items()}
        row["perplexity"], row["used"] = codebook_usage(torch.cat(all_idx), model.num_codes)
        history.append(row)
    return history
