"""A DDPM on vectors (a VAE's latent codes), with classifier-free guidance (chapter 12).

Forward process (fixed), for t = 1..T with alpha_t = 1 - beta_t and abar_t = prod_{s<=t} alpha_s:

    q(z_t | z_0) = N(sqrt(abar_t) z_0, (1 - abar_t) I),   z_t = sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps.

A network eps_theta(z_t, t, y) predicts eps; y is a class in 0..C-1 or C = "no label". The reverse step
p(z_{t-1} | z_t) = N(mu_theta, sigma_t^2 I) has the mean of chapter 11's posterior with x_0 replaced by its
estimate, mu_theta = (z_t - beta_t / sqrt(1 - abar_t) eps_theta) / sqrt(alpha_t), and sigma_t^2 = beta_t (the
variance of the reverse step when the data are spread out like N(0, I); Ho et al. 2020 also use it). With the
posterior variance tilde_beta_t = (1 - abar_{t-1}) beta_t / (1 - abar_t) and r_t = tilde_beta_t / beta_t,

    ELBO(z_0) = -L_T - sum_{t=2}^T L_{t-1} - L_0 <= log p_theta(z_0),
    L_{t-1} = d/2 (r_t - 1 - log r_t) + beta_t / (2 alpha_t (1 - abar_t)) E ||eps - eps_theta||^2   (t >= 2),
    L_0 = d/2 log(2 pi beta_1) + E ||eps - eps_theta||^2 / (2 alpha_1),

so the plain loss E_{t, eps} ||eps - eps_theta||^2 is this ELBO with its weights set to 1 and the terms without
parameters (L_T and the variance terms) dropped. Guidance (Ho & Salimans, 2022): eps_w = eps(z, t, C) + w (eps(z, t, y) - eps(z, t, C));
w = 0 is the unconditional model, w = 1 the conditional one, w > 1 pushes towards the label.
Shapes: codes z [B, d], steps t [B] (integers 1..T), labels y [B] (integers 0..C).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .errors import VaeLibError

__all__ = [
    "EpsilonMLP",
    "cosine_betas",
    "elbo_terms",
    "epsilon_loss",
    "fit_latent_diffusion",
    "guided_epsilon",
    "numpy_epsilon",
    "posterior_variances",
    "q_sample",
    "reverse_variances",
    "sample",
    "schedule",
    "shipped_prior_path",
]

#: eps_theta(z_t [B, d], t [B], y [B] or None) -> eps [B, d]
EpsFn = Callable[[Tensor, Tensor, "Tensor | None"], Tensor]


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """beta_t from the cosine schedule abar(t) = cos^2(pi/2 (t/T + s)/(1 + s)) (Nichol & Dhariwal 2021): [T]."""
    if not isinstance(T, int) or T < 1:
        raise VaeLibError(f"the number of steps T must be a whole number >= 1, got {T!r}")
    grid = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((grid + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(max=max_beta)


def schedule(betas: Tensor) -> dict[str, Tensor]:
    """alphas [T], abar [T+1] (abar[0] = 1), all float64, from betas [T]."""
    betas = betas.to(torch.float64)
    alphas = 1 - betas
    abar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(alphas, 0)])
    return {"betas": betas, "alphas": alphas, "abar": abar}


def posterior_variances(betas: Tensor) -> Tensor:
    """tilde_beta_t = (1 - abar_{t-1}) beta_t / (1 - abar_t), the variance of q(z_{t-1} | z_t, z_0): [T] (0 at t = 1)."""
    s = schedule(betas)
    abar = s["abar"]
    return (1 - abar[:-1]) * s["betas"] / (1 - abar[1:])


def reverse_variances(betas: Tensor) -> Tensor:
    """sigma_t^2 = beta_t, the variances of the reverse steps p(z_{t-1} | z_t): [T]."""
    return schedule(betas)["betas"].clone()


def q_sample(z0: Tensor, t: Tensor, betas: Tensor, eps: Tensor) -> Tensor:
    """z_t = sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps: z0, eps [B, d], t [B] in 1..T -> [B, d]."""
    abar = schedule(betas)["abar"].to(z0.device)[t].to(z0.dtype).unsqueeze(-1)
    return abar.sqrt() * z0 + (1 - abar).sqrt() * eps


def time_embedding(t: Tensor, dim: int, T: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Sinusoidal features of the step: t [B] -> [B, dim] (sin and cos of 1000 t/T at dim/2 frequencies)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device, dtype=dtype) / half)
    angles = (t.to(dtype) / T * 1000.0).unsqueeze(-1) * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class EpsilonMLP(nn.Module):
    """eps_theta(z_t, t, y): an MLP on [z_t, time features] plus a label embedding in every layer.

    ``n_classes = C`` labels use C + 1 embeddings, the last one for "no label" (trained by label dropout).
    """

    def __init__(self, z_dim: int, T: int, hidden: int = 256, layers: int = 3, time_dim: int = 64,
                 n_classes: int = 0) -> None:
        super().__init__()
        for name, value in (("z_dim", z_dim), ("T", T), ("hidden", hidden), ("layers", layers), ("time_dim", time_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise VaeLibError(f"EpsilonMLP: {name} must be a whole number >= 1, got {value!r}")
        if time_dim % 2:
            raise VaeLibError(f"EpsilonMLP: time_dim must be even (sin and cos pairs), got {time_dim}")
        self.z_dim, self.T, self.hidden, self.layers = z_dim, T, hidden, layers
        self.time_dim, self.n_classes = time_dim, n_classes
        self.inp = nn.Linear(z_dim + time_dim, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.label = nn.Embedding(n_classes + 1, hidden) if n_classes else None
        self.out = nn.Linear(hidden, z_dim)

    def config(self) -> dict[str, int]:
        return {"z_dim": self.z_dim, "T": self.T, "hidden": self.hidden, "layers": self.layers,
                "time_dim": self.time_dim, "n_classes": self.n_classes}

    def forward(self, z: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise VaeLibError(f"EpsilonMLP expects codes of shape [B, {self.z_dim}], got {list(z.shape)}")
        if not torch.isfinite(z).all():
            raise VaeLibError("EpsilonMLP: the codes z contain NaN or inf")
        emb = 0.0
        if self.label is not None:
            if y is None:
                y = torch.full((z.shape[0],), self.n_classes, dtype=torch.long, device=z.device)
            emb = self.label(y)
        h = torch.nn.functional.silu(self.inp(torch.cat([z, time_embedding(t, self.time_dim, self.T, z.dtype)], -1)) + emb)
        for block in self.blocks:
            h = h + torch.nn.functional.silu(block(h) + emb)
        return self.out(h)


def epsilon_loss(model: EpsFn, z0: Tensor, betas: Tensor, generator: torch.Generator | None = None,
                 y: Tensor | None = None) -> Tensor:
    """Per-code ||eps - eps_theta(z_t, t, y)||^2 with t ~ U{1..T}, eps ~ N(0, I): z0 [B, d] -> [B]."""
    T = len(betas)
    t = torch.randint(1, T + 1, (z0.shape[0],), generator=generator, device=z0.device)
    eps = torch.randn(z0.shape, generator=generator, device=z0.device, dtype=z0.dtype)
    return ((eps - model(q_sample(z0, t, betas, eps), t, y)) ** 2).sum(-1)


def elbo_terms(model: EpsFn, z0: Tensor, betas: Tensor, generator: torch.Generator | None = None,
               y: Tensor | None = None) -> dict[str, Tensor]:
    """One-draw estimates of every ELBO term for each code z0 [B, d] (module docstring), in nats:

    ``L_T`` [B] (exact), ``L_t`` [T-1, B] (row t-2 is L_{t-1}, one eps per step), ``L_0`` [B], ``elbo`` [B].
    The sum over steps is exact; each step's expectation over eps is one draw, so ``elbo`` is an
    unbiased estimate of ELBO(z0) <= log p_theta(z0).
    """
    s = schedule(betas)
    T, d = len(betas), z0.shape[1]
    abar_T = s["abar"][T].item()
    sq = (z0.to(torch.float64) ** 2).sum(-1)
    L_T = 0.5 * (d * (1 - abar_T) + abar_T * sq - d - d * math.log(1 - abar_T))  # KL(q(z_T|z_0) || N(0, I))
    sigma2 = reverse_variances(betas)
    weights = s["betas"] ** 2 / (2 * sigma2 * s["alphas"] * (1 - s["abar"][1:]))  # [T]
    r = posterior_variances(betas) / sigma2
    variance_terms = 0.5 * d * (r - 1 - torch.log(r))  # KL of the variances alone, t >= 2 (no parameters)
    errors = []
    for t in range(1, T + 1):
        steps = torch.full((z0.shape[0],), t, dtype=torch.long, device=z0.device)
        eps = torch.randn(z0.shape, generator=generator, device=z0.device, dtype=z0.dtype)
        with torch.no_grad():
            err = ((eps - model(q_sample(z0, steps, betas, eps), steps, y)) ** 2).sum(-1)
        errors.append(err.to(torch.float64).cpu())
    errors = torch.stack(errors)  # [T, B]
    L_t = variance_terms[1:, None] + weights[1:, None] * errors[1:]
    L_0 = 0.5 * d * math.log(2 * math.pi * s["betas"][0].item()) + errors[0] / (2 * s["alphas"][0])
    L_T = L_T.cpu()
    return {"L_T": L_T, "L_t": L_t, "L_0": L_0, "elbo": -(L_T + L_t.sum(0) + L_0)}


def guided_epsilon(model: EpsFn, z: Tensor, t: Tensor, y: Tensor | None, scale: float,
                   null_label: int) -> Tensor:
    """eps_w = eps(z, t, null) + w (eps(z, t, y) - eps(z, t, null)); with y None the unconditional eps."""
    if y is None:
        return model(z, t, None)
    null = torch.full_like(y, null_label)
    both = model(torch.cat([z, z]), torch.cat([t, t]), torch.cat([y, null]))
    cond, uncond = both.chunk(2)
    return uncond + scale * (cond - uncond)


@torch.no_grad()
def sample(model: EpsFn, n: int, z_dim: int, betas: Tensor, y: Tensor | None = None, scale: float = 1.0,
           null_label: int = 0, generator: torch.Generator | None = None, device: str | torch.device = "cpu",
           trajectory: bool = False) -> Tensor:
    """Ancestral sampling: z_T ~ N(0, I), then z_{t-1} = mu_theta(z_t, t) + sigma_t noise (no noise at t = 1).

    Returns z_0 [n, d], or with ``trajectory`` every z_t as [T+1, n, d] (row t is z_t).
    ``y`` [n] labels with guidance ``scale`` (``null_label`` = C, the model's "no label").
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise VaeLibError(f"sample: n must be a whole number >= 1, got {n!r}")
    s = schedule(betas)
    sigma = reverse_variances(betas).sqrt()
    T = len(betas)
    z = torch.randn((n, z_dim), generator=generator, device=device)
    path = [z]
    for t in range(T, 0, -1):
        steps = torch.full((n,), t, dtype=torch.long, device=device)
        eps = guided_epsilon(model, z, steps, y, scale, null_label)
        beta, alpha, abar = s["betas"][t - 1].item(), s["alphas"][t - 1].item(), s["abar"][t].item()
        z = (z - beta / math.sqrt(1 - abar) * eps) / math.sqrt(alpha)
        if t > 1:
            z = z + sigma[t - 1].item() * torch.randn(z.shape, generator=generator, device=device)
        path.append(z)
    return torch.stack(path[::-1]) if trajectory else z


def fit_latent_diffusion(model: EpsilonMLP, codes: Tensor, betas: Tensor, labels: Tensor | None = None,
                         code_std: Tensor | None = None, epochs: int = 50, batch_size: int = 256, lr: float = 2e-3,
                         label_dropout: float = 0.1, ema: float | None = None, seed: int = 0,
                         progress: bool | str = "auto") -> list[float]:
    """Minimize the eps-loss over codes [N, d] with Adam (cosine learning rate); returns the loss per epoch.

    With ``ema`` = m in (0, 1) the model ends with the exponential moving average of its weights over the
    training steps, theta_ema <- m theta_ema + (1 - m) theta after every step (the usual choice for diffusion
    models: the average is smoother than the last step's weights).

    With ``code_std`` [N, d], ``codes`` are the encoder means mu(x) and every batch draws fresh codes
    z = mu + code_std * noise ~ q(z|x), so the model learns the aggregate posterior q(z) = E_x q(z|x).
    With ``labels`` [N], each label is replaced by the "no label" class with probability ``label_dropout``,
    so one network learns the conditional and the unconditional eps (classifier-free guidance).
    """
    from .train import _progress_bar

    if labels is not None and not model.n_classes:
        raise VaeLibError("fit_latent_diffusion: labels given but the model has n_classes = 0")
    if not 0.0 <= label_dropout < 1.0:
        raise VaeLibError(f"label_dropout must be in [0, 1), got {label_dropout}")
    if ema is not None and not 0.0 < ema < 1.0:
        raise VaeLibError(f"ema must be in (0, 1) (e.g. 0.999) or None, got {ema}")
    torch.manual_seed(seed)
    gen = torch.Generator(device=codes.device).manual_seed(seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(codes) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    history = []
    averaged = [p.detach().clone() for p in model.parameters()] if ema is not None else None
    bar = _progress_bar(epochs, progress, "latent diffusion (epochs)")
    for _ in range(epochs):
        order = torch.randperm(len(codes), generator=gen, device=codes.device)
        total = 0.0
        for i in range(0, len(codes), batch_size):
            idx = order[i:i + batch_size]
            y = None
            if labels is not None:
                y = labels[idx].clone()
                drop = torch.rand(len(idx), generator=gen, device=codes.device) < label_dropout
                y[drop] = model.n_classes
            z0 = codes[idx]
            if code_std is not None:
                z0 = z0 + code_std[idx] * torch.randn(z0.shape, generator=gen, device=z0.device)
            loss = epsilon_loss(model, z0, betas, gen, y).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if averaged is not None:
                with torch.no_grad():
                    for avg, p in zip(averaged, model.parameters()):
                        avg.lerp_(p, 1 - ema)
            total += loss.item() * len(idx)
        history.append(total / len(codes))
        bar.set_postfix(loss=f"{history[-1]:.3f}")
        bar.update()
    bar.close()
    if averaged is not None:
        with torch.no_grad():
            for avg, p in zip(averaged, model.parameters()):
                p.copy_(avg)
    return history


def numpy_epsilon(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray], z: np.ndarray, t: np.ndarray,
                  y: np.ndarray | None = None) -> np.ndarray:
    """EpsilonMLP.forward in NumPy from a state dict as arrays (what the browser explorable computes)."""
    def linear(x: np.ndarray, name: str) -> np.ndarray:
        return x @ arrays[f"{name}.weight"].T + arrays[f"{name}.bias"]

    def silu(x: np.ndarray) -> np.ndarray:
        return x / (1 + np.exp(-x))

    half = config["time_dim"] // 2
    freqs = np.exp(-math.log(1000.0) * np.arange(half, dtype=np.float32) / half)
    angles = (np.asarray(t, np.float32) / config["T"] * 1000.0)[:, None] * freqs
    feats = np.concatenate([np.sin(angles), np.cos(angles)], -1)
    emb = 0.0
    if config["n_classes"]:
        labels = np.full(len(z), config["n_classes"]) if y is None else np.asarray(y)
        emb = arrays["label.weight"][labels]
    h = silu(linear(np.concatenate([z, feats], -1), "inp") + emb)
    for i in range(config["layers"] - 1):
        h = h + silu(linear(h, f"blocks.{i}") + emb)
    return linear(h, "out")


# --- the shipped latent diffusion priors (chapter 12) -------------------------------------------------------

#: dataset -> (file in vae_lib/results, sha256 of that file); written by ``main`` below. "mnist" is the prior of
#: the flagship (chapter 12); "latent2d" the prior of the 2-D VAE of the explorable figures
#: (vae_lib.export.load_latent2d), trained on the same MNIST codes.
SHIPPED: dict[str, tuple[str, str]] = {
    "mnist": ("latent_prior_mnist.pt", "a3be71ec52b249b168856cd0a3245fc722ff2d34526143438c0ba5e3c36003db"),
    "latent2d": ("latent2d_prior.pt", "54b1e1525af7454f984afb37532149408b6377fc0cb9582372ea1ece4cd768ba"),
}


def save_prior(path: str | Path, model: EpsilonMLP, betas: Tensor, meta: Mapping[str, Any]) -> Path:
    """Write the eps-network, its schedule and ``meta`` (command, history, ...) with torch.save (no pickled code)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": "vae_lib.latent_diffusion/1", "config": model.config(),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "betas": betas.detach().cpu(), "meta": dict(meta)}, path)
    return path


def shipped_prior_path(dataset: str = "mnist") -> Path:
    """Path of the shipped latent diffusion prior of the ``dataset`` flagship (in ``vae_lib/results``)."""
    if dataset not in SHIPPED:
        raise VaeLibError(f"no shipped latent diffusion prior for {dataset!r}; choose one of {sorted(SHIPPED)}")
    return Path(__file__).resolve().parent / "results" / SHIPPED[dataset][0]


def load_prior(path: str | Path | None = None, dataset: str = "mnist",
               device: str | torch.device = "cpu") -> tuple[EpsilonMLP, Tensor, dict[str, Any]]:
    """(model in eval mode, betas [T], meta) from ``path``, or the shipped prior of the ``dataset`` flagship
    (or of the 2-D VAE with ``dataset="latent2d"``; its sha256 is checked first). Loaded with ``weights_only=True``."""
    import hashlib

    if path is None:
        path = shipped_prior_path(dataset)
        expected = SHIPPED[dataset][1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise VaeLibError(f"{path} is damaged or not the shipped file (sha256 {digest[:12]}..., "
                              f"expected {expected[:12]}...); check the file out again")
    blob = torch.load(Path(path), map_location=device, weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != "vae_lib.latent_diffusion/1":
        raise VaeLibError(f"{path} is not a latent diffusion prior written by vae_lib.latent_diffusion.save_prior")
    model = EpsilonMLP(**blob["config"]).to(device)
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob["betas"], blob["meta"]


def main(argv: list[str] | None = None) -> int:
    """Train the latent diffusion prior of a flagship VAE (or, with ``--dataset latent2d``, of the 2-D VAE of the
    explorable figures) on its training codes z ~ q(z|x) and save it."""
    import argparse
    import shlex
    import sys
    import time

    from .data import dynamic_binarize, load_binarized_mnist, load_mnist
    from .flagship import load_flagship

    parser = argparse.ArgumentParser(prog="python -m vae_lib.latent_diffusion", description=main.__doc__)
    parser.add_argument("--dataset", choices=["mnist", "binarized-mnist", "latent2d"], default="mnist",
                        help="whose codes: a flagship's, or latent2d = the 2-D VAE (MNIST, dynamic binarization)")
    parser.add_argument("--steps", type=int, default=100, help="diffusion steps T (cosine schedule)")
    parser.add_argument("--max-beta", type=float, default=0.5,
                        help="clamp of the cosine schedule's last steps (chapter 12: 0.999 makes alpha_T = 0.001)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--label-dropout", type=float, default=0.1)
    parser.add_argument("--ema", type=float, default=0.999, help="weight average decay (0 for none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file to write (.pt); a .train.log beside it")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"error: {args.out} exists; remove it or choose another --out", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.dataset == "latent2d":
        from .export import load_latent2d

        vae = load_latent2d()
    else:
        vae = load_flagship(args.dataset)
    if args.dataset in ("mnist", "latent2d"):
        x, y = load_mnist("train")
        x = dynamic_binarize(x, generator=torch.Generator().manual_seed(args.seed))
    else:
        x = torch.cat([load_binarized_mnist("train"), load_binarized_mnist("valid")])
        y = None  # the static binarization has no labels
    with torch.no_grad():
        mu, logvar = vae.encode(x)
    torch.manual_seed(args.seed)
    betas = cosine_betas(args.steps, max_beta=args.max_beta)
    model = EpsilonMLP(mu.shape[1], args.steps, hidden=args.hidden, layers=args.layers,
                       n_classes=10 if y is not None else 0)
    log_path = args.out.with_suffix(".train.log")
    command = "python -m vae_lib.latent_diffusion " + shlex.join(argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    history = fit_latent_diffusion(model, mu, betas, labels=y, code_std=(0.5 * logvar).exp(), epochs=args.epochs,
                                   batch_size=args.batch_size, lr=args.lr, label_dropout=args.label_dropout,
                                   ema=args.ema or None, seed=args.seed + 1)
    seconds = time.perf_counter() - start
    whose = "the 2-D VAE (latent2d_mnist.pt)" if args.dataset == "latent2d" else f"the {args.dataset} flagship"
    lines = [(f"latent diffusion prior of {whose}: T = {args.steps}, "
             f"{sum(p.numel() for p in model.parameters())} parameters, {len(mu)} training codes z ~ q(z|x)"),
             f"command: {command}"]
    lines += [f"epoch {i + 1:4d}  eps-loss {loss:.4f}" for i, loss in enumerate(history)]
    lines.append(f"trained in {seconds:.0f} s on {torch.get_num_threads()} CPU thread(s)")
    save_prior(args.out, model.eval(), betas, {"dataset": args.dataset, "command": command, "history": history,
                                               "seconds": seconds})
    log_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} and {log_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
