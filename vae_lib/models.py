"""The VAE and the plain autoencoder of the book.

A VAE has an encoder  q_phi(z|x) = N(z; mu_phi(x), diag exp(logvar_phi(x)))
and a decoder p_theta(x|z): Bernoulli(sigmoid(logits_theta(z))) for binary pixels,
or N(x; mean_theta(z), sigma^2 I) for continuous ones. The prior is p(z) = N(0, I).

Shapes: images are flat, ``x: [B, D]`` (D = 784 for MNIST); latents ``z: [B, K]``.
The decoder returns *logits*, never probabilities: the Bernoulli log-likelihood is
computed from logits (stable), and nothing here applies BCE to probabilities.
``mu`` and ``logvar`` come from plain linear layers (no ReLU: both may be negative).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .distributions import log_bernoulli_logits, log_normal_diag
from .errors import VaeLibError

__all__ = ["VAE", "Autoencoder", "mlp", "inputs_validated"]

ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise VaeLibError(f"{name} must be a positive integer, got {value!r}")
    return value


def _widths(hidden: Any) -> tuple[int, ...]:
    """``hidden`` as a tuple of layer widths: ``400`` is read as ``(400,)``."""
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        return (hidden,)
    try:
        return tuple(hidden)
    except TypeError:
        raise VaeLibError(f"hidden must be a layer width or a list of them, e.g. hidden=(400,), got {hidden!r}") from None


@contextmanager
def inputs_validated(model: nn.Module) -> Iterator[None]:
    """Inside this block ``model.encode`` skips its value check (NaN, range [0, 1]).

    For loops that validated the whole data set once up front (``fit``, ``evaluate``): the
    check reads a min and a max back to the host, a device synchronization per batch otherwise.
    """
    old = getattr(model, "_check_values", None)
    if old is None:
        yield
        return
    model._check_values = False
    try:
        yield
    finally:
        model._check_values = old


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """A multilayer perceptron ``sizes[0] -> ... -> sizes[-1]``, activation between layers, none at the end."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class _ConvEncoder(nn.Module):
    """[B, 784] -> [B, hidden]: two stride-2 convolutions (28 -> 14 -> 7), then a linear layer."""

    def __init__(self, hidden: int, extra: int = 0) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(64 * 7 * 7 + extra, hidden), nn.ReLU())

    def forward(self, x: Tensor, extra: Tensor | None = None) -> Tensor:
        h = self.conv(x.reshape(-1, 1, 28, 28))
        if extra is not None:
            h = torch.cat([h, extra], dim=-1)
        return self.fc(h)


