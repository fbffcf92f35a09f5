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
import re
import sys
import tempfile
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from .errors import CheckpointError, VaeLibError
from .models import VAE, inputs_validated
from .objectives import check_data, elbo, iwae_terms

__all__ = ["select_device", "fit", "History", "TrainingDivergedError", "save_checkpoint", "load_checkpoint",
           "check_fit_settings"]

CHECKPOINT_FORMAT = "vae_lib-checkpoint-v1"
FINITE_CHECK_EVERY = 50  # optimizer steps between checks that the loss is finite (each check is one host sync)
DEVICE_TYPES = ("cpu", "cuda", "mps")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


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
    """The given device, or the best available: CUDA, then Apple MPS, then CPU.

    ``device`` is None / ``"auto"`` (pick), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a
    ``torch.device``; anything else, or a device this machine lacks, raises ``VaeLibError``.
    """
    if isinstance(device, str) and device.strip().lower() == "auto":
        device = None
    if device is not None:
        if not isinstance(device, (str, torch.device)):
            raise VaeLibError(f"device must be a string such as 'cpu' or 'cuda', or None (auto); got {device!r}")
        try:
            device = torch.device(device)
        except (RuntimeError, ValueError):
            hint = " (for an NVIDIA GPU the name is 'cuda')" if str(device).lower().startswith("gpu") else ""
            raise VaeLibError(f"unknown device {str(device)!r}{hint}; use one of 'cpu', 'cuda', 'mps' or "
                              "'auto' (the best available)") from None
        if device.type not in DEVICE_TYPES:
            raise VaeLibError(f"vae_lib runs on 'cpu', 'cuda' or 'mps', not {device.type!r}; use one of those or "
                              "'auto' (the best available)")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise VaeLibError("device 'cuda' was asked for but CUDA is not available on this machine; use 'cpu' or "
                              "'auto' (the best available)")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise VaeLibError(f"device {str(device)!r} does not exist: this machine has {torch.cuda.device_count()} "
                              "CUDA device(s), numbered from 0")
        if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise VaeLibError("device 'mps' was asked for but Apple MPS is not available; use 'cpu' or 'auto' (the best available)")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _check_progress(progress: object) -> None:
    if progress not in (True, False, "auto", None):
        raise VaeLibError(f"progress must be True, False, 'auto' or None, got {progress!r}")


def _tqdm_disabled_by_env() -> bool:
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def _progress_bar(total: int, progress: bool | str | None, desc: str):
    """A tqdm bar: the notebook widget in Jupyter, text in a terminal.

    ``progress=False``: no bar; ``True``: a bar; ``"auto"`` / None: a bar unless the environment
    variable ``TQDM_DISABLE`` is set (e.g. ``TQDM_DISABLE=1`` in a book build; tqdm's notebook
    widget would ignore it). In a notebook the bar's plain-text fallback, which a viewer without
    widgets shows (a saved or converted notebook), is updated when the bar closes, so it reads
    ``100%|...| 3276/3276`` and not the ``0%`` of the moment it was displayed.
    """
    from tqdm.auto import tqdm

    _check_progress(progress)
    if progress in ("auto", None) and _tqdm_disabled_by_env():
        progress = False
    options = {"disable": progress is False} if progress in (True, False) else {}
    notebook = sys.modules.get("tqdm.notebook")
    if progress is not False and notebook is not None and issubclass(tqdm, notebook.tqdm_notebook):
        return _notebook_bar_class(tqdm)(total=total, desc=desc, mininterval=0.5, leave=True, **options)
    return tqdm(total=total, desc=desc, mininterval=0.5, leave=True, **options)


_NOTEBOOK_BAR: dict[type, type] = {}


def _notebook_bar_class(base: type) -> type:
    """tqdm's notebook bar, displayed with a display id and re-displayed (final text) on close."""
    if base not in _NOTEBOOK_BAR:

        class NotebookBar(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, display=False, **kwargs)
                self._handle = None
                if not self.disable:
                    from IPython.display import display

                    self._handle = display(self.container, display_id=True)
                    self.displayed = True

            def close(self) -> None:
                super().close()
                handle, self._handle = getattr(self, "_handle", None), None
                if handle is not None:
                    handle.update(self.container)  # the text/plain fallback now shows the final state

        _NOTEBOOK_BAR[base] = NotebookBar
    return _NOTEBOOK_BAR[base]


