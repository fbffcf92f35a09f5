"""The book's flagship VAEs: trained weights shipped inside vae_lib, loaded in one call.

One stochastic layer: q(z|x) = N(mu(x), diag exp(logvar(x))) and p(x|z) = Bernoulli(sigmoid(logits(z)))
with MLPs 784-400-400-(2x50) and 50-400-400-784 (ReLU), p(z) = N(0, I), trained on the IWAE_5 bound
(Burda et al. 2016). ``"mnist"`` was trained on dynamically binarized MNIST (60,000 training
images, each batch binarized afresh); ``"binarized-mnist"`` on the static binarization
(train + valid, 60,000 images). Each file holds the exact training command, the per-epoch history
and the test numbers in ``model.extra``; ``python -m vae_lib evaluate`` recomputes them.
Beside them lie their training logs and ``benchmarks.json``, the output of ``benchmarks/report.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .errors import CheckpointError, VaeLibError
from .models import VAE
from .train import load_checkpoint, select_device

__all__ = ["FLAGSHIPS", "flagship_path", "load_flagship", "load_benchmarks"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# dataset -> (file name in vae_lib/results, sha256 of that file)
FLAGSHIPS: dict[str, tuple[str, str]] = {
    "mnist": ("flagship_mnist.pt", "74edc57aca9eb77d0a6e6ed2794fee9f21e58697d7fd1e5823dd940fa4454dad"),
    "binarized-mnist": ("flagship_binarized_mnist.pt", "68b30f8d2fa35fe07c83519b103b63b5768b9c80a3249f9983749776d57c12f6"),
}


def flagship_path(dataset: str = "mnist") -> Path:
    """Path of the shipped weights for ``dataset`` (``"mnist"`` or ``"binarized-mnist"``)."""
    if dataset not in FLAGSHIPS:
        raise VaeLibError(f"no flagship model for {dataset!r}; choose one of {sorted(FLAGSHIPS)}")
    return RESULTS_DIR / FLAGSHIPS[dataset][0]


def load_flagship(dataset: str = "mnist", device: str | torch.device = "cpu") -> VAE:
    """The trained flagship VAE for ``dataset``, in eval mode on ``device`` (CPU by default).

    ``model.encode(x)`` maps binary images ``[B, 784]`` to ``(mu, logvar)``, each ``[B, 50]``;
    ``model.decode(z)`` maps ``[..., 50]`` to Bernoulli logits ``[..., 784]``.
    ``model.extra`` holds the training command and the test results; ``model.history`` the epochs.
    The file's sha256 is checked first and it is loaded with ``weights_only=True``.
    """
    device = select_device(device)  # a missing device fails first, in one clear line
    path = flagship_path(dataset)
    if not path.is_file():
        raise FileNotFoundError(
            f"the flagship weights {path.name} are missing from {path.parent}; reinstall vae_lib from the "
            "book's repository (pip install -e .), which ships them"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = FLAGSHIPS[dataset][1]
    if digest != expected:
        raise CheckpointError(
            f"{path} is damaged or not the shipped file (sha256 {digest[:12]}..., expected {expected[:12]}...); "
            "if the repository uses Git LFS run `git lfs pull`, otherwise check out the file again"
        )
    return load_checkpoint(path, map_location=device)


def load_benchmarks() -> dict:
    """The performance report written by ``python benchmarks/report.py`` (``vae_lib/results/benchmarks.json``):
    ``machine``, ``train_speed``, ``flagship_evaluation`` and ``book_build``."""
    path = RESULTS_DIR / "benchmarks.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run `python benchmarks/report.py` to measure and write it")
    return json.loads(path.read_text())