class _ConvDecoder(nn.Module):
    """[B, K] -> [B, 784] logits: a linear layer to 64x7x7, then two stride-2 transposed convolutions."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, 64 * 7 * 7), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
        )

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        h = self.fc(z.reshape(-1, z.shape[-1])).reshape(-1, 64, 7, 7)
        return self.deconv(h).reshape(*lead, 784)


class VAE(nn.Module):
    """Variational autoencoder with a N(0, I) prior and a diagonal Gaussian encoder.

    Args:
        x_dim: number of pixels D of a flat image (784 for MNIST, 64 for 8x8 digits).
        z_dim: latent size K.
        hidden: hidden layer widths of the MLP encoder (the decoder mirrors them);
            for ``arch="conv"`` only ``hidden[0]`` is used (width of the dense layer).
        arch: ``"mlp"`` or ``"conv"`` (the convolutional variant needs 28x28 images).
        likelihood: ``"bernoulli"`` (decoder gives logits; data must be 0/1) or
            ``"gaussian"`` (decoder gives a mean in (0, 1) and a fixed log-variance).
        n_classes: if set, a conditional VAE: encoder and decoder also see a
            one-hot label, ``q(z|x, y)`` and ``p(x|z, y)``.
        gaussian_var: the fixed variance sigma^2 of the Gaussian decoder.
    """

    def __init__(
        self,
        x_dim: int = 784,
        z_dim: int = 20,
        hidden: Sequence[int] = (400,),
        arch: str = "mlp",
        likelihood: str = "bernoulli",
        n_classes: int | None = None,
        gaussian_var: float = 0.1,
    ) -> None:
        super().__init__()
        _positive_int("x_dim", x_dim)
        _positive_int("z_dim (the latent size)", z_dim)
        hidden = _widths(hidden)
        if not hidden:
            raise VaeLibError("hidden must list at least one layer width, e.g. hidden=(400,)")
        for h in hidden:
            _positive_int("every hidden width", h)
        if arch not in ARCHS:
            raise VaeLibError(f"arch must be one of {ARCHS}, got {arch!r}")
        if likelihood not in LIKELIHOODS:
            raise VaeLibError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if arch == "conv" and x_dim != 784:
            raise VaeLibError(f"arch='conv' is built for 28x28 images (x_dim=784), got x_dim={x_dim}; use arch='mlp'")
        if n_classes is not None:
            _positive_int("n_classes", n_classes)
        if not (isinstance(gaussian_var, (int, float)) and gaussian_var > 0):
            raise VaeLibError(f"gaussian_var must be a positive number, got {gaussian_var!r}")

        self.x_dim, self.z_dim, self.hidden = x_dim, z_dim, hidden
        self.arch, self.likelihood, self.n_classes = arch, likelihood, n_classes
        self.gaussian_var = float(gaussian_var)
        self._check_values = True  # encode() checks values; see inputs_validated
        c = n_classes or 0

        if arch == "mlp":
            self.encoder_body = mlp([x_dim + c, *hidden])
            self.encoder_body.append(nn.ReLU())
            self.decoder_net = mlp([z_dim + c, *reversed(hidden), x_dim])
        else:
            self.encoder_body = _ConvEncoder(hidden[0], extra=c)
            self.decoder_net = _ConvDecoder(z_dim + c, hidden[0])
        self.to_mu = nn.Linear(hidden[-1] if arch == "mlp" else hidden[0], z_dim)
        self.to_logvar = nn.Linear(hidden[-1] if arch == "mlp" else hidden[0], z_dim)
        self.register_buffer("decoder_logvar", torch.tensor(math.log(self.gaussian_var)))

    # ----------------------------------------------------------------- config
    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments: ``VAE(**model.config)`` rebuilds the same architecture."""
        return {
            "x_dim": self.x_dim, "z_dim": self.z_dim, "hidden": list(self.hidden), "arch": self.arch,
            "likelihood": self.likelihood, "n_classes": self.n_classes, "gaussian_var": self.gaussian_var,
        }

    def _one_hot(self, y: Tensor | None, batch: int) -> Tensor | None:
        if self.n_classes is None:
            if y is not None:
                raise VaeLibError("this VAE is not conditional (n_classes=None); do not pass labels y")
            return None
        if y is None:
            raise VaeLibError(f"this is a conditional VAE (n_classes={self.n_classes}): pass labels y, shape [B]")
        if not isinstance(y, Tensor) or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise TypeError("labels y must be an integer tensor of class indices, shape [B]")
        if y.shape != (batch,):
            raise VaeLibError(f"labels y must have shape [{batch}], got {tuple(y.shape)}")
        if getattr(self, "_check_values", True) and y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise VaeLibError(f"labels must lie in 0..{self.n_classes - 1}")
        return F.one_hot(y.long(), self.n_classes).to(self.to_mu.weight.dtype)

    def _check_x(self, x: Tensor) -> Tensor:
        """Check type and shape (and values, see ``inputs_validated``); returns x in the weights' dtype."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not torch.is_floating_point(x):
            raise TypeError(f"x must be a floating-point tensor (e.g. x.float() / 255), got dtype {x.dtype}")
        if x.dim() != 2 or x.shape[1] != self.x_dim:
            raise VaeLibError(
                f"x must have shape [batch, {self.x_dim}] (flat images), got {tuple(x.shape)}; "
                "flatten images with x.reshape(len(x), -1)"
            )
        dtype = self.to_mu.weight.dtype
        if x.dtype != dtype:
            x = x.to(dtype)  # e.g. float64 data for a float32 model
        if getattr(self, "_check_values", True) and x.numel():
            # one reduction and one read-back (min and max; NaN propagates into both)
            lo, hi = torch.stack(torch.aminmax(x.detach())).tolist()
            if math.isnan(lo) or math.isnan(hi):
                raise VaeLibError("x contains NaN values; remove or replace them before encoding")
            if not (0.0 <= lo and hi <= 1.0):
                raise VaeLibError(
                    f"pixel values must lie in [0, 1], got range [{lo:.3g}, {hi:.3g}]; "
                    "divide 0-255 images by 255 (x / 255)"
                )
        return x

    # ------------------------------------------------------------ inference
    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """q_phi(z|x): ``x [B, D] -> (mu [B, K], logvar [B, K])``."""
        x = self._check_x(x)
        onehot = self._one_hot(y, x.shape[0])
        if self.arch == "mlp":
            h = self.encoder_body(x if onehot is None else torch.cat([x, onehot], dim=-1))
        else:
            h = self.encoder_body(x, onehot)
        return self.to_mu(h), self.to_logvar(h)

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample of q that gradients flow through to mu and logvar.

        ``mu, logvar: [..., K]``. With a ``generator`` on another device than ``mu`` (e.g. a CPU
        generator for a CUDA model) eps is drawn on the generator's device and moved to ``mu``'s.
        """
        on = mu.device if generator is None else generator.device
        eps = torch.randn(mu.shape, generator=generator, device=on, dtype=mu.dtype).to(mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    # ----------------------------------------------------------- generation
    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """p_theta(x|z): ``z [..., K]`` -> Bernoulli logits ``[..., D]``, or (mean, logvar) for a Gaussian decoder."""
        if z.shape[-1] != self.z_dim:
            raise VaeLibError(f"z must have last dimension z_dim={self.z_dim}, got shape {tuple(z.shape)}")
        if getattr(self, "_check_values", True) and z.numel() and bool(torch.isnan(z.detach()).any()):
            # as encode does for x (skipped inside ``inputs_validated``: fit and evaluate check once up front)
            raise VaeLibError("z contains NaN values; remove or replace them before decoding "
                              "(NaN in z from encode means NaN weights: the model diverged)")
        if self.n_classes is not None:
            batch = z.shape[-2] if z.dim() >= 2 else 1
            onehot = self._one_hot(y, batch)  # [B, C], broadcast over leading sample dimensions of z
            z = torch.cat([z, onehot.expand(*z.shape[:-1], self.n_classes)], dim=-1)
        elif y is not None:
            self._one_hot(y, 0)  # raises: labels given to an unconditional VAE
        out = self.decoder_net(z)
        if self.likelihood == "bernoulli":
            return out
        return torch.sigmoid(out), self.decoder_logvar.expand_as(out)

    def log_likelihood(self, x: Tensor, decoded: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        """log p_theta(x|z) summed over pixels, from the decoder output; broadcasts ``[..., D] -> [...]``."""
        if self.likelihood == "bernoulli":
            return log_bernoulli_logits(x, decoded)
        mean, logvar = decoded
        return log_normal_diag(x, mean, logvar)

    def mean_image(self, decoded: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        """E[x|z]: sigmoid(logits) for Bernoulli, the mean for Gaussian."""
        return torch.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded[0]

    def forward(self, x: Tensor, y: Tensor | None = None) -> tuple[Any, Tensor, Tensor, Tensor]:
        """One pass: ``(decoded, mu, logvar, z)`` with z ~ q(z|x) by reparameterization."""
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar)
        return self.decode(z, y), mu, logvar, z

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Draw z ~ N(0, I) and return E[x|z], shape ``[n, D]`` (pixel probabilities for Bernoulli)."""
        _positive_int("n (number of samples)", n)
        device = self.to_mu.weight.device
        z = torch.randn(n, self.z_dim, generator=generator, device=device if generator is None else generator.device)
        return self.mean_image(self.decode(z.to(device), y))

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """E[x | z = mu(x)]: the decoder's mean at the encoder's mean, shape ``[B, D]``."""
        mu, _ = self.encode(x, y)
        return self.mean_image(self.decode(mu, y))


class Autoencoder(nn.Module):
    """A deterministic autoencoder ``x [B, D] -> z [B, K] -> x_hat [B, D]`` (chapter 5).

    With ``linear=True`` encoder and decoder are single linear maps (the PCA
    connection); otherwise MLPs with ReLU and a sigmoid output in (0, 1).
    """

    def __init__(self, x_dim: int = 784, z_dim: int = 2, hidden: Sequence[int] = (256,), linear: bool = False) -> None:
        super().__init__()
        _positive_int("x_dim", x_dim)
        _positive_int("z_dim (the bottleneck size)", z_dim)
        self.x_dim, self.z_dim, self.linear = x_dim, z_dim, linear
        if linear:
            self.encoder = nn.Linear(x_dim, z_dim)
            self.decoder = nn.Linear(z_dim, x_dim)
        else:
            hidden = _widths(hidden)
            for h in hidden:
                _positive_int("every hidden width", h)
            self.encoder = mlp([x_dim, *hidden, z_dim])
            self.decoder = nn.Sequential(mlp([z_dim, *reversed(hidden), x_dim]), nn.Sigmoid())

    def encode(self, x: Tensor) -> Tensor:
        """``[B, D] -> [B, K]``."""
        if x.dim() != 2 or x.shape[1] != self.x_dim:
            raise VaeLibError(f"x must have shape [batch, {self.x_dim}], got {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """``[B, K] -> [B, D]``."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))
