"""Command line: ``python -m vae_lib train|evaluate|sample ...``.

Examples::

    python -m vae_lib train --dataset mnist --epochs 10 --z-dim 20 --out runs/mlp20
    python -m vae_lib evaluate runs/mlp20/model.pt --dataset mnist --k 5000
    python -m vae_lib sample runs/mlp20/model.pt --n 64 --out samples.png
    python -m vae_lib train --dataset mnist --train-on-valid --hidden 400 400 --z-dim 50 \
        --iwae-k 5 --epochs 350 --lr-schedule cosine --quiet --out runs/flagship   # the flagship (hours)
    python -m vae_lib train ... --resume          # continue an interrupted run from OUT/model.pt
    python -m vae_lib train ... --overwrite       # replace the finished run in OUT

Datasets: ``mnist`` (dynamically binarized in training; the test set binarized once with
``--test-seed``), ``binarized-mnist`` (the static Larochelle split) and ``digits`` (scikit-learn 8x8).

Every bad argument is refused before any data is loaded or any folder is made, with one line
``error: ...`` on stderr and exit status 2 (no traceback); Ctrl-C exits with status 130 and says
how to resume.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path

import torch

from . import data
from .errors import VaeLibError
from .evaluate import evaluate
from .models import VAE
from .train import (
    TrainingDivergedError, _read_checkpoint, check_fit_settings, fit, load_checkpoint, save_checkpoint,
    select_device,
)

DATASETS = ("mnist", "binarized-mnist", "digits")
X_DIM = {"mnist": 784, "binarized-mnist": 784, "digits": 64}  # pixels per image
N_TEST = {"mnist": 10_000, "binarized-mnist": 10_000, "digits": 297}  # images in the test set
N_TRAIN = {"mnist": 50_000, "binarized-mnist": 50_000, "digits": 1500}  # training images (--train-on-valid adds N_VALID)
N_VALID = {"mnist": 10_000, "binarized-mnist": 10_000, "digits": 297}
TRAIN_K = 100  # importance samples of train's closing test evaluation (seconds, not minutes; see --k)
SHOW_ESTIMATE_S = 20.0  # print the estimated evaluation time when it is longer than this


def _check_dataset(name: str) -> None:
    if name not in DATASETS:
        raise VaeLibError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _data_files(name: str, splits: tuple[str, ...]) -> list[tuple[list[str], str, tuple[str, ...]]]:
    """(accepted names, subfolder, mirrors) of every file that ``splits`` of dataset ``name`` read."""
    if name == "mnist":
        return [([f], "mnist", data.MNIST_MIRRORS) for s in splits for f in data.MNIST_FILES[s]]
    if name == "binarized-mnist":
        return [([f"binarized_mnist_{s}.amat.gz", f"binarized_mnist_{s}.amat"], "binarized-mnist",
                 data.BINARIZED_MIRRORS) for s in splits]
    return []


def check_data_dir(name: str, root: str | None, splits: tuple[str, ...]) -> None:
    """Before any work: a given ``--data-dir`` exists; then every file the run reads is here or downloaded.

    The error lists every missing file of the run (the training and the test split), not only
    the first split that a loader happened to read.
    """
    files = _data_files(name, splits)
    if root is not None and not Path(root).expanduser().is_dir():
        wanted = ", ".join(f"{sub}/{names[0]}" for names, sub, _ in files) or "nothing (digits ship with scikit-learn)"
        raise VaeLibError(f"--data-dir {root}: no such folder. The run reads {wanted} from it; create the folder "
                          "(missing files are then downloaded into it) or give the folder that holds them")
    if not files:
        return
    problems = []
    for names, sub, mirrors in files:
        found = data._locate(names, sub, mirrors, root, True)
        problems.append(found if isinstance(found, str) else "ok")
    if any(p != "ok" for p in problems):
        folder = data.default_data_dir(root)
        subs = sorted({sub for _, sub, _ in files})
        shown = [names[0] + (f" (or {names[1]})" if len(names) > 1 else "") for names, _, _ in files]
        message = data._not_found(f"{name} ({', '.join(splits)})", folder / subs[0], shown, problems)
        raise data.DataNotFoundError(_cli_data_hint(message))


def _cli_data_hint(message: str) -> str:
    """A data error in command-line words: --data-dir, not the Python argument root=."""
    return message.replace("(or pass root=...)", "(or pass --data-dir FOLDER)")


def load_test_set(name: str, root: str | None, test_seed: int) -> torch.Tensor:
    """The binary test set of a dataset (the training split is not read)."""
    _check_dataset(name)
    if name == "mnist":
        x_test, _ = data.load_mnist("test", root=root)
        return data.dynamic_binarize(x_test, generator=torch.Generator().manual_seed(test_seed))
    if name == "binarized-mnist":
        return data.load_binarized_mnist("test", root=root)
    x, _ = data.load_digits_8x8()
    _, x_valid = data.train_valid_split(x, n_valid=297, seed=0)
    return data.dynamic_binarize(x_valid, generator=torch.Generator().manual_seed(test_seed))


def load_dataset(name: str, root: str | None, test_seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """(train, valid, test, binarize) for a dataset name; the test set is always binary."""
    _check_dataset(name)
    test = load_test_set(name, root, test_seed)
    if name == "mnist":
        x, _ = data.load_mnist("train", root=root)
        x_train, x_valid = data.train_valid_split(x, n_valid=10_000, seed=0)
        return x_train, x_valid, test, "dynamic"
    if name == "binarized-mnist":
        return (data.load_binarized_mnist("train", root=root), data.load_binarized_mnist("valid", root=root),
                test, "none")
    x, _ = data.load_digits_8x8()
    x_train, x_valid = data.train_valid_split(x, n_valid=297, seed=0)
    return x_train, x_valid, test, "dynamic"


CLI_NAMES = {  # the Python argument a message starts with -> the command-line option
    "epochs": "--epochs", "batch_size": "--batch-size", "lr (the learning rate)": "--lr", "lr_min": "--lr-min",
    "lr_schedule": "--lr-schedule", "iwae_k": "--iwae-k", "beta": "--beta", "kl_warmup_epochs": "--kl-warmup",
    "z_dim (the latent size)": "--z-dim", "every hidden width": "every --hidden width",
    "iwae_k > 1": "--iwae-k > 1", "lr=": "--lr=",
}


def _in_cli_words(err: VaeLibError) -> VaeLibError:
    """The same error, with the Python argument names replaced by the options of this command line."""
    message = str(err)
    for python, cli in CLI_NAMES.items():
        message = re.sub(rf"(?<![\w-]){re.escape(python)}(?= must)", cli, message)
        message = message.replace(f"[0, {python}", f"[0, {cli}")
    message = message.replace("use beta=1, kl_warmup_epochs=0, no labels", "use --beta 1 and --kl-warmup 0")
    return VaeLibError(message)


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise VaeLibError(f"{name} must be a positive integer, got {value}")


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def estimate_evaluation_seconds(model: VAE, n: int, k: int, iwae_k: int, device: torch.device,
                                batch_size: int = 100, max_rows: int | None = None) -> float:
    """Seconds ``evaluate`` would take for ``n`` images: one timed chunk of the same shape, scaled.

    The cost is the (k + iwae_k + 1) decoder passes per image; ``evaluate`` draws them in
    chunks of at most ``max_rows`` rows, so one chunk of that very shape is timed (a small
    part of one batch at k = 5000) and the time scaled linearly.
    """
    from .objectives import log_px_importance

    max_rows = max_rows or (8192 if device.type == "cpu" else 50_000)  # as evaluate chooses
    was_training, home = model.training, next(model.parameters()).device
    model.to(device).eval()
    batch = min(batch_size, n)
    probe_k = max(1, min(k, max_rows // batch))
    x = torch.bernoulli(torch.full((batch, model.x_dim), 0.3, device=device),
                        generator=torch.Generator(device).manual_seed(0))
    timings = []
    with torch.no_grad():
        log_px_importance(model, x[:2], 2, max_rows=max_rows, check=False)  # warm-up
        for _ in range(3):  # the fastest of three: a busy moment of a shared machine inflates one probe
            start = time.perf_counter()
            log_px_importance(model, x, probe_k, max_rows=max_rows, check=False)
            if device.type == "cuda":
                torch.cuda.synchronize()
            timings.append(time.perf_counter() - start)
    per_sample = min(timings) / (probe_k * batch)
    model.to(home).train(was_training)
    return per_sample * n * (k + iwae_k + 1)


def _announce_evaluation(model: VAE, dataset: str, n: int, k: int, device: torch.device, command: str) -> None:
    seconds = estimate_evaluation_seconds(model, n, k, min(50, k), device)
    if seconds > SHOW_ESTIMATE_S:
        quicker = ""
        if k > TRAIN_K:  # name the quicker setting only when it is one
            quick = seconds * (TRAIN_K + min(50, TRAIN_K) + 1) / (k + min(50, k) + 1)
            quicker = f"; --k {TRAIN_K} would take about {_duration(quick)}"
        print(f"note: the test evaluation ({n} {dataset} images, k={k} importance samples) will take about "
              f"{_duration(seconds)} on {device} (estimated from a timed probe on this machine){quicker}", flush=True)


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


def _nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe_folder(folder: Path, what: str) -> None:
    """Make and remove a probe file in ``folder``: the one test of writability that holds for every
    cause (permissions, a read-only mount, an immutable folder, /proc), run before any work."""
    try:
        fd, name = tempfile.mkstemp(prefix=".vae_lib-write-test-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise VaeLibError(f"{what}: cannot write in {folder} ({err.strerror or err}); choose a folder you can "
                          "write to") from None


def check_writable_folder(out: Path, option: str) -> None:
    """An output folder (made later, if missing) can be written: probed in it or its nearest existing parent."""
    base = _nearest_existing(out)
    if not base.is_dir():
        raise VaeLibError(f"{option} {out}: {base} is a file, not a folder")
    _probe_folder(base, f"{option} {out}")


def check_writable_file(path: Path, option: str) -> None:
    """An output file can be written, before any work: its folder exists and takes a probe file,
    and an existing file opens for appending (nothing in it changes)."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise VaeLibError(f"{option} {path}: the folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise VaeLibError(f"{option} {path} is a folder; give a file name")
    _probe_folder(folder, f"{option} {path}")
    if path.exists():
        try:
            with open(path, "a"):
                pass
        except OSError as err:
            raise VaeLibError(f"{option} {path}: cannot write it ({err.strerror or err})") from None


