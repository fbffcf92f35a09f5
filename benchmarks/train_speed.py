"""How fast is ``vae_lib.train.fit`` compared with the classic PyTorch training loop?

The setting is the reference of pytorch/examples ``vae/main.py``: an MLP VAE 784-400-20,
Adam (lr 1e-3), mini-batches of 128, one epoch over the 60 000 MNIST training images.
It is trained two ways in the same process, in alternating rounds (A, B, A, B, ...), so that
both see the same machine state:

A. the classic loop: a per-sample ``torch.utils.data.Dataset`` whose ``__getitem__`` turns one
   uint8 28x28 image into a float tensor ``[1, 28, 28]`` divided by 255 (what ``ToTensor``
   does, minus the PIL round trip, so A is if anything flattered), a
   ``DataLoader(batch_size=128, shuffle=True)``, and the example's model written inline. To
   compare like with like, the loss is the Bernoulli negative ELBO on dynamically binarized
   pixels (``x_b ~ Bernoulli(x)``, logits + ``binary_cross_entropy_with_logits``), summed over
   the batch as in the example, and ``loss.item()`` is read every step as the example does.
B. ``vae_lib.train.fit(model, x, epochs=1, batch_size=128, progress=False)``: the whole data set
   is one tensor, batches are slices of a random permutation.

Printed: seconds per epoch (median over ``--rounds``), the ratio A/B, the peak resident memory
(``resource.getrusage(...).ru_maxrss``, which only grows, so it is read after each phase), and
the FLOP floor: the matmul FLOPs of one epoch, forward + backward ~ 3 x 2 x sum(in*out) over
the linear layers x N, divided by the matmul rate measured on this machine with the very
matrix shapes of a batch-128 step (measured before each round and at the end; the best rate
is used, so the floor is not inflated by a busy moment); B/floor says how far ``fit`` is from
pure matmul time. On a shared, busy machine all timings are noisy: use more rounds.

Usage::

    VAE_LIB_DATA=/path/to/data python benchmarks/train_speed.py            # 3 rounds, n=60000
    python benchmarks/train_speed.py --n 6000 --rounds 3                     # quick check
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vae_lib.data import load_mnist
from vae_lib.models import VAE
from vae_lib.train import fit

BATCH = 128
LR = 1e-3
Z_DIM, HIDDEN = 20, 400


# ------------------------------------------------------------------------------------ A


class MnistBytes(Dataset):
    """Per-sample MNIST: item ``i`` is (``[1, 28, 28]`` float32 in [0, 1], label), made from uint8."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images_uint8  # [N, 28, 28] uint8
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.images[i].to(torch.float32).div(255.0).unsqueeze(0)  # as ToTensor: [1, H, W]
        return image, int(self.labels[i])


