"""vae_lib.sample_quality: holes, the Fréchet distance and the small digit classifier of chapter 12."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from vae_lib import VaeLibError
from vae_lib import sample_quality as sq


def _with_moments(n: int, mean: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    """n points whose sample mean and covariance are exactly ``mean`` and ``cov``."""
    x = np.random.default_rng(seed).normal(size=(n, len(mean)))
    x -= x.mean(0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T  # sample covariance I
    return mean + x @ np.linalg.cholesky(cov).T


def test_frechet_distance_of_known_moments() -> None:
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    c1, c2 = np.diag([1.0, 4.0, 0.25]), np.diag([4.0, 1.0, 0.25])
    a, b = _with_moments(500, m1, c1, 0), _with_moments(700, m2, c2, 1)
    # diagonal covariances commute: FD = |m1 - m2|^2 + sum (sqrt c1 - sqrt c2)^2 = 5 + 1 + 1 = 7
    assert sq.frechet_distance(a, b) == pytest.approx(7.0, abs=1e-8)
    # full covariances: the textbook formula with scipy's matrix square root
    rng = np.random.default_rng(2)
    l1, l2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    c1, c2 = l1 @ l1.T + 0.1 * np.eye(3), l2 @ l2.T + 0.1 * np.eye(3)
    a, b = _with_moments(400, m1, c1, 3), _with_moments(400, m2, c2, 4)
    expected = ((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert sq.frechet_distance(torch.tensor(a), torch.tensor(b)) == pytest.approx(expected, rel=1e-6)
    assert sq.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(VaeLibError, match="feature sets"):
        sq.frechet_distance(a, b[:, :2])


def test_hole_fraction_counts_points_beyond_the_radius() -> None:
    ref = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    good = torch.tensor([[0.0, 0.1 * k] for k in range(1, 101)])  # distances 0.1 .. 10.0
    assert sq.hole_radius(good, ref, quantile=0.5) == pytest.approx(5.05)
    probes = torch.tensor([[0.0, 1.0], [10.0, 6.0], [5.0, 0.0], [0.0, -9.0]])  # distances 1, 6, 5, 9
    p, se = sq.hole_fraction(probes, ref, radius=5.05)
    assert p == 0.5 and se == pytest.approx(math.sqrt(0.25 / 4))
    with pytest.raises(VaeLibError, match="quantile"):
        sq.hole_radius(good, ref, quantile=1.0)
    with pytest.raises(VaeLibError, match="same D"):
        sq.hole_fraction(probes, torch.zeros(3, 5), 1.0)


def _two_clusters(n: int, dim: int, offset: float, gen: torch.Generator) -> torch.Tensor:
    """n codes [n, dim] from N(0, I) shifted by -offset or +offset (at random) along the first axis."""
    z = torch.randn(n, dim, generator=gen)
    z[:, 0] += torch.where(torch.rand(n, generator=gen) < 0.5, -offset, offset)
    return z


def test_latent_hole_fraction_is_about_one_minus_quantile_for_gaussian_codes_and_large_with_a_hole() -> None:
    gen = torch.Generator().manual_seed(0)
    cov_root = torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.3, 1.0]])
    z_train, z_test = torch.randn(4000, 3, generator=gen) @ cov_root.T, torch.randn(2000, 3, generator=gen) @ cov_root.T
    # codes that fill their Gaussian: a probe is one more unseen code, in a hole with probability 1 - 0.95
    p, se = sq.latent_hole_fraction(z_train, z_test, n_probe=20_000, quantile=0.95, generator=gen)
    assert 0.005 < se < 0.01 and abs(p - 0.05) < 4 * se, (p, se)
    # two clusters 12 apart: their Gaussian puts many probes in the empty middle
    two, two_test = _two_clusters(4000, 3, 6.0, gen), _two_clusters(2000, 3, 6.0, gen)
    p2, se2 = sq.latent_hole_fraction(two, two_test, n_probe=20_000, quantile=0.95, generator=gen)
    assert p2 - p > 10 * math.hypot(se, se2) and p2 > 0.2, (p2, p)
    # the scale of the codes does not matter: the same probes, every distance times 7
    a = sq.latent_hole_fraction(two, two_test, generator=torch.Generator().manual_seed(1))
    b = sq.latent_hole_fraction(7 * two, 7 * two_test, generator=torch.Generator().manual_seed(1))
    assert a[0] == pytest.approx(b[0], abs=2 / 5000) and a[0] > 0.1
    with pytest.raises(VaeLibError, match="same K"):
        sq.latent_hole_fraction(z_train, z_test[:, :2])
    with pytest.raises(VaeLibError, match="more training codes"):
        sq.latent_hole_fraction(z_train[:3], z_test)


def test_latent_hole_fraction_matches_a_kd_tree_count() -> None:
    """The same probes counted independently: scipy's KD-tree nearest neighbours (chapter 05's inline version)."""
    from scipy.spatial import KDTree

    gen = torch.Generator().manual_seed(3)
    z = _two_clusters(4000, 4, 4.0, gen)  # codes with a hole between two clusters
    z_train, z_test = z[:3000], z[3000:]
    p, _ = sq.latent_hole_fraction(z_train, z_test, n_probe=8000, generator=torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    mean, chol = z_train.mean(0), torch.linalg.cholesky(torch.cov(z_train.T))
    probes = mean + torch.randn(8000, 4, generator=gen) @ chol.T
    tree = KDTree(z_train.double().numpy())
    radius = np.quantile(tree.query(z_test.double().numpy())[0], 0.99)
    expected = float((tree.query(probes.double().numpy())[0] > radius).mean())
    assert p == pytest.approx(expected, abs=2 / 8000) and p > 0.1


def test_the_classifier_learns_mnist_and_its_features_separate_real_from_noise() -> None:
    from vae_lib.data import load_mnist

    x, y = load_mnist("train")
    xt, yt = load_mnist("test")
    clf = sq.fit_classifier(x[:12_000], y[:12_000], epochs=3, seed=0)
    with torch.no_grad():
        acc = (clf(xt[:2000]).argmax(-1) == yt[:2000]).float().mean().item()
        assert acc > 0.9, f"a 2-layer MLP reaches well over 90 % on MNIST, got {acc:.3f}"
        real_a, real_b = clf.features(xt[:1000]), clf.features(xt[1000:2000])
        noise = clf.features(torch.rand(1000, 784))
    same = sq.frechet_distance(real_a, real_b)
    assert sq.frechet_distance(real_a, noise) > 10 * same, "noise must be far from digits, two test halves close"