def _gpu_only_flags(args: argparse.Namespace, device: torch.device) -> None:
    """--bf16 / --compile apply on CUDA only: say so in one line each and switch them off."""
    for flag, what in (("bf16", "bfloat16 autocast"), ("compile", "torch.compile")):
        if getattr(args, flag) and device.type != "cuda":
            print(f"note: --{flag} ({what}) applies on CUDA only; ignored on {device.type}", file=sys.stderr, flush=True)
            setattr(args, flag, False)


def _check_out_folder(args: argparse.Namespace, model: VAE) -> None:
    """Refuse to overwrite a run, or to resume one that cannot be resumed, before any data is loaded."""
    out = Path(args.out)
    checkpoint = out / "model.pt"
    if out.exists() and not out.is_dir():
        raise VaeLibError(f"--out {out} is a file; give a folder (the run writes model.pt, history.json and samples.png)")
    if args.resume and args.overwrite:
        raise VaeLibError("--resume continues the run in --out and --overwrite replaces it: pass only one of them")
    if not checkpoint.exists():
        if args.resume:
            print(f"note: there is no run to resume in {out} (no model.pt); starting a new one", flush=True)
        return
    if args.overwrite:
        return
    payload = _read_checkpoint(checkpoint, "cpu")  # a damaged file fails here, clearly
    state = payload.get("training_state")
    done = len(payload.get("history", []))
    if not args.resume:
        if state is None:
            raise VaeLibError(f"{out} already holds a finished run ({checkpoint}); pass --overwrite to replace it, "
                              "or choose another --out")
        raise VaeLibError(f"{out} holds an interrupted run ({done} epoch(s) done); pass --resume to continue it, "
                          "--overwrite to start again, or choose another --out")
    if state is None:
        raise VaeLibError(f"{checkpoint} is a finished run: there is no training state to resume; pass --overwrite "
                          "to train again from scratch, or choose another --out")
    if payload.get("config") != model.config:
        raise VaeLibError(f"cannot resume {checkpoint}: it holds a different model {payload.get('config')}; "
                          f"these options give {model.config}. Use the options of the first run, or --overwrite")
    wanted = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "lr_schedule": args.lr_schedule,
              "lr_min": args.lr_min, "iwae_k": args.iwae_k, "beta": args.beta, "kl_warmup_epochs": args.kl_warmup,
              "seed": args.seed}
    saved = state.get("settings", {})
    changed = {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
    if changed:
        shown = ", ".join(f"{k}: {a} then, {b} now" for k, (a, b) in changed.items())
        raise VaeLibError(f"cannot resume {checkpoint}: the options differ from the first run ({shown}); "
                          "repeat the first run's options with --resume, or pass --overwrite")


def cmd_train(args: argparse.Namespace) -> int:
    # 1. everything that can be checked without data, checked first
    _check_dataset(args.dataset)
    if args.arch == "conv" and X_DIM[args.dataset] != 784:
        raise VaeLibError(f"--arch conv needs 28x28 images; {args.dataset} has {X_DIM[args.dataset]} pixels: "
                          "use --arch mlp")
    try:
        check_fit_settings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                           lr_min=args.lr_min, iwae_k=args.iwae_k, beta=args.beta, kl_warmup_epochs=args.kl_warmup)
        torch.manual_seed(args.seed)
        model = VAE(x_dim=X_DIM[args.dataset], z_dim=args.z_dim, hidden=tuple(args.hidden), arch=args.arch)
    except VaeLibError as err:
        raise _in_cli_words(err) from None
    _positive("--k (importance samples of the test evaluation)", args.k)
    n_train = N_TRAIN[args.dataset] + (N_VALID[args.dataset] if args.train_on_valid else 0)
    if args.batch_size > n_train:
        raise VaeLibError(f"--batch-size {args.batch_size} is larger than the {n_train} training images of "
                          f"{args.dataset}; use at most {n_train} (128 is usual)")
    device = select_device(args.device)
    _gpu_only_flags(args, device)
    _check_out_folder(args, model)
    out = Path(args.out)
    check_writable_folder(out, "--out")
    made = [p for p in (out, *out.parents) if not p.exists()]  # folders this run would create
    args.interrupt_out = out
    splits = ("train", "valid", "test") if args.dataset == "binarized-mnist" else ("train", "test")
    check_data_dir(args.dataset, args.data_dir, splits)  # every file of the run here (or downloaded), before the probe
    _announce_evaluation(model, args.dataset, N_TEST[args.dataset], args.k, device, args.command_line)
    try:
        return _train_run(args, model, device, out)
    except BaseException:
        _remove_if_empty(made)  # an error or Ctrl-C before anything was saved leaves no empty folder behind
        raise


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in folders:  # innermost first
        try:
            folder.rmdir()  # only succeeds if empty
        except OSError:
            return