def _make_optimizer(params, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam; the fused kernel where this torch/device supports it (CPU since torch 2.4, CUDA)."""
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(params, lr=lr)


def _check_labels(y: Tensor | None, x: Tensor, name: str, n_classes: int | None = None) -> None:
    if y is not None and (not isinstance(y, Tensor) or y.shape != (x.shape[0],)):
        raise VaeLibError(f"{name} must be a label tensor of shape [{x.shape[0]}] matching the images")
    if y is not None and n_classes is not None and y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise VaeLibError(f"{name} must hold class indices 0..{n_classes - 1}")


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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_fit_settings(
    *, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3, lr_schedule: str = "constant",
    lr_min: float = 0.0, iwae_k: int = 1, beta: float = 1.0, kl_warmup_epochs: int = 0,
    binarize: str = "dynamic", progress: object = "auto",
) -> None:
    """Raise ``VaeLibError`` for a setting of ``fit`` that cannot work, before any data is touched.

    The command line calls this first, so a typo fails in a second, not after the data is loaded.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not _is_int(value) or value <= 0:
            raise VaeLibError(f"{name} must be a positive integer, got {value!r}")
    if not _is_int(kl_warmup_epochs) or kl_warmup_epochs < 0:
        raise VaeLibError(f"kl_warmup_epochs must be an integer >= 0, got {kl_warmup_epochs!r}")
    if not (_is_number(lr) and lr > 0):
        raise VaeLibError(f"lr (the learning rate) must be a positive number such as 1e-3, got {lr!r}")
    if not (_is_number(beta) and beta >= 0):
        raise VaeLibError(f"beta must be a finite number >= 0, got {beta!r}")
    if lr_schedule not in ("constant", "cosine"):
        raise VaeLibError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if not (_is_number(lr_min) and 0 <= lr_min <= lr):
        raise VaeLibError(f"lr_min must be a number in [0, lr={lr}], got {lr_min!r}")
    if not _is_int(iwae_k) or iwae_k <= 0:
        raise VaeLibError(f"iwae_k must be a positive integer (1 = train on the ELBO), got {iwae_k!r}")
    if iwae_k > 1 and (beta != 1 or kl_warmup_epochs):
        raise VaeLibError("iwae_k > 1 trains an unconditional VAE on the IWAE bound: use beta=1, kl_warmup_epochs=0, "
                          "no labels")
    if binarize not in ("dynamic", "none"):
        raise VaeLibError(f"binarize must be 'dynamic' or 'none', got {binarize!r}")
    _check_progress(progress)


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
    compile: bool | str = False,
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
        bf16, compile: CUDA only — bfloat16 autocast and ``torch.compile`` of the loss; ``compile`` may
            name a ``torch.compile`` mode, e.g. ``"reduce-overhead"`` (CUDA graphs). On the CPU both are
            ignored with a one-line warning (measured: compiling the step gains nothing there).
        checkpoint: if given, a checkpoint is written there after every epoch, with the optimizer
            and random-number state.
        resume: continue from ``checkpoint`` if it exists (same model and settings): the epochs
            already done are skipped and the run ends as if it had never stopped.
        y_train, y_valid: labels for a conditional VAE (``VAE(n_classes=...)``).
        on_epoch: called with each epoch's record (e.g. to print a log line).

    Raises ``VaeLibError`` for a bad setting or bad data (before any training), and
    ``TrainingDivergedError`` naming the epoch and batch where the loss became NaN or infinite.
    The losses stay on the device and are read back every ``FINITE_CHECK_EVERY`` (50) steps and at
    the end of each epoch, not every step: on a GPU each read-back would stall the pipeline.
    """
    if not isinstance(model, VAE):
        raise TypeError(f"fit trains a vae_lib.models.VAE, got {type(model).__name__}")
    check_fit_settings(epochs=epochs, batch_size=batch_size, lr=lr, lr_schedule=lr_schedule, lr_min=lr_min,
                       iwae_k=iwae_k, beta=beta, kl_warmup_epochs=kl_warmup_epochs, binarize=binarize,
                       progress=progress)
    if iwae_k > 1 and model.n_classes is not None:
        raise VaeLibError("iwae_k > 1 trains an unconditional VAE on the IWAE bound: use n_classes=None, no labels")
    if resume and checkpoint is None:
        raise VaeLibError("resume=True needs checkpoint=<path> to resume from")
    if binarize == "dynamic" and model.likelihood != "bernoulli":
        raise VaeLibError("binarize='dynamic' is for Bernoulli models; use binarize='none' with likelihood='gaussian'")

    # Validate once, up front (the loop then skips per-batch checks). Grey values are fine when
    # they are binarized on the fly, so check the [0, 1] range with a Gaussian stand-in.
    probe = model if binarize == "none" else _RangeOnly(model.x_dim)
    check_data(probe, x_train)
    _check_labels(y_train, x_train, "y_train", model.n_classes)
    if x_valid is not None:
        check_data(probe, x_valid)
        _check_labels(y_valid, x_valid, "y_valid", model.n_classes)
    if len(x_train) < batch_size:
        raise VaeLibError(f"batch_size={batch_size} is larger than the training set ({len(x_train)} examples)")

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
    for flag, wanted, what in (("bf16", bf16, "bfloat16 autocast"), ("compile", compile, "torch.compile")):
        if wanted and not use_cuda:
            warnings.warn(f"{flag}=True is ignored on {device.type}: {what} applies on CUDA only; "
                          "training runs in float32, eagerly", UserWarning, stacklevel=2)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if (bf16 and use_cuda) else nullcontext

    def train_terms(xb: Tensor, beta_t: Tensor, yb: Tensor | None) -> tuple[Tensor, Tensor]:
        """(objective [B], logged terms [4, B] = ELBO, recon, KL, objective)."""
        if iwae_k > 1:
            t = iwae_terms(model, xb, iwae_k, check=False)
            return t.iwae, torch.stack([t.elbo, t.recon, t.kl, t.iwae])
        t = elbo(model, xb, beta_t, yb, check=False)
        return t.elbo, torch.stack([t.elbo, t.recon, t.kl, t.elbo])

    if compile not in (True, False) and compile not in COMPILE_MODES:
        raise VaeLibError(f"compile must be True, False or a torch.compile mode {COMPILE_MODES}, got {compile!r}")
    cuda_graphs = bool(compile) and use_cuda and compile == "reduce-overhead"
    if compile and use_cuda:
        train_terms = torch.compile(train_terms, mode=None if compile is True else compile)
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
    # beta lives on the device and is refilled in place (a kernel, not a host-to-device copy per step)
    beta_now = torch.full((), float(beta), device=device)
    beta_t = beta
    try:
        with inputs_validated(model):  # the data was checked above: no per-batch value checks in encode
            for epoch in range(len(history) + 1, epochs + 1):
                start_time = time.perf_counter()
                sums = torch.zeros(4, dtype=torch.float64, device=device)
                permutation = torch.randperm(n, device=device)
                checked = 0  # batches of this epoch already known to have a finite loss
                window = torch.zeros(FINITE_CHECK_EVERY, device=device)  # the losses since the last check
                for b in range(steps_per_epoch):
                    idx = permutation[b * batch_size : (b + 1) * batch_size]
                    xb = x_train.index_select(0, idx)  # a plain gather (cheaper than x_train[idx] on the CPU)
                    if binarize == "dynamic":
                        # x_b ~ Bernoulli(x) as [u < x], u ~ U[0, 1): the same law as torch.bernoulli, a little
                        # cheaper on the CPU (0.29 vs 0.38 ms per MNIST batch; benchmarks/train_speed.py)
                        xb = (torch.rand_like(xb) < xb).to(xb.dtype)
                    yb = None if y_train is None else y_train.index_select(0, idx)
                    if warmup_steps:
                        beta_t = beta * min(1.0, (step + 1) / warmup_steps)
                        beta_now.fill_(beta_t)
                    lr_t = _learning_rate(step, total_steps, lr, lr_min, lr_schedule)
                    for group in optimizer.param_groups:
                        group["lr"] = lr_t
                    if cuda_graphs:
                        torch.compiler.cudagraph_mark_step_begin()  # the last step's graph outputs are consumed
                    with autocast():
                        objective, terms = train_terms(xb, beta_now, yb)
                        loss = -objective.float().mean()
                    window[b - checked].copy_(loss.detach())
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    sums += terms.detach().float().sum(dim=1).double()
                    step += 1
                    bar.update(1)
                    # The losses stay on the device; reading them back is a host sync, so they are
                    # checked every FINITE_CHECK_EVERY batches and at the end of the epoch.
                    if b + 1 - checked == FINITE_CHECK_EVERY or b + 1 == steps_per_epoch:
                        _check_finite(window[: b + 1 - checked], epoch, checked, steps_per_epoch)
                        checked = b + 1
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


def _check_finite(losses: Tensor, epoch: int, offset: int, steps_per_epoch: int) -> None:
    """Raise ``TrainingDivergedError`` if one of ``losses`` (batches offset+1, offset+2, ... of the
    epoch) is NaN or infinite; one host sync. The message names the first bad batch."""
    if not bool(torch.isfinite(losses).all()):
        bad = (~torch.isfinite(losses)).nonzero()[0, 0].item()
        raise TrainingDivergedError(
            f"the loss became {losses[bad].item()} at epoch {epoch}, batch {offset + bad + 1}/{steps_per_epoch} "
            f"(found at the check after batch {offset + len(losses)}); lower the learning rate (lr), check the data "
            "for bad values, or disable bf16"
        )


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
        raise VaeLibError(f"{path} has no training state (it is a finished model), so there is nothing to resume; "
                          "pass resume=False to train from scratch, or another checkpoint path")
    if payload["config"] != model.config:
        raise VaeLibError(f"{path} holds a different model {payload['config']}; this run has {model.config}")
    changed = {k: (state["settings"].get(k), v) for k, v in settings.items() if state["settings"].get(k) != v}
    if changed:
        raise VaeLibError(f"cannot resume {path}: settings differ from the saved run (saved, now): {changed}")
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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the mode open() would (0644 usually)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> VAE:
    """Rebuild the VAE saved by ``save_checkpoint``; loads with ``weights_only=True`` (no arbitrary code).

    The history is attached as ``model.history`` and extra information as ``model.extra``.
    A file that is not a readable vae_lib checkpoint raises ``CheckpointError`` (a ``VaeLibError``).
    """
    map_location = select_device(map_location)
    path = Path(path)
    payload = _read_checkpoint(path, map_location)
    config, state_dict = payload.get("config"), payload.get("state_dict")
    if not isinstance(config, dict) or not isinstance(state_dict, dict):
        raise CheckpointError(f"{path} is a damaged vae_lib checkpoint (no model config or weights); "
                              "train the model again or restore the file from a backup")
    try:
        model = VAE(**config)
        model.load_state_dict(state_dict)
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{path} is a damaged vae_lib checkpoint (its weights do not fit its model config: "
                              f"{str(err).splitlines()[0][:200]}); train again or restore the file") from None
    model.history = History(payload.get("history", []))
    model.extra = payload.get("extra", {})
    return model.to(map_location).eval()


def _read_checkpoint(path: Path, map_location: str | torch.device) -> dict:
    """The checkpoint's payload, loaded with ``weights_only=True``, after checking its format."""
    if not path.is_file():
        hint = ""
        if path.is_dir():
            hint = f"; {path} is a folder, did you mean {path / 'model.pt'}?" if (path / "model.pt").is_file() \
                else f"; {path} is a folder without a model.pt in it"
        raise FileNotFoundError(f"no checkpoint at {path}{hint}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), not a checkpoint; train again or restore the file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if "Unsupported global" in text or "GLOBAL " in text or "Unsupported class" in text or "reduce" in text:
            found = re.search(r"GLOBAL ([\w.]+)", text)
            what = f" ({found.group(1)})" if found else ""
            raise CheckpointError(
                f"refusing to load {path}: it holds a pickled Python object{what} beyond tensors and plain types, "
                "which could run arbitrary code; vae_lib only loads files written by save_checkpoint"
            ) from None
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated pickle data); "
                              "train again or restore the file") from None
    except MemoryError:
        raise CheckpointError(f"{path} is not a readable checkpoint (its header asks for impossible sizes); "
                              "train again or restore the file") from None
    except Exception as err:  # torch raises many types for damaged files: RuntimeError, EOFError, KeyError, ...
        kind = type(err).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint: corrupt, truncated or not a torch file "
                              f"({kind}); train again or restore the file") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a vae_lib checkpoint (expected format {CHECKPOINT_FORMAT!r}); "
                              "vae_lib loads only files written by save_checkpoint or fit")
    return payload
