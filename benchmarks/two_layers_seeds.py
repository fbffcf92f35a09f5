"""Chapter 11's comparison of a one- and a two-layer VAE, repeated over several random streams.

The chapter trains each model once (with the book's seeds shifted by ``VAE_BOOK_SEED_OFFSET``);
a single run cannot say how much the comparison depends on the seed. This script repeats the
chapter's code for each offset o (every seed ``n`` becomes ``n + 10,000 o``, as
``vae_lib.seeds.book_seed`` does) with the chapter's settings as shipped, and writes, per
offset, the paired differences (2 layers − 1 layer, mean and standard error over the same
test images) of the ELBO, IWAE_5, the importance-sampled log p(x) and the gap, to
``vae_lib/results/two_layers_seeds.json`` (rows for other offsets already in the file are kept).

    VAE_LIB_DATA=... OMP_NUM_THREADS=1 python benchmarks/two_layers_seeds.py --offsets 0-9

Each offset trains two models and evaluates them with k = 1000 (the time per offset, on the
machine that ran it, is stored as ``seconds``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import time
from pathlib import Path

import torch

import vae_lib
from vae_lib.data import dynamic_binarize, load_mnist
from vae_lib.hierarchical import HierarchicalVAE, evaluate_bounds, train_iwae
from vae_lib.seeds import OFFSET_ENV, book_seed

OUT = Path(vae_lib.__file__).resolve().parent / "results" / "two_layers_seeds.json"
# the chapter's settings (chapters/*/11_beyond_the_basic_vae.ipynb) as shipped
SETTINGS = {"epochs": 3, "n_train": 10_000, "n_eval": 500, "k_train": 5, "k_eval": 1000, "lr": 2e-3}
LAYOUTS = {"one": ((20,), (200,)), "two": ((20, 10), (200, 100))}


def mean_se(v: torch.Tensor) -> list[float]:
    return [round(v.mean().item(), 4), round((v.std() / math.sqrt(len(v))).item(), 4)]


def one_offset(offset: int) -> dict:
    os.environ[OFFSET_ENV] = str(offset)  # book_seed reads it at each call
    s = SETTINGS
    x_train = load_mnist("train")[0][: s["n_train"]]
    x_eval = dynamic_binarize(
        load_mnist("test")[0][: s["n_eval"]], generator=torch.Generator().manual_seed(book_seed(1234))
    )
    start = time.perf_counter()
    models = {}
    for name, (z_dims, hidden) in LAYOUTS.items():
        torch.manual_seed(book_seed(0))
        models[name] = HierarchicalVAE(z_dims=z_dims, hidden=hidden)
        train_iwae(models[name], x_train, epochs=s["epochs"], k=s["k_train"], lr=s["lr"], seed=book_seed(0))
    torch.manual_seed(book_seed(0))
    bounds = {name: evaluate_bounds(m, x_eval, k_iwae=s["k_train"], k_lpx=s["k_eval"]) for name, m in models.items()}
    for b in bounds.values():
        b["gap"] = b["log_px"] - b["elbo"]
    row = {"offset": offset}
    for key in ("elbo", "iwae", "log_px", "gap"):
        row[f"d_{key}"] = mean_se(bounds["two"][key] - bounds["one"][key])
        for name in LAYOUTS:
            row[f"{key}_{name}"] = mean_se(bounds[name][key])
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def parse_offsets(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offsets", default="0-9", help="e.g. 0-9 or 0,3,5")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for offset in parse_offsets(args.offsets):
        row = one_offset(offset)
        print(json.dumps(row), flush=True)
        data = json.loads(args.out.read_text()) if args.out.is_file() else {"rows": []}
        data["rows"] = sorted([r for r in data["rows"] if r["offset"] != offset] + [row], key=lambda r: r["offset"])
        data["settings"] = SETTINGS
        data["command"] = "python benchmarks/two_layers_seeds.py --offsets " + args.offsets
        data["machine"] = {"python": platform.python_version(), "torch": torch.__version__,
                           "date": datetime.date.today().isoformat()}
        args.out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