def _train_run(args: argparse.Namespace, model: VAE, device: torch.device, out: Path) -> int:
    # 2. the data, then the run
    x_train, x_valid, x_test, binarize = load_dataset(args.dataset, args.data_dir, args.test_seed)
    if args.train_on_valid:
        x_train, x_valid = torch.cat([x_train, x_valid]), None
    out.mkdir(parents=True, exist_ok=True)
    objective = "ELBO" if args.iwae_k == 1 else f"IWAE bound (k={args.iwae_k})"
    print(f"training {args.arch} VAE (hidden {args.hidden}, z {args.z_dim}) on {args.dataset} "
          f"({len(x_train)} images) for {args.epochs} epochs on {device}, maximizing the {objective}", flush=True)
    print(f"command: {args.command_line}", flush=True)

    def log_epoch(r: dict) -> None:
        valid = f"  valid -ELBO {-r['valid_elbo']:.2f}" if "valid_elbo" in r else ""
        iwae = f"  train -IWAE {-r['train_iwae']:.2f}" if "train_iwae" in r else ""
        print(f"epoch {r['epoch']:4d}  train -ELBO {-r['train_elbo']:.2f}{iwae}{valid}  KL {r['train_kl']:.2f}  "
              f"lr {r['lr']:.2e}  {r['seconds']:.1f} s", flush=True)

    progress = False if args.quiet else "auto"  # "auto": TQDM_DISABLE=1 still turns the bars off
    history = fit(model, x_train, x_valid, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  lr_schedule=args.lr_schedule, lr_min=args.lr_min, iwae_k=args.iwae_k,
                  beta=args.beta, kl_warmup_epochs=args.kl_warmup, binarize=binarize, device=device,
                  seed=args.seed, progress=progress, bf16=args.bf16, compile=args.compile,
                  checkpoint=out / "model.pt", resume=args.resume, on_epoch=log_epoch if args.quiet else None)
    model.cpu()
    result = evaluate(model, x_test, k=args.k, iwae_k=min(50, args.k), device=device, progress=progress)
    save_checkpoint(model, out / "model.pt", history=history,
                    extra={"command": args.command_line, "test": result, "dataset": args.dataset})
    (out / "history.json").write_text(json.dumps(list(history), indent=1) + "\n")
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
    _positive("--k (importance samples)", args.k)
    _positive("--batch-size", args.batch_size)
    if args.limit < 0:
        raise VaeLibError(f"--limit must be >= 0 (0: all test images), got {args.limit}")
    if args.dataset is not None:
        _check_dataset(args.dataset)
    device = select_device(args.device)
    if args.json:
        check_writable_file(Path(args.json), "--json")
    model = load_checkpoint(args.checkpoint)
    dataset = args.dataset or model.extra.get("dataset")
    if dataset is None:
        guess = [name for name in DATASETS if X_DIM[name] == model.x_dim]
        if len(guess) != 1:
            raise VaeLibError(f"{args.checkpoint} does not record its dataset; pass --dataset "
                              f"({' or '.join(guess) or ', '.join(DATASETS)})")
        dataset = guess[0]
    if X_DIM[dataset] != model.x_dim:
        raise VaeLibError(f"{args.checkpoint} models {model.x_dim}-pixel images but {dataset} has {X_DIM[dataset]}; "
                          "pass the --dataset it was trained on" + (f" ({model.extra['dataset']})"
                                                                     if model.extra.get("dataset") else ""))
    n = min(args.limit or N_TEST[dataset], N_TEST[dataset])
    check_data_dir(dataset, args.data_dir, ("test",))
    _announce_evaluation(model, dataset, n, args.k, device, args.command_line)
    x_test = load_test_set(dataset, args.data_dir, args.test_seed)  # only the test split is read
    if args.limit:
        x_test = x_test[: args.limit]
    progress = False if args.quiet else "auto"
    result = evaluate(model, x_test, k=args.k, iwae_k=min(50, args.k), batch_size=args.batch_size,
                      device=device, progress=progress, seed=args.seed)
    binarized = f", binarized with seed {args.test_seed}" if dataset != "binarized-mnist" else ""
    print(_table([
        ("checkpoint", str(args.checkpoint)),
        ("test set", f"{dataset}, {result['n']} images{binarized}"),
        ("test -ELBO", f"{-result['elbo']:.2f} ± {result['elbo_stderr']:.2f} nats"),
        (f"test -IWAE (k={result['iwae_k']})", f"{-result['iwae']:.2f} ± {result['iwae_stderr']:.2f} nats"),
        (f"test NLL (IS, k={result['k']})", f"{result['nll']:.2f} ± {result['nll_stderr']:.2f} nats"),
        ("seconds", f"{result['seconds']:.1f}"),
    ]))
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "dataset": dataset}, indent=1) + "\n")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    _positive("--n (number of samples)", args.n)
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
        raise VaeLibError(f"--out {out}: give an image file name ending in .png (or .pdf, .svg, .jpg)")
    check_writable_file(out, "--out")
    model = load_checkpoint(args.checkpoint)
    _save_samples(model, out, args.n, args.seed)
    print(f"wrote {args.n} samples to {out}")
    return 0


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default and keeps the description's line breaks."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_lib", description=__doc__.split("\n\n")[0],
                                     formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, k_default: int, k_help: str, quiet_help: str) -> None:
        p.add_argument("--data-dir", default=None,
                       help="data directory (default%(default).0s: $VAE_LIB_DATA, then ~/.cache/vae_lib)")
        p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
        p.add_argument("--seed", type=int, default=0, help="random seed")
        p.add_argument("--test-seed", type=int, default=0, help="seed of the one fixed binarization of the test set")
        p.add_argument("--k", type=int, default=k_default, help=k_help)
        p.add_argument("--quiet", action="store_true", help=quiet_help)

    t = sub.add_parser("train", help="train a VAE, evaluate it on the test set, save checkpoint and samples",
                       description="Train a VAE, evaluate it on the test set, save model.pt, history.json and "
                                   "samples.png in --out.", formatter_class=_Formatter)
    t.add_argument("--dataset", choices=DATASETS, default="mnist", help="training data")
    common(t, TRAIN_K, "importance samples of the closing test NLL (seconds; the published protocol, 5000, "
                       "takes minutes: use evaluate --k 5000)",
           "no progress bars: one line per epoch instead")
    t.add_argument("--arch", choices=("mlp", "conv"), default="mlp", help="MLP or convolutional encoder/decoder")
    t.add_argument("--hidden", type=int, nargs="+", default=[400], help="hidden layer widths of the encoder "
                                                                         "(the decoder mirrors them)")
    t.add_argument("--z-dim", type=int, default=20, help="latent dimensions")
    t.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    t.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    t.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                   help="constant, or cosine decay from --lr to --lr-min")
    t.add_argument("--lr-min", type=float, default=0.0, help="final learning rate of the cosine schedule")
    t.add_argument("--iwae-k", type=int, default=1, help="1: train on the ELBO; k > 1: on the IWAE_k bound")
    t.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (beta-VAE; 1 is the ELBO)")
    t.add_argument("--kl-warmup", type=int, default=0, help="epochs of linear KL annealing from 0 to --beta")
    t.add_argument("--train-on-valid", action="store_true",
                   help="train on train+valid (the literature's protocol for the static split)")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA only)")
    t.add_argument("--compile", action="store_true", help="torch.compile the loss (CUDA only)")
    t.add_argument("--out", default="runs/vae", help="output folder")
    t.add_argument("--resume", action="store_true", help="continue the interrupted run saved in OUT/model.pt")
    t.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test ELBO, IWAE bound and importance-sampled NLL of a checkpoint",
                       formatter_class=_Formatter)
    e.add_argument("checkpoint", help="a model.pt written by train")
    e.add_argument("--dataset", choices=DATASETS, default=None,
                   help="test set (default%(default).0s: the dataset stored in the checkpoint)")
    common(e, 5000, "importance samples per image for the NLL (5000 as in Burda et al. 2016)",
           "no progress bar: only the result table")
    e.add_argument("--batch-size", type=int, default=100, help="test images per batch")
    e.add_argument("--limit", type=int, default=0, help="evaluate only the first N test images (0: all)")
    e.add_argument("--json", default=None, help="also write the result to this JSON file")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("sample", help="draw samples from a checkpoint into a PNG", formatter_class=_Formatter)
    s.add_argument("checkpoint", help="a model.pt written by train")
    s.add_argument("--n", type=int, default=64, help="number of samples")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--out", default="samples.png", help="image file to write")
    s.set_defaults(func=cmd_sample)
    return parser


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _interrupted(out: Path | None) -> str:
    """The one line printed on Ctrl-C: how to go on from where the run stopped."""
    if out is None:
        return "interrupted"
    if (out / "model.pt").is_file():
        return (f"interrupted; the run in {out} keeps its last finished epoch: run the same command with --resume "
                "to continue")
    return f"interrupted before the first epoch finished; nothing was saved in {out}: run the same command again"


def main(argv: list[str] | None = None) -> int:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler and threading_main():
        signal.signal(signal.SIGINT, signal.default_int_handler)  # vae_lib's start-up guard is done: Ctrl-C as usual
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m vae_lib " + shlex.join(argv)
    args.interrupt_out = None
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"\n{_interrupted(args.interrupt_out)}", file=sys.stderr, flush=True)
        return 130
    except TrainingDivergedError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except data.DataNotFoundError as err:
        print(f"error: {_cli_data_hint(str(err).strip())}", file=sys.stderr)
        return 2
    except OSError as err:  # a disk that filled up, a folder made read-only during the run, ...
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"error: {err.strerror or err}{where}; check that the output folder can be written and has room",
              file=sys.stderr)
        return 2
    except ValueError as err:  # VaeLibError and the library's other refusals
        message = str(err).strip()
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
