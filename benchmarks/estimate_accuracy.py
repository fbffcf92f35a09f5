"""How well ``python -m vae_lib train/evaluate`` estimate the time of their test evaluation.

The estimate (``vae_lib.__main__.estimate_evaluation_seconds``: the fastest of three timed probes of
one chunk, scaled to the whole evaluation) is compared with a real ``vae_lib.evaluate`` of the same
size. This used to be a timed assert in tests/test_errors.py; wall-clock times belong here, not in
the tests (issue 17). Prints one line per k; nothing is asserted.

    OMP_NUM_THREADS=1 python benchmarks/estimate_accuracy.py [--n 500] [--k 100 1000]
"""

from __future__ import annotations

import argparse

import torch

from vae_lib.__main__ import estimate_evaluation_seconds
from vae_lib.evaluate import evaluate
from vae_lib.models import VAE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="test images")
    parser.add_argument("--k", type=int, nargs="+", default=[100, 1000], help="importance samples")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = VAE()  # the default MLP 784-400-20: the cost does not depend on the weights
    x = torch.bernoulli(torch.full((args.n, 784), 0.2), generator=torch.Generator().manual_seed(0))
    cpu = torch.device("cpu")
    for k in args.k:
        predicted = estimate_evaluation_seconds(model, args.n, k, min(50, k), cpu)
        measured = evaluate(model, x, k=k, iwae_k=min(50, k), progress=False, device=cpu)["seconds"]
        print(f"k={k:5d}  n={args.n}  estimated {predicted:7.1f} s  measured {measured:7.1f} s  "
              f"ratio {predicted / measured:4.2f}")


if __name__ == "__main__":
    main()
