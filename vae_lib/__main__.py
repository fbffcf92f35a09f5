"""Command line: ``python -m vae_lib train|evaluate|sample ...``.

Examples::

    python -m vae_lib train --dataset mnist --epochs 10 --z-dim 20 --out runs/mlp20
    python -m vae_lib evaluate runs/mlp20/model.pt --dataset mnist --k 5000
    python -m vae_lib sample runs/mlp20/model.pt --n 64 --out samples.png
    python -m vae_lib train --dataset mnist --train-on-valid --hidden 400 400 --z-dim 50 \
        --iwae-k 5 --epochs 350 --lr-schedule cosine --quiet --out runs/flagship   # the flagship (hours)
    python -m vae_lib train ... --resume          # continue an interrupted run from OUT/model.pt

Datasets: ``mnist`` (dynamically binarized in training; the test set binarized once with
``--test-seed``), ``binarized-mnist`` (the static Larochelle split) and ``digits`` (scikit-learn 8x8).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from . import data
from .evaluate import evaluate
from .models import VAE
from .train import fit, load_checkpoint, save_checkpoint, select_device

DATASETS = ("mnist", "binarized-mnist", "digits")


def load_dataset(name: str, root: str | None, test_seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """(train, valid, test, binarize) for a dataset name; the test set is always binary."""
    if name == "mnist":
        x, _ = data.load_mnist("train", root=root)
        x_test, _ = data.load_mnist("test", root=root)
        x_train, x_valid = data.train_valid_split(x, n_valid=10_000, seed=0)
        test = data.dynamic_binarize(x_test, generator=torch.Generator().manual_seed(test_seed))
        return x_train, x_valid, test, "dynamic"
    if name == "binarized-mnist":
        return (data.load_binarized_mnist("train", root=root), data.load_binarized_mnist("valid", root=root),
                data.load_binarized_mnist("test", root=root), "none")
    if name == "digits":
        x, _ = data.load_digits_8x8()
        x_train, x_valid = data.train_valid_split(x, n_valid=297, seed=0)
        test = data.dynamic_binarize(x_valid, generator=torch.Generator().manual_seed(test_seed))
        return x_train, x_valid, test, "dynamic"
    raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _save_samples(model: VAE, path: Path, n: int, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .plots import show_images
    import matplotlib.pyplot as plt

    images = model.sample(n, generator=torch.Generator(device="cpu").manual_seed(seed)).cpu()
    fig, ax = plt.subplots(figsize=(6, 6))
    show_images(images, nrow=int(round(n**0.5)), ax=ax)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def cmd_train(args: argparse.Namespace) -> int:
    x_train, x_valid, x_test, binarize = load_dataset(args.dataset, args.data_dir, args.test_seed)
    if args.train_on_valid:
        x_train, x_valid = torch.cat([x_train, x_valid]), None
    torch.manual_seed(args.seed)
    model = VAE(x_dim=x_train.shape[1], z_dim=args.z_dim, hidden=tuple(args.hidden), arch=args.arch)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = select_device(None if args.device == "auto" else args.device)
    objective = "ELBO" if args.iwae_k == 1 else f"IWAE bound (k={args.iwae_k})"
    print(f"training {args.arch} VAE (hidden {args.hidden}, z {args.z_dim}) on {args.dataset} "
          f"({len(x_train)} images) for {args.epochs} epochs on {device}, maximizing the {objective}", flush=True)
    print(f"command: {args.command_line}", flush=True)

    def log_epoch(r: dict) -> None:
        valid = f"  valid -ELBO {-r['valid_elbo']:.2f}" if "valid_elbo" in r else ""
        iwae = f"  train -IWAE {-r['train_iwae']:.2f}" if "train_iwae" in r else ""
        print(f"epoch {r['epoch']:4d}  train -ELBO {-r['train_elbo']:.2f}{iwae}{valid}  KL {r['train_kl']:.2f}  "
              f"lr {r['lr']:.2e}  {r['seconds']:.1f} s", flush=True)

    history = fit(model, x_train, x_valid, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  lr_schedule=args.lr_schedule, lr_min=args.lr_min, iwae_k=args.iwae_k,
                  beta=args.beta, kl_warmup_epochs=args.kl_warmup, binarize=binarize, device=device,
                  seed=args.seed, progress=not args.quiet, bf16=args.bf16, compile=args.compile,
                  checkpoint=out / "model.pt", resume=args.resume, on_epoch=log_epoch if args.quiet else None)
    model.cpu()
    result = evaluate(model, x_test, k=args.k, iwae_k=min(50, args.k), device=device, progress=not args.quiet)
    model.cpu()
    save_checkpoint(model, out / "model.pt", history=history,
                    extra={"command": args.command_line, "test": result, "dataset": args.dataset})
    (out / "history.json").write_text(json.dumps(list(history), indent=1))
    _save_samples(model, out / "samples.png", 64, args.seed)
    last = history[-1]
    print(_table([
        ("epochs", str(len(history))),
        ("seconds/epoch", f"{sum(r['seconds'] for r in history) / len(history):.2f}"),
        ("train -ELBO", f"{-last['train_elbo']:.2f} nats"),
        *([("valid -ELBO", f"{-last['valid_elbo']:.2f} nats")] if "valid_elbo" in last else []),
        ("test -ELBO", f"{-result['elbo']:.2f} ± {result['elbo_stderr']:.2f} nats"),
        (f"test -IWAE (k={result['iwae_k']})", f"{-result['iwae']:.2f} ± {result['iwae_stderr']:.2f} nats"),
        (f"test NLL (IS, k={result['k']})", f"{result['nll']:.2f} ± {result['nll_stderr']:.2f} nats"),
        ("checkpoint", str(out / "model.pt")),
        ("samples", str(out / "samples.png")),
    ]))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = load_checkpoint(args.checkpoint)
    _, _, x_test, _ = load_dataset(args.dataset, args.data_dir, args.test_seed)
    if args.limit:
        x_test = x_test[: args.limit]
    device = select_device(None if args.device == "auto" else args.device)
    result = evaluate(model, x_test, k=args.k, iwae_k=min(50, args.k), batch_size=args.batch_size,
                      device=device, progress=not args.quiet, seed=args.seed)
    print(_table([
        ("checkpoint", str(args.checkpoint)),
        ("test set", f"{args.dataset}, {result['n']} images" + (f", binarized with seed {args.test_seed}" if args.dataset != "binarized-mnist" else "")),
        ("test -ELBO", f"{-result['elbo']:.2f} ± {result['elbo_stderr']:.2f} nats"),
        (f"test -IWAE (k={result['iwae_k']})", f"{-result['iwae']:.2f} ± {result['iwae_stderr']:.2f} nats"),
        (f"test NLL (IS, k={result['k']})", f"{result['nll']:.2f} ± {result['nll_stderr']:.2f} nats"),
        ("seconds", f"{result['seconds']:.1f}"),
    ]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    model = load_checkpoint(args.checkpoint)
    _save_samples(model, Path(args.out), args.n, args.seed)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_lib", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dataset", choices=DATASETS, default="mnist")
        p.add_argument("--data-dir", default=None, help="data directory (default: $VAE_LIB_DATA, then ~/.cache/vae_lib)")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--test-seed", type=int, default=0, help="seed of the one fixed binarization of the test set")
        p.add_argument("--k", type=int, default=5000, help="importance samples for the test log-likelihood")
        p.add_argument("--quiet", action="store_true", help="no progress bars (train prints one line per epoch instead)")

    t = sub.add_parser("train", help="train a VAE, evaluate it on the test set, save checkpoint and samples")
    common(t)
    t.add_argument("--arch", choices=("mlp", "conv"), default="mlp")
    t.add_argument("--hidden", type=int, nargs="+", default=[400])
    t.add_argument("--z-dim", type=int, default=20)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant")
    t.add_argument("--lr-min", type=float, default=0.0, help="final learning rate of the cosine schedule")
    t.add_argument("--iwae-k", type=int, default=1, help="1: train on the ELBO; k > 1: on the IWAE_k bound")
    t.add_argument("--resume", action="store_true", help="continue the run saved in OUT/model.pt")
    t.add_argument("--beta", type=float, default=1.0)
    t.add_argument("--kl-warmup", type=int, default=0, help="epochs of linear KL annealing")
    t.add_argument("--train-on-valid", action="store_true", help="train on train+valid (the literature's protocol for the static split)")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA)")
    t.add_argument("--compile", action="store_true", help="torch.compile the loss (CUDA)")
    t.add_argument("--out", default="runs/vae")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test ELBO, IWAE bound and importance-sampled NLL of a checkpoint")
    common(e)
    e.add_argument("checkpoint")
    e.add_argument("--batch-size", type=int, default=100)
    e.add_argument("--limit", type=int, default=0, help="evaluate only the first N test images")
    e.add_argument("--json", default=None, help="also write the result to this JSON file")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("sample", help="draw samples from a checkpoint into a PNG")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="samples.png")
    s.set_defaults(func=cmd_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m vae_lib " + shlex.join(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
