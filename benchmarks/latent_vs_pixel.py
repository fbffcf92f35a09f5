"""Diffusion in pixel space vs in the flagship's latent space: the cost of the same eps-network (chapter 12).

One ``EpsilonMLP`` (hidden 256, 4 layers, T = 100) is trained for one epoch on N binarized MNIST images (784
numbers each) and, in the same process, on N latent codes of the flagship (50 numbers each); then each samples
1000 draws with the ancestral sampler (T network evaluations). Each timing is the fastest of ``--repeats`` runs.
Prints seconds and ratios, and the multiply-adds of one evaluation (which do not depend on the machine); nothing
is asserted. The chapter prints one such timing under its own load; these are the figures to quote.

    python benchmarks/latent_vs_pixel.py [--n 10000] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch

from vae_lib import latent_diffusion as ld
from vae_lib.data import dynamic_binarize, load_mnist
from vae_lib.flagship import load_flagship


def multiply_adds(net: torch.nn.Module) -> int:
    """Weights of the linear layers = multiply-adds of one evaluation (the label embedding is a lookup)."""
    return sum(m.weight.numel() for m in net.modules() if isinstance(m, torch.nn.Linear))


def fastest(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="training examples per epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x, _ = load_mnist("train")
    pixels = dynamic_binarize(x[: args.n], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        codes, _ = load_flagship("mnist").encode(pixels)
    betas = ld.cosine_betas(100, max_beta=0.5)
    rows = {}
    for name, data in (("pixel space (784)", pixels), ("latent space (50)", codes)):
        torch.manual_seed(0)
        net = ld.EpsilonMLP(data.shape[1], 100, hidden=256, layers=4)
        train = fastest(lambda: ld.fit_latent_diffusion(net, data, betas, epochs=1, progress=False), args.repeats)
        net.eval()
        draw = fastest(lambda: ld.sample(net, 1000, data.shape[1], betas), args.repeats)
        rows[name] = (train, draw, multiply_adds(net))
        print(f"{name:20s} one epoch of {args.n:,}: {train:6.2f} s   1000 draws (T = 100): {draw:6.2f} s   "
              f"multiply-adds per evaluation: {rows[name][2]:,}")
    (tp, dp, mp), (tl, dl, ml) = rows.values()
    print(f"pixel / latent: training {tp / tl:.2f}x, sampling {dp / dl:.2f}x, multiply-adds {mp / ml:.2f}x "
          f"({torch.get_num_threads()} thread(s))")


if __name__ == "__main__":
    main()
