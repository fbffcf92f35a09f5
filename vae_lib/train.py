"""Training a VAE by maximizing the ELBO with Adam: ``fit``, device selection and checkpoints.

The whole data set lives on the device as one tensor ``[N, D]``; each epoch visits it in
mini-batches taken from a random permutation (no per-sample DataLoader, no copies per item).
With ``binarize="dynamic"`` every mini-batch is re-binarized, x_b ~ Bernoulli(x), so each
epoch sees a fresh binary sample of the grey images. ``iwae_k > 1`` trains on the IWAE_k bound
instead of the ELBO; ``lr_schedule="cosine"`` decays the learning rate; a checkpoint written every
epoch carries the optimizer and random-number state, so ``resume=True`` continues a run exactly.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from .models import VAE
from .objectives import check_data, elbo, iwae_terms

__all__ = ["select_device", "fit", "History", "TrainingDivergedError", "save_checkpoint", "load_checkpoint"]

CHECKPOINT_FORMAT = "vae_lib-checkpoint-v1"


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the batch."""


class History(list):
    """Per-epoch records (dicts) with keys ``epoch, train_elbo, train_recon, train_kl, valid_elbo,
    valid_recon, valid_kl, beta, lr, seconds`` (and ``train_iwae`` when training on IWAE_k);
    all terms are per-example means in nats."""

    def as_dict(self) -> dict[str, list[Any]]:
        """Column view: ``{"train_elbo": [...], ...}``."""
        keys = list(self[0]) if self else []
        return {k: [row.get(k) for row in self] for k in keys}

    @property
    def last(self) -> dict[str, Any]:
        return self[-1]


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, or the best available: CUDA, then Apple MPS, then CPU."""
    if device is not None:
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was asked for but CUDA is not available; use device='cpu' or None (auto)")
        if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError("device='mps' was asked for but Apple MPS is not available; use device='cpu' or None")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _progress_bar(total: int, progress: bool | str, desc: str):
    """A tqdm bar: the notebook widget in Jupyter, text in a terminal, nothing when ``progress=False``."""
    from tqdm.auto import tqdm

    if progress not in (True, False, "auto"):
        raise ValueError(f"progress must be True, False or 'auto', got {progress!r}")
    return tqdm(total=total, desc=desc, disable=progress is False, mininterval=0.5, leave=True)


def _make_optimizer(params, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam; the fused kernel where this torch/device supports it (CPU since torch 2.4, CUDA)."""
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(params, lr=lr)


def _check_labels(y: Tensor | None, x: Tensor, name: str) -> None:
    if y is not None and (not isinstance(y, Tensor) or y.shape != (x.shape[0],)):
        raise ValueError(f"{name} must be a label tensor of shape [{x.shape[0]}] matching the images")


def _learning_rate(step: int, total_steps: int, lr: float, lr_min: float, schedule: str) -> float:
    """Learning rate at optimizer step ``step`` (0-based): constant, or cosine from lr down to lr_min."""
    if schedule == "constant":
        return lr
    return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * step / total_steps))


