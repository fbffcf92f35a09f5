"""vae_lib: the small, tested PyTorch library behind the VAE book.

Modules (each one job): ``errors`` (``VaeLibError``, raised for every bad input), ``data`` (MNIST and toy data), ``distributions`` (log-densities, KL),
``models`` (VAE, autoencoder), ``objectives`` (ELBO, IWAE, importance-sampled log p(x)),
``train`` (``fit``, checkpoints), ``evaluate`` (held-out nats), ``flagship`` (the shipped trained
model, ``load_flagship()``), ``plots`` (figures, Korean font), ``export`` (typed-array export of the
shipped models for the book's explorable figures), ``autoregressive`` (MADE decoder, posterior
collapse), ``vqvae``, ``hierarchical`` and ``diffusion`` (chapter 11), ``latent_diffusion`` (a DDPM
prior on a VAE's codes, classifier-free guidance) and ``sample_quality`` (holes, Fréchet distance), ``seeds`` (``book_seed``:
every seed of a chapter, shifted by ``VAE_BOOK_SEED_OFFSET`` for the seed sweep).
"""

from __future__ import annotations

__version__ = "0.1.0"
from ._startup import guard_interrupt as _guard_interrupt  # noqa: E402

_guard_interrupt()  # `python -m vae_lib`: Ctrl-C while torch imports gives one line, not a traceback

from . import distributions, models, objectives  # noqa: E402  (light, always importable)
from .errors import VaeLibError  # noqa: E402
from .models import VAE, Autoencoder  # noqa: E402
from .objectives import elbo, iwae_bound, log_px_importance  # noqa: E402
from .train import fit, load_checkpoint, save_checkpoint, select_device  # noqa: E402
from .evaluate import evaluate, mean_elbo  # noqa: E402
from .flagship import load_benchmarks, load_flagship  # noqa: E402
from .seeds import book_seed  # noqa: E402


def use_korean_font() -> str:
    """Register the bundled NanumGothic font so Hangul renders in matplotlib (see ``vae_lib.plots``)."""
    from .plots import use_korean_font as _use

    return _use()


__all__ = [
    "VAE", "Autoencoder", "elbo", "iwae_bound", "log_px_importance", "fit", "evaluate", "mean_elbo",
    "load_checkpoint", "save_checkpoint", "load_flagship", "load_benchmarks", "select_device", "use_korean_font",
    "distributions", "models", "objectives", "VaeLibError", "book_seed",
]
