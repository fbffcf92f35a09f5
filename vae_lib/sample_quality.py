"""Sample quality of decoded draws: holes (chapters 05, 08, 12) and a Fréchet distance in a small classifier's features.

Holes in the latent space (chapter 05, reused in chapter 08): a probe z ~ N(m, S), with m and S the mean
and covariance of the training codes, is in a hole when it is farther from every training code than the
``quantile`` of the same distance for the codes of unseen images (:func:`latent_hole_fraction`).

Holes in image space (chapters 08 and 12): a decoded image is *in a hole* when it is farther (Euclidean, pixel
probabilities) from every reference image than a radius r, the ``quantile`` of the same distance for images the
model reconstructs well. Without holes about ``1 - quantile`` of the draws land in one; the fraction is a
proportion p with standard error sqrt(p (1 - p) / n).

Fréchet distance (Heusel et al. 2017) between two sets of features with means m_a, m_b and covariances C_a, C_b:

    FD = ||m_a - m_b||^2 + tr(C_a + C_b - 2 (C_a^{1/2} C_b C_a^{1/2})^{1/2}).

Here the features are the last hidden layer of :class:`DigitClassifier`, a small MLP trained on MNIST by
:func:`fit_classifier` - not the Inception network of the published FID, so the numbers are comparable only
with each other.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from .errors import VaeLibError

__all__ = [
    "DigitClassifier",
    "fit_classifier",
    "frechet_distance",
    "hole_fraction",
    "hole_radius",
    "latent_hole_fraction",
    "proportion_se",
]


def proportion_se(p: float, n: int) -> float:
    """Standard error of a proportion p estimated from n independent draws: sqrt(p (1 - p) / n)."""
    return math.sqrt(max(p * (1 - p), 0.0) / n)


def _nearest_distance(x: Tensor, x_ref: Tensor, chunk: int = 1024) -> Tensor:
    """Euclidean distance from each row of x [N, D] to its nearest row of x_ref [M, D]: [N]."""
    if x.ndim != 2 or x_ref.ndim != 2 or x.shape[1] != x_ref.shape[1]:
        raise VaeLibError(f"images must be [N, D] and [M, D] with the same D, got {list(x.shape)} and {list(x_ref.shape)}")
    return torch.cat([torch.cdist(part, x_ref).min(dim=1).values for part in x.split(chunk)])


def hole_radius(x_good: Tensor, x_ref: Tensor, quantile: float = 0.99) -> float:
    """r = the ``quantile`` of the distances from well-made images x_good [N, D] (e.g. reconstructions of
    test images) to their nearest reference image in x_ref [M, D]."""
    if not 0.0 < quantile < 1.0:
        raise VaeLibError(f"quantile must be in (0, 1), got {quantile}")
    return _nearest_distance(x_good, x_ref).quantile(quantile).item()


def hole_fraction(x: Tensor, x_ref: Tensor, radius: float) -> tuple[float, float]:
    """Fraction of images x [N, D] farther than ``radius`` from every reference image, and its standard error."""
    p = (_nearest_distance(x, x_ref) > radius).float().mean().item()
    return p, proportion_se(p, len(x))


def latent_hole_fraction(z_train: Tensor, z_test: Tensor, n_probe: int = 5000, quantile: float = 0.99,
                         generator: torch.Generator | None = None) -> tuple[float, float]:
    """Chapter 5's measure: the fraction of probes z ~ N(m, S) farther than r from every training code.

    m [K], S [K, K]: mean and covariance of the codes z_train [N, K]; r: the ``quantile`` of the distances from
    the codes of unseen images z_test [M, K] to their nearest training code. Codes that fill their Gaussian
    without holes give about 1 - quantile (a probe is then one more unseen code); rescaling every code by c
    rescales r and every distance by c, so the arbitrary scale of the codes does not matter. The probes are drawn
    on the CPU with ``generator``. Returns the fraction f and its standard error
    sqrt(f (1 - f) / n_probe + q (1 - q) / M), q = 1 - quantile: the probes' binomial noise plus that of r.
    """
    if z_train.ndim != 2 or z_test.ndim != 2 or z_train.shape[1] != z_test.shape[1]:
        raise VaeLibError(
            f"codes must be [N, K] and [M, K] with the same K, got {list(z_train.shape)} and {list(z_test.shape)}"
        )
    if len(z_train) <= z_train.shape[1]:
        raise VaeLibError(f"need more training codes than dimensions to fit a covariance, got {list(z_train.shape)}")
    if not 0.0 < quantile < 1.0:
        raise VaeLibError(f"quantile must be in (0, 1), got {quantile}")
    z_train, z_test = z_train.detach().float().cpu(), z_test.detach().float().cpu()
    mean, chol = z_train.mean(dim=0), torch.linalg.cholesky(torch.cov(z_train.T))
    probes = mean + torch.randn(n_probe, z_train.shape[1], generator=generator) @ chol.T
    radius = _nearest_distance(z_test, z_train).quantile(quantile)
    fraction = (_nearest_distance(probes, z_train) > radius).float().mean().item()
    q = 1.0 - quantile
    return fraction, math.sqrt(fraction * (1 - fraction) / n_probe + q * (1 - q) / len(z_test))


class DigitClassifier(nn.Module):
    """784 -> 256 -> 128 -> 10 MLP (ReLU); ``features(x)`` is the 128-unit layer used for the Fréchet distance."""

    def __init__(self, x_dim: int = 784, hidden: tuple[int, int] = (256, 128), n_classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(x_dim, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU())
        self.head = nn.Linear(hidden[1], n_classes)

    def features(self, x: Tensor) -> Tensor:
        """[B, 784] images in [0, 1] -> [B, 128] features."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """[B, 784] -> [B, 10] class logits."""
        return self.head(self.body(x))


def fit_classifier(x: Tensor, y: Tensor, epochs: int = 3, batch_size: int = 128, lr: float = 2e-3,
                   seed: int = 0) -> DigitClassifier:
    """Train a :class:`DigitClassifier` on images x [N, 784] in [0, 1] and labels y [N] with cross-entropy.

    Each batch is binarized afresh (pixel ~ Bernoulli(x)), so the classifier sees images like the decoded
    Bernoulli samples and also grey pixel probabilities between them.
    """
    if len(x) != len(y):
        raise VaeLibError(f"fit_classifier: {len(x)} images but {len(y)} labels")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = DigitClassifier(x_dim=x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            xb = x[idx]
            xb = torch.where(torch.rand(xb.shape, generator=gen) < 0.5, torch.bernoulli(xb, generator=gen), xb)
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _sqrtm_psd(c: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via its eigendecomposition."""
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray) -> float:
    """FD between Gaussians fitted to two feature sets [N, F] and [M, F] (module docstring), float64."""
    a = np.asarray(feats_a.detach().cpu() if isinstance(feats_a, Tensor) else feats_a, dtype=np.float64)
    b = np.asarray(feats_b.detach().cpu() if isinstance(feats_b, Tensor) else feats_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise VaeLibError(f"frechet_distance needs two [N, F] feature sets (N >= 2), got {a.shape} and {b.shape}")
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrtm_psd(ca)
    cross = _sqrtm_psd(root_a @ cb @ root_a)
    return float(((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(cross))