@torch.no_grad()
def _evaluate_elbo(model: VAE, x: Tensor, y: Tensor | None, batch_size: int, autocast=nullcontext) -> dict[str, float]:
    """Per-example means of (ELBO, reconstruction, KL) over ``x``, in batches, one z per example."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=x.device)
    for start in range(0, len(x), batch_size):
        yb = None if y is None else y[start : start + batch_size]
        with autocast():
            terms = elbo(model, x[start : start + batch_size], 1.0, yb, check=False)
        sums += torch.stack([t.float().sum() for t in terms]).double()
    model.train(was_training)
    return dict(zip(("elbo", "recon", "kl"), (sums / len(x)).tolist()))


def fit(
    model: VAE,
    x_train: Tensor,
    x_valid: Tensor | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    lr_schedule: str = "constant",
    lr_min: float = 0.0,
    iwae_k: int = 1,
    beta: float = 1.0,
    kl_warmup_epochs: int = 0,
    binarize: str = "dynamic",
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool | str = "auto",
    bf16: bool = False,
    compile: bool = False,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    y_train: Tensor | None = None,
    y_valid: Tensor | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> History:
    """Train ``model`` by maximizing the mean ELBO (minimizing -ELBO) with Adam; returns the history.

    Args:
        x_train, x_valid: images ``[N, D]`` in [0, 1] (grey with ``binarize="dynamic"``, already
            binary with ``"none"`` for a Bernoulli model). The validation set is binarized once,
            with a fixed seed, so its ELBO is comparable across epochs.
        lr_schedule: ``"constant"``, or ``"cosine"``: lr_t = lr_min + (lr - lr_min)(1 + cos(pi t / T)) / 2
            over the T optimizer steps of the run.
        iwae_k: 1 trains on the ELBO; k > 1 on the IWAE_k bound (Burda et al. 2016), which
            draws k samples per image and needs beta = 1 and no KL warm-up.
        beta: weight of the KL term (beta-VAE); ``kl_warmup_epochs`` raises it linearly from 0
            to ``beta`` over that many epochs (KL annealing).
        device: None picks CUDA, then MPS, then CPU. The model is moved there and stays there.
        seed: seeds the permutation, the binarization and the reparameterization noise;
            on the CPU two runs with the same seed and initial weights give identical histories.
        progress: tqdm bar (True/"auto") or silence (False).
        bf16, compile: CUDA only — bfloat16 autocast and ``torch.compile``.
        checkpoint: if given, a checkpoint is written there after every epoch, with the optimizer
            and random-number state.
        resume: continue from ``checkpoint`` if it exists (same model and settings): the epochs
            already done are skipped and the run ends as if it had never stopped.
        y_train, y_valid: labels for a conditional VAE (``VAE(n_classes=...)``).
        on_epoch: called with each epoch's record (e.g. to print a log line).
    """
    if not isinstance(model, VAE):
        raise TypeError(f"fit trains a vae_lib.models.VAE, got {type(model).__name__}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(kl_warmup_epochs, bool) or not isinstance(kl_warmup_epochs, int) or kl_warmup_epochs < 0:
        raise ValueError(f"kl_warmup_epochs must be an integer >= 0, got {kl_warmup_epochs!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(beta, (int, float)) and beta >= 0 and math.isfinite(beta)):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if not (isinstance(lr_min, (int, float)) and 0 <= lr_min <= lr):
        raise ValueError(f"lr_min must be a number in [0, lr={lr}], got {lr_min!r}")
    if isinstance(iwae_k, bool) or not isinstance(iwae_k, int) or iwae_k <= 0:
        raise ValueError(f"iwae_k must be a positive integer (1 = train on the ELBO), got {iwae_k!r}")
    if iwae_k > 1 and (beta != 1 or kl_warmup_epochs or model.n_classes is not None):
        raise ValueError("iwae_k > 1 trains an unconditional VAE on the IWAE bound: use beta=1, kl_warmup_epochs=0, no labels")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path> to resume from")
    if binarize not in ("dynamic", "none"):
        raise ValueError(f"binarize must be 'dynamic' or 'none', got {binarize!r}")
    if binarize == "dynamic" and model.likelihood != "bernoulli":
        raise ValueError("binarize='dynamic' is for Bernoulli models; use binarize='none' with likelihood='gaussian'")

    # Validate once, up front (the loop then skips per-batch checks). Grey values are fine when
    # they are binarized on the fly, so check the [0, 1] range with a Gaussian stand-in.
    probe = model if binarize == "none" else _RangeOnly(model.x_dim)
    check_data(probe, x_train)
    _check_labels(y_train, x_train, "y_train")
    if x_valid is not None:
        check_data(probe, x_valid)
        _check_labels(y_valid, x_valid, "y_valid")
    if len(x_train) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the training set ({len(x_train)} examples)")

    device = select_device(device)
    torch.manual_seed(seed)
    model.to(device).train()
    x_train = x_train.to(device)
    y_train = None if y_train is None else y_train.to(device)
    if x_valid is not None:
        x_valid = x_valid.to(device)
        y_valid = None if y_valid is None else y_valid.to(device)
        if binarize == "dynamic":
            gen = torch.Generator(device=device).manual_seed(seed + 1)
            x_valid = torch.bernoulli(x_valid, generator=gen)

    use_cuda = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if (bf16 and use_cuda) else nullcontext

    def train_terms(xb: Tensor, beta_t: Tensor, yb: Tensor | None) -> tuple[Tensor, Tensor]:
        """(objective [B], logged terms [4, B] = ELBO, recon, KL, objective)."""
        if iwae_k > 1:
            t = iwae_terms(model, xb, iwae_k, check=False)
            return t.iwae, torch.stack([t.elbo, t.recon, t.kl, t.iwae])
        t = elbo(model, xb, beta_t, yb, check=False)
        return t.elbo, torch.stack([t.elbo, t.recon, t.kl, t.elbo])

    if compile and use_cuda:
        train_terms = torch.compile(train_terms)
    optimizer = _make_optimizer(model.parameters(), lr, device)

    n = len(x_train)
    steps_per_epoch = n // batch_size  # drop the last partial batch: every step has the same size
    warmup_steps = kl_warmup_epochs * steps_per_epoch
    total_steps = epochs * steps_per_epoch
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "lr_schedule": lr_schedule, "lr_min": lr_min,
                "iwae_k": iwae_k, "beta": beta, "kl_warmup_epochs": kl_warmup_epochs, "binarize": binarize,
                "seed": seed, "n_train": n}
    history = History()
    if resume and Path(checkpoint).is_file():
        history = _restore_training_state(model, optimizer, checkpoint, settings, device)
    step = len(history) * steps_per_epoch
    bar = _progress_bar(total_steps, progress, "training")
    bar.update(step)
    try:
        for epoch in range(len(history) + 1, epochs + 1):
            start_time = time.perf_counter()
            sums = torch.zeros(4, dtype=torch.float64, device=device)
            permutation = torch.randperm(n, device=device)
            for b in range(steps_per_epoch):
                idx = permutation[b * batch_size : (b + 1) * batch_size]
                xb = x_train[idx]
                if binarize == "dynamic":
                    xb = torch.bernoulli(xb)
                yb = None if y_train is None else y_train[idx]
                beta_t = beta * min(1.0, (step + 1) / warmup_steps) if warmup_steps else beta
                lr_t = _learning_rate(step, total_steps, lr, lr_min, lr_schedule)
                for group in optimizer.param_groups:
                    group["lr"] = lr_t
                with autocast():
                    objective, terms = train_terms(xb, torch.tensor(beta_t, device=device), yb)
                    loss = -objective.float().mean()
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(
                        f"the loss became {loss.item()} at epoch {epoch}, batch {b + 1}/{steps_per_epoch}; "
                        "lower the learning rate (lr), check the data for bad values, or disable bf16"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sums += terms.detach().float().sum(dim=1).double()
                step += 1
                bar.update(1)
            train = (sums / (steps_per_epoch * batch_size)).tolist()
            record: dict[str, Any] = {
                "epoch": epoch, "train_elbo": train[0], "train_recon": train[1], "train_kl": train[2],
                **({"train_iwae": train[3]} if iwae_k > 1 else {}), "beta": beta_t, "lr": lr_t,
            }
            if x_valid is not None:
                valid = _evaluate_elbo(model, x_valid, y_valid, 1000, autocast)
                record.update({f"valid_{k}": v for k, v in valid.items()})
            record["seconds"] = time.perf_counter() - start_time
            history.append(record)
            shown = record.get("valid_elbo", record["train_elbo"])
            bar.set_postfix(epoch=epoch, neg_elbo=f"{-shown:.2f}")
            if checkpoint is not None:
                save_checkpoint(model, checkpoint, history=history,
                                training_state=_training_state(optimizer, settings, device))
            if on_epoch is not None:
                on_epoch(record)
    finally:
        bar.close()
    model.eval()
    return history


def _training_state(optimizer: torch.optim.Optimizer, settings: dict, device: torch.device) -> dict:
    """What ``resume`` needs beyond the weights: optimizer moments, the settings and the RNG states."""
    state = {"optimizer": optimizer.state_dict(), "settings": dict(settings), "cpu_rng": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def _restore_training_state(model: VAE, optimizer: torch.optim.Optimizer, path: str | os.PathLike,
                            settings: dict, device: torch.device) -> History:
    """Load weights, optimizer and RNG state from a checkpoint written by ``fit``; returns its history."""
    payload = _read_checkpoint(Path(path), map_location=device)
    state = payload.get("training_state")
    if not state:
        raise ValueError(f"{path} has no training state (it is a finished model); start a new run or pass resume=False")
    if payload["config"] != model.config:
        raise ValueError(f"{path} holds a different model {payload['config']}; this run has {model.config}")
    changed = {k: (state["settings"].get(k), v) for k, v in settings.items() if state["settings"].get(k) != v}
    if changed:
        raise ValueError(f"cannot resume {path}: settings differ from the saved run (saved, now): {changed}")
    model.load_state_dict(payload["state_dict"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["cpu_rng"].cpu())
    if "cuda_rng" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
    return History(payload.get("history", []))


class _RangeOnly:
    """A stand-in model for ``check_data`` that checks shape and the [0, 1] range but not binarity."""

    likelihood = "gaussian"

    def __init__(self, x_dim: int) -> None:
        self.x_dim = x_dim


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(
    model: VAE,
    path: str | os.PathLike,
    history: list[dict] | None = None,
    extra: dict | None = None,
    training_state: dict | None = None,
) -> Path:
    """Write ``{format, config, state_dict, history, extra}`` with tensors and plain types only.

    ``training_state`` (optimizer and RNG state, written by ``fit``) lets a run resume; a finished
    model is saved without it, which keeps the file to the weights.

    The file is written to a temporary name and renamed, so an interrupted save never leaves a half file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": [dict(row) for row in (history or [])],
        "extra": dict(extra or {}),
    }
    if training_state is not None:
        payload["training_state"] = training_state
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> VAE:
    """Rebuild the VAE saved by ``save_checkpoint``; loads with ``weights_only=True`` (no arbitrary code).

    The history is attached as ``model.history`` and extra information as ``model.extra``.
    """
    payload = _read_checkpoint(Path(path), map_location)
    model = VAE(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    model.history = History(payload.get("history", []))
    model.extra = payload.get("extra", {})
    return model.to(map_location).eval()


def _read_checkpoint(path: Path, map_location: str | torch.device) -> dict:
    """The checkpoint's payload, loaded with ``weights_only=True``, after checking its format."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"refusing to load {path}: it holds pickled objects beyond tensors and plain types "
            f"(weights_only=True refused it: {str(err).splitlines()[0]})"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a vae_lib checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    return payload