class ExampleVAE(nn.Module):
    """The pytorch/examples MLP VAE (784-400-20), returning Bernoulli logits instead of sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, HIDDEN)
        self.fc21 = nn.Linear(HIDDEN, Z_DIM)
        self.fc22 = nn.Linear(HIDDEN, Z_DIM)
        self.fc3 = nn.Linear(Z_DIM, HIDDEN)
        self.fc4 = nn.Linear(HIDDEN, 784)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        logits = self.fc4(F.relu(self.fc3(z)))
        return logits, mu, logvar


def negative_elbo_sum(logits, x, mu, logvar) -> torch.Tensor:
    """Summed over the batch: -log p(x|z) (Bernoulli) + KL(q(z|x) || N(0, I))."""
    recon = F.binary_cross_entropy_with_logits(logits, x.view(-1, 784), reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon + kl


def epoch_classic(dataset: Dataset, device: torch.device, seed: int, workers: int) -> tuple[float, float]:
    """One epoch of loop A; returns (seconds, mean ELBO per example in nats)."""
    torch.manual_seed(seed)
    model = ExampleVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers,
                        pin_memory=device.type == "cuda")
    model.train()
    start = time.perf_counter()
    train_loss = 0.0
    for data, _ in loader:
        data = torch.bernoulli(data.to(device))  # dynamic binarization
        optimizer.zero_grad()
        logits, mu, logvar = model(data)
        loss = negative_elbo_sum(logits, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    seconds = time.perf_counter() - start
    return seconds, -train_loss / len(dataset)


# ------------------------------------------------------------------------------------ B


def epoch_vae_lib(x: torch.Tensor, device: torch.device, seed: int) -> tuple[float, float, float]:
    """One epoch of ``fit``; returns (seconds for the whole call, seconds of the epoch itself, ELBO)."""
    torch.manual_seed(seed)
    model = VAE(x_dim=784, z_dim=Z_DIM, hidden=(HIDDEN,))
    start = time.perf_counter()
    history = fit(model, x, epochs=1, batch_size=BATCH, lr=LR, device=device, seed=seed, progress=False)
    seconds = time.perf_counter() - start
    return seconds, history[0]["seconds"], history[0]["train_elbo"]


# ------------------------------------------------------------------------------------ floor


def linear_shapes(model: nn.Module) -> list[tuple[int, int]]:
    """(in_features, out_features) of every ``nn.Linear`` in ``model``."""
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def matmul_rate(shapes: list[tuple[int, int]], device: torch.device, seconds: float = 1.0) -> float:
    """FLOP/s of the three matmuls per linear layer of one batch-128 step.

    Forward ``[B, in] @ [in, out]``, gradient w.r.t. the input ``[B, out] @ [out, in]`` and
    w.r.t. the weight ``[out, B] @ [B, in]``; each costs 2*B*in*out FLOPs.
    """
    gen = torch.Generator(device="cpu").manual_seed(0)
    pairs = []
    for n_in, n_out in shapes:
        pairs.append((torch.randn(BATCH, n_in, generator=gen), torch.randn(n_in, n_out, generator=gen)))
        pairs.append((torch.randn(BATCH, n_out, generator=gen), torch.randn(n_out, n_in, generator=gen)))
        pairs.append((torch.randn(n_out, BATCH, generator=gen), torch.randn(BATCH, n_in, generator=gen)))
    pairs = [(a.to(device), b.to(device)) for a, b in pairs]
    flops_per_pass = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs)

    def one_pass() -> None:
        for a, b in pairs:
            torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(20):  # warm-up
        one_pass()
    reps, elapsed = 0, 0.0
    start = time.perf_counter()
    while elapsed < seconds:
        one_pass()
        reps += 1
        elapsed = time.perf_counter() - start
    return flops_per_pass * reps / elapsed


def max_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# ------------------------------------------------------------------------------------ main


def measure(rounds: int = 3, n: int = 60000, device: str = "cpu", workers: int = 0, seed: int = 0,
            data_root: str | None = None) -> dict:
    """Run the alternating A/B rounds; returns every timing, the ratios, the floor and peak RSS."""
    if rounds < 1:
        raise ValueError("rounds must be >= 1 (use >= 3 for a meaningful median)")
    if not BATCH <= n <= 60000:
        raise ValueError(f"n must be between {BATCH} and 60000")
    device = torch.device(device)
    x, y = load_mnist("train", root=data_root)
    x, y = x[:n].contiguous(), y[:n].contiguous()
    images_uint8 = (x * 255).round().to(torch.uint8).view(-1, 28, 28)
    dataset = MnistBytes(images_uint8, y)
    rss = {"data loaded": max_rss_mib()}

    shapes = linear_shapes(ExampleVAE())
    assert sorted(shapes) == sorted(linear_shapes(VAE(x_dim=784, z_dim=Z_DIM, hidden=(HIDDEN,)))), \
        "A and B must have the same linear layers for the comparison to be fair"

    times_a, times_b, inner_b, elbo_a, elbo_b, rates = [], [], [], [], [], []
    for r in range(rounds):
        rates.append(matmul_rate(shapes, device, seconds=0.5))
        seconds, value = epoch_classic(dataset, device, seed + r, workers)
        times_a.append(seconds)
        elbo_a.append(value)
        if r == 0:
            rss["after first A"] = max_rss_mib()
        seconds, inner, value = epoch_vae_lib(x, device, seed + r)
        times_b.append(seconds)
        inner_b.append(inner)
        elbo_b.append(value)
        if r == 0:
            rss["after first B"] = max_rss_mib()

    rates.append(matmul_rate(shapes, device, seconds=0.5))
    params = sum(i * o for i, o in shapes)
    flops_epoch = 3 * 2 * params * n
    rate = max(rates)  # the best rate seen (measured before every round and at the end): a true floor
    floor = flops_epoch / rate
    med_a, med_b = statistics.median(times_a), statistics.median(times_b)
    return {
        "n": n, "rounds": rounds, "device": str(device), "threads": torch.get_num_threads(),
        "seconds_a": times_a, "seconds_b": times_b, "seconds_b_loop": inner_b, "elbo_a": elbo_a, "elbo_b": elbo_b,
        "median_a": med_a, "median_b": med_b, "median_b_loop": statistics.median(inner_b),
        "ratio_a_over_b": med_a / med_b, "weights": params, "flops_per_epoch": flops_epoch,
        "matmul_gflops": rate / 1e9, "matmul_rates_gflops": [r / 1e9 for r in rates], "floor_seconds": floor,
        "ratio_b_over_floor": med_b / floor, "peak_rss_mib": rss,
    }


def print_report(m: dict) -> None:
    """The table of ``measure``'s result."""
    def row(name: str, times: list[float], elbos: list[float]) -> str:
        each = " ".join(f"{t:6.2f}" for t in times)
        return f"{name:<38} {statistics.median(times):>10.2f}   {statistics.mean(elbos):>12.2f}   {each}"

    print(f"train_speed  MLP 784-{HIDDEN}-{Z_DIM} VAE | Adam lr={LR:g} | batch {BATCH} | n={m['n']} | "
          f"{m['rounds']} rounds | device {m['device']}")
    print(f"             torch {torch.__version__} | {m['threads']} threads | "
          f"Python {platform.python_version()} | {platform.machine()}")
    print()
    print(f"{'method':<38} {'s/epoch':>10}   {'ELBO/example':>12}   each round (s)")
    print("-" * 92)
    print(row("A  Dataset + DataLoader (classic)", m["seconds_a"], m["elbo_a"]))
    print(row("B  vae_lib.train.fit (whole call)", m["seconds_b"], m["elbo_b"]))
    print(row("   fit: epoch loop only", m["seconds_b_loop"], m["elbo_b"]))
    print("-" * 92)
    print(f"{'ratio A/B':<38} {m['ratio_a_over_b']:>10.2f}x")
    print()
    print(f"FLOP floor: sum(in*out) = {m['weights']:,} weights; 3 x 2 x {m['weights']:,} x {m['n']} = "
          f"{m['flops_per_epoch']:.3e} FLOP/epoch")
    print(f"            matmul rate (batch-{BATCH} fwd+bwd shapes) = {m['matmul_gflops']:.1f} GFLOP/s "
          f"(best of {len(m['matmul_rates_gflops'])}) -> floor {m['floor_seconds']:.2f} s/epoch")
    print(f"{'ratio B/floor':<38} {m['ratio_b_over_floor']:>10.2f}x")
    print()
    print("peak RSS (ru_maxrss, grows only): " + ", ".join(f"{k} {v:.0f} MiB" for k, v in m["peak_rss_mib"].items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating A/B rounds (median is reported; >= 3)")
    parser.add_argument("--n", "--epochs-subset", dest="n", type=int, default=60000,
                        help="train on the first N images only (quick check); default all 60000")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, ...")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for loop A (pytorch/examples: 0 on CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", default=None, help="data folder (default: $VAE_LIB_DATA)")
    args = parser.parse_args(argv)
    try:
        result = measure(args.rounds, args.n, args.device, args.workers, args.seed, args.data_root)
    except ValueError as err:
        parser.error(str(err))
    print_report(result)


if __name__ == "__main__":
    main()
