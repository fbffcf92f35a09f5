"""How fast is ``vae_lib.train.fit`` compared with the PyTorch training loop that users actually run?

The setting is the reference of pytorch/examples ``vae/main.py``: an MLP VAE 784-400-20,
Adam (lr 1e-3), mini-batches of 128, one epoch over the 60 000 MNIST training images.
Three ways of training it run in the same process, in alternating rounds (A, A', B, A, A', B, ...),
so that all see the same machine state (this matters on a shared machine: ratios measured in
one process are what count):

A. **the faithful loop**, the data path of pytorch/examples as its users run it: a
   torchvision-style ``MNIST`` ``Dataset`` whose ``__getitem__`` makes a PIL image,
   ``Image.fromarray(img.numpy(), mode="L")``, and applies ``transforms.ToTensor()`` (torchvision's
   own when it imports, else the same steps written out with numpy/PIL: uint8 array copy ->
   ``[1, 28, 28]`` -> float32 / 255), a ``DataLoader(batch_size=128, shuffle=True)``, the
   example's model written inline, ``torch.optim.Adam`` with its defaults, ``loss.item()`` every step.
   To compare like with like, the loss is the Bernoulli negative ELBO on dynamically binarized
   pixels (``x_b ~ Bernoulli(x)``, logits + ``binary_cross_entropy_with_logits``), summed over
   the batch as in the example.
A'. **the flattered loop**: the same, but ``__getitem__`` converts the uint8 tensor directly
   (no PIL round trip) - what this benchmark measured before; A' flatters the classic loop.
B. ``vae_lib.train.fit(model, x, epochs=1, batch_size=128, progress=False)``: the whole data set
   is one tensor, batches are gathered rows of a random permutation (the last partial batch is
   dropped, so every step has the same shape).

The FLOP floor is *measured*: the time of the bare matrix multiplications one training step
needs at these shapes (forward ``addmm`` of the 5 linear layers, their 5 weight gradients and
the 4 input gradients; the first layer needs none), run back to back in a loop, best of
several repetitions, times the steps of an epoch. B/floor says how far ``fit`` is from pure
matmul time. The evaluation section does the same for ``vae_lib.evaluate(k=5000)``: its time
on ``--eval-n`` test images against the bare matmuls of its encoder and decoder passes.

The optimisation section times variants of one training step (same shapes, same process):
what each change made in ``fit`` bought.

Usage::

    VAE_LIB_DATA=/path/to/data python benchmarks/train_speed.py               # 3 rounds, n=60000
    python benchmarks/train_speed.py --n 12800 --rounds 3 --eval-n 100       # quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vae_lib.data import dynamic_binarize, load_mnist
from vae_lib.evaluate import evaluate
from vae_lib.models import VAE, inputs_validated
from vae_lib.objectives import elbo
from vae_lib.train import fit

BATCH = 128
LR = 1e-3
Z_DIM, HIDDEN = 20, 400
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.perf_counter  # set by measure(): process CPU time on a shared machine with one thread


# ------------------------------------------------------------------------------------ A: faithful


def _to_tensor_pil(pic) -> torch.Tensor:
    """torchvision's ``ToTensor`` for a mode-"L" PIL image, step by step (torchvision 0.2x, functional.to_tensor)."""
    img = torch.from_numpy(np.array(pic, np.uint8, copy=True))
    img = img.view(pic.size[1], pic.size[0], 1)  # H, W, C
    img = img.permute((2, 0, 1)).contiguous()  # C, H, W
    return img.to(dtype=torch.get_default_dtype()).div(255)


def to_tensor_transform():
    """(transform, name): ``torchvision.transforms.ToTensor()`` if torchvision imports, else the same steps."""
    try:
        from torchvision import transforms

        return transforms.ToTensor(), "torchvision.transforms.ToTensor"
    except Exception:  # not installed, or built for another torch
        return _to_tensor_pil, "ToTensor re-implemented with numpy/PIL (torchvision unavailable)"


class TorchvisionStyleMNIST(Dataset):
    """``torchvision.datasets.MNIST`` as it serves a sample: uint8 tensor -> PIL image -> transform."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.data = images_uint8  # [N, 28, 28] uint8, as torchvision keeps it
        self.targets = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        img, target = self.data[index], int(self.targets[index])
        img = Image.fromarray(img.numpy(), mode="L")  # exactly torchvision's MNIST.__getitem__
        return self.transform(img), target


# ------------------------------------------------------------------------------------ A': flattered


class MnistBytes(Dataset):
    """Per-sample MNIST without PIL: item ``i`` is (``[1, 28, 28]`` float32 in [0, 1], label)."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images_uint8
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
    """One epoch of a DataLoader loop (A or A'); returns (seconds, mean ELBO per example in nats)."""
    torch.manual_seed(seed)
    model = ExampleVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers,
                        pin_memory=device.type == "cuda")
    model.train()
    start = clock()
    train_loss = 0.0
    for data, _ in loader:
        data = torch.bernoulli(data.to(device))  # dynamic binarization
        optimizer.zero_grad()
        logits, mu, logvar = model(data)
        loss = negative_elbo_sum(logits, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    seconds = clock() - start
    return seconds, -train_loss / len(dataset)


# ------------------------------------------------------------------------------------ B


def epoch_vae_lib(x: torch.Tensor, device: torch.device, seed: int) -> tuple[float, float, float]:
    """One epoch of ``fit``; returns (seconds for the whole call, seconds of the epoch itself, ELBO)."""
    torch.manual_seed(seed)
    model = VAE(x_dim=784, z_dim=Z_DIM, hidden=(HIDDEN,))
    start = clock()
    history = fit(model, x, epochs=1, batch_size=BATCH, lr=LR, device=device, seed=seed, progress=False)
    seconds = clock() - start
    return seconds, history[0]["seconds"], history[0]["train_elbo"]  # fit's own epoch time is wall time


# ------------------------------------------------------------------------------------ floors


def linear_shapes(model: nn.Module) -> list[tuple[int, int]]:
    """(in_features, out_features) of every ``nn.Linear`` in ``model``, in forward order."""
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_time(fn, device: torch.device, seconds: float, reps_per_sample: int, warmup: int = 3,
               min_samples: int = 1) -> float:
    """Best mean time of ``fn`` over samples of ``reps_per_sample`` calls, sampled for about ``seconds``."""
    for _ in range(warmup):
        fn()
    _sync(device)
    best, spent, samples = float("inf"), 0.0, 0
    while spent < seconds or samples < min_samples:
        samples += 1
        start = clock()
        for _ in range(reps_per_sample):
            fn()
        _sync(device)
        elapsed = clock() - start
        spent += elapsed
        best = min(best, elapsed / reps_per_sample)
    return best


def step_matmuls(shapes: list[tuple[int, int]], batch: int, device: torch.device):
    """(function running the bare matmuls of one training step, FLOPs of that step).

    Per linear layer [B, in] -> [B, out]: the forward ``addmm`` and the weight gradient
    ``[out, B] @ [B, in]``; the input gradient ``[B, out] @ [out, in]`` for every layer but the
    first (nothing upstream of the data needs a gradient). Each costs 2 * B * in * out FLOPs.
    """
    gen = torch.Generator(device="cpu").manual_seed(0)
    ops, flops = [], 0
    for i, (n_in, n_out) in enumerate(shapes):
        x = torch.randn(batch, n_in, generator=gen).to(device)
        w = torch.randn(n_out, n_in, generator=gen).to(device)
        bias = torch.randn(n_out, generator=gen).to(device)
        g = torch.randn(batch, n_out, generator=gen).to(device)
        ops.append(lambda x=x, w=w, bias=bias: torch.addmm(bias, x, w.t()))
        ops.append(lambda x=x, g=g: g.t().mm(x))
        flops += 2 * (2 * batch * n_in * n_out)
        if i > 0:
            ops.append(lambda w=w, g=g: g.mm(w))
            flops += 2 * batch * n_in * n_out

    def run() -> None:
        for op in ops:
            op()

    return run, flops


def eval_matmuls(model: VAE, batch: int, k: int, iwae_k: int, max_rows: int, device: torch.device):
    """(function running the bare matmuls of ``evaluate`` on one batch, FLOPs of one batch).

    ``evaluate`` encodes the batch three times (ELBO, IWAE, log p(x)) and decodes 1 + iwae_k + k
    samples per image, in chunks of at most ``max_rows`` rows: [rows, K] -> hidden -> [rows, D].
    """
    enc = linear_shapes(model.encoder_body) + [linear_shapes(model.to_mu)[0], linear_shapes(model.to_logvar)[0]]
    dec = linear_shapes(model.decoder_net)
    gen = torch.Generator(device="cpu").manual_seed(0)
    chunk = max(1, max_rows // batch)
    row_counts = [batch]  # the ELBO's one sample
    for total in (iwae_k, k):
        row_counts += [min(chunk, total - s) * batch for s in range(0, total, chunk)]
    weights = {shape: (torch.randn(shape[1], shape[0], generator=gen).to(device),
                       torch.randn(shape[1], generator=gen).to(device)) for shape in set(enc + dec)}
    inputs = {}
    for rows in set(row_counts) | {batch}:
        for n_in, _ in enc + dec:
            inputs[(rows, n_in)] = torch.randn(rows, n_in, generator=gen).to(device)
    flops = 3 * sum(2 * batch * i * o for i, o in enc) + sum(2 * r * i * o for r in row_counts for i, o in dec)

    def run() -> None:
        for _ in range(3):
            for n_in, n_out in enc:
                w, b = weights[(n_in, n_out)]
                torch.addmm(b, inputs[(batch, n_in)], w.t())
        for rows in row_counts:
            for n_in, n_out in dec:
                w, b = weights[(n_in, n_out)]
                torch.addmm(b, inputs[(rows, n_in)], w.t())

    return run, flops


def max_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# ------------------------------------------------------------------------------------ optimisations


def step_variants(x: torch.Tensor, device: torch.device, steps: int, try_compile: bool, passes: int = 3) -> dict:
    """ms per training step of ``fit``'s step with one change undone at a time (same process).

    Each variant runs ``steps`` steps of the 784-400-20 VAE at batch 128; the variants take
    turns, ``passes`` times, and the best pass of each is kept.
    """
    torch.manual_seed(0)
    n = len(x)

    def make(binarize: str, gather: str, adam: str, sync: bool, compiled: bool):
        model = VAE(x_dim=784, z_dim=Z_DIM, hidden=(HIDDEN,)).to(device)
        options = {"fused": {"fused": True}, "foreach": {"foreach": True}, "for-loop": {"foreach": False}}[adam]
        optimizer = torch.optim.Adam(model.parameters(), lr=LR, **options)

        def terms(xb):
            t = elbo(model, xb, 1.0, None, check=False)
            return t.elbo, torch.stack([t.elbo, t.recon, t.kl, t.elbo])

        forward = torch.compile(terms) if compiled else terms
        sums = torch.zeros(4, dtype=torch.float64, device=device)
        perm = torch.randperm(n, device=device)

        def run() -> None:
            nonlocal sums
            for b in range(steps):
                idx = perm[(b * BATCH) % (n - BATCH):][:BATCH]
                xb = x.index_select(0, idx) if gather == "index_select" else x[idx]
                xb = (torch.rand_like(xb) < xb).to(xb.dtype) if binarize == "rand<" else torch.bernoulli(xb)
                objective, t = forward(xb)
                loss = -objective.mean()
                if sync:
                    bool(torch.isfinite(loss))  # the old per-step check: one host read-back
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sums += t.detach().sum(1).double()
            _sync(device)

        return model, run

    variants = {
        "fit (rand<, index_select, fused Adam, check every 50)": ("rand<", "index_select", "fused", False, False),
        "  with torch.bernoulli instead of [u < x]": ("bernoulli", "index_select", "fused", False, False),
        "  with x[idx] instead of index_select": ("rand<", "x[idx]", "fused", False, False),
        "  with foreach Adam instead of fused": ("rand<", "index_select", "foreach", False, False),
        "  with for-loop Adam (torch's CPU default)": ("rand<", "index_select", "for-loop", False, False),
        "  with a finiteness check every step": ("rand<", "index_select", "fused", True, False),
    }
    if try_compile:
        variants["  with torch.compile of the loss"] = ("rand<", "index_select", "fused", False, True)
    result: dict = {}
    built = {}
    for name, spec in variants.items():
        model, run = make(*spec)
        start = time.perf_counter()  # wall time: the compiler works in subprocesses too
        with inputs_validated(model):
            run()  # warm-up (and, for the compiled variant, the compilation)
        if spec[4]:
            result["compile_seconds"] = time.perf_counter() - start
        built[name] = (model, run)
    best = {name: float("inf") for name in built}
    for _ in range(passes):  # interleaved, so a busy moment hits every variant alike
        for name, (model, run) in built.items():
            with inputs_validated(model):
                start = clock()
                run()
                best[name] = min(best[name], (clock() - start) * 1e3 / steps)
    result.update(best)
    # the batch preparation alone, which the whole-step timings above are too noisy to resolve
    perm = torch.randperm(n, device=device)
    prep = {
        "batch prep: index_select + [u < x]": lambda b: (lambda xb: (torch.rand_like(xb) < xb).to(xb.dtype))(
            x.index_select(0, perm[b * BATCH:(b + 1) * BATCH])),
        "batch prep: index_select + torch.bernoulli": lambda b: torch.bernoulli(
            x.index_select(0, perm[b * BATCH:(b + 1) * BATCH])),
        "batch prep: x[idx] + torch.bernoulli (before)": lambda b: torch.bernoulli(x[perm[b * BATCH:(b + 1) * BATCH]]),
    }
    for _ in range(5):
        for name, f in prep.items():
            start = clock()
            for b in range(200):
                f(b % (n // BATCH))
            _sync(device)
            result[name] = min(result.get(name, float("inf")), (clock() - start) * 1e3 / 200)
    return result


# ------------------------------------------------------------------------------------ main


def measure(rounds: int = 3, n: int = 60000, device: str = "cpu", workers: int = 0, seed: int = 0,
            data_root: str | None = None, eval_n: int = 100, eval_k: int = 5000, variant_steps: int = 60,
            try_compile: bool = False, clock_name: str = "auto") -> dict:
    """Run the alternating A/A'/B rounds, the floors, the evaluation and the step variants.

    ``clock_name``: ``"wall"`` (time.perf_counter), ``"cpu"`` (time.process_time: the CPU time of
    this process, which other programs on a shared machine hardly change; meaningful only with one
    thread, no DataLoader workers and no GPU) or ``"auto"``: cpu when those hold, else wall.
    """
    global clock
    if clock_name == "auto":
        clock_name = "cpu" if torch.get_num_threads() == 1 and workers == 0 and device == "cpu" else "wall"
    if clock_name not in CLOCKS:
        raise ValueError(f"clock must be auto, cpu or wall, got {clock_name!r}")
    if clock_name == "cpu" and (torch.get_num_threads() != 1 or workers or device != "cpu"):
        raise ValueError("--clock cpu needs one thread (OMP_NUM_THREADS=1), --workers 0 and --device cpu")
    clock = CLOCKS[clock_name]
    if rounds < 1:
        raise ValueError("rounds must be >= 1 (use >= 3 for a meaningful median)")
    if not BATCH <= n <= 60000:
        raise ValueError(f"n must be between {BATCH} and 60000")
    if not 0 <= eval_n <= 10000:
        raise ValueError("eval_n must be between 0 (skip the evaluation) and 10000")
    device = torch.device(device)
    load_start = os.getloadavg()
    x, y = load_mnist("train", root=data_root)
    x, y = x[:n].contiguous(), y[:n].contiguous()
    images_uint8 = (x * 255).round().to(torch.uint8).view(-1, 28, 28)
    transform, transform_name = to_tensor_transform()
    faithful = TorchvisionStyleMNIST(images_uint8, y, transform)
    flattered = MnistBytes(images_uint8, y)
    item, _ = faithful[0]
    assert item.shape == (1, 28, 28) and item.dtype == torch.float32 and torch.allclose(item.view(-1), x[0])
    rss = {"data loaded": max_rss_mib()}

    shapes = linear_shapes(ExampleVAE())
    assert sorted(shapes) == sorted(linear_shapes(VAE(x_dim=784, z_dim=Z_DIM, hidden=(HIDDEN,)))), \
        "the loops and fit must have the same linear layers for the comparison to be fair"
    matmuls, step_flops = step_matmuls(shapes, BATCH, device)
    steps_fit = n // BATCH  # fit drops the last partial batch

    times = {"a": [], "a_flattered": [], "b": [], "b_loop": []}
    elbos = {"a": [], "a_flattered": [], "b": []}
    floor_steps = []
    for r in range(rounds):
        floor_steps.append(_best_time(matmuls, device, seconds=0.5, reps_per_sample=10))
        for key, dataset in (("a", faithful), ("a_flattered", flattered)):
            seconds, value = epoch_classic(dataset, device, seed + r, workers)
            times[key].append(seconds)
            elbos[key].append(value)
        if r == 0:
            rss["after first A"] = max_rss_mib()
        seconds, inner, value = epoch_vae_lib(x, device, seed + r)
        times["b"].append(seconds)
        times["b_loop"].append(inner)
        elbos["b"].append(value)
        if r == 0:
            rss["after first B"] = max_rss_mib()
    floor_steps.append(_best_time(matmuls, device, seconds=0.5, reps_per_sample=10))
    step_floor = min(floor_steps)  # the best seen: a true floor, not inflated by a busy moment
    floor = step_floor * steps_fit
    med = {k: statistics.median(v) for k, v in times.items()}
    params = sum(i * o for i, o in shapes)
    result = {
        "n": n, "rounds": rounds, "device": str(device), "threads": torch.get_num_threads(), "clock": clock_name,
        "loadavg_start": list(load_start), "to_tensor": transform_name,
        "seconds_a": times["a"], "seconds_a_flattered": times["a_flattered"], "seconds_b": times["b"],
        "seconds_b_loop": times["b_loop"], "elbo_a": elbos["a"], "elbo_a_flattered": elbos["a_flattered"],
        "elbo_b": elbos["b"],
        "median_a": med["a"], "median_a_flattered": med["a_flattered"], "median_b": med["b"],
        "median_b_loop": med["b_loop"],
        "ratio_a_over_b": med["a"] / med["b"], "ratio_a_flattered_over_b": med["a_flattered"] / med["b"],
        "weights": params, "steps_per_epoch": steps_fit, "flops_per_step": step_flops,
        "flops_per_epoch": step_flops * steps_fit, "floor_step_ms": [1e3 * t for t in floor_steps],
        "matmul_gflops": step_flops / step_floor / 1e9, "floor_seconds": floor,
        "ratio_b_over_floor": med["b"] / floor, "ratio_b_loop_over_floor": med["b_loop"] / floor,
        "ratio_a_over_floor": med["a"] / floor,
        "peak_rss_mib": rss,
    }
    if eval_n:
        result["evaluation"] = measure_evaluation(eval_n, eval_k, device, data_root)
    if variant_steps:
        result["step_variants_ms"] = step_variants(x, device, variant_steps, try_compile)
        result["step_floor_ms"] = 1e3 * step_floor
    result["loadavg_end"] = list(os.getloadavg())
    return result


def measure_evaluation(n: int, k: int, device: torch.device, data_root: str | None) -> dict:
    """``evaluate(k)`` of the default MLP on the first ``n`` test images against its bare matmuls."""
    x_test, _ = load_mnist("test", root=data_root)
    x_test = dynamic_binarize(x_test[:n], generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = VAE(x_dim=784, z_dim=Z_DIM, hidden=(HIDDEN,))  # cost does not depend on the weights
    batch, iwae_k = 100, 50
    max_rows = 8192 if device.type == "cpu" else 50_000  # evaluate's own choice
    start = clock()
    evaluate(model, x_test, k=k, iwae_k=iwae_k, batch_size=batch, device=device, progress=False)
    seconds = clock() - start
    run, flops_batch = eval_matmuls(model, min(batch, n), k, iwae_k, max_rows, device)
    floor = _best_time(run, device, 0.0, 1, warmup=1, min_samples=2) * (n / min(batch, n))
    return {"n": n, "k": k, "iwae_k": iwae_k, "max_rows": max_rows, "seconds": seconds,
            "floor_seconds": floor, "ratio_over_floor": seconds / floor,
            "flops": flops_batch * n / min(batch, n), "seconds_for_10k": seconds * 10000 / n}


def print_report(m: dict) -> None:
    """The table of ``measure``'s result."""
    def row(name: str, times: list[float], elbos: list[float] | None) -> str:
        each = " ".join(f"{t:6.2f}" for t in times)
        value = f"{statistics.mean(elbos):>12.2f}" if elbos else " " * 12
        return f"{name:<42} {statistics.median(times):>8.2f}   {value}   {each}"

    print(f"train_speed  MLP 784-{HIDDEN}-{Z_DIM} VAE | Adam lr={LR:g} | batch {BATCH} | n={m['n']} | "
          f"{m['rounds']} rounds | device {m['device']}")
    print(f"             torch {torch.__version__} | {m['threads']} threads | Python {platform.python_version()} | "
          f"{platform.machine()} | load average {m['loadavg_start'][0]:.2f} at start, "
          f"{m.get('loadavg_end', [float('nan')])[0]:.2f} at end")
    print(f"             A's transform: {m['to_tensor']}")
    print(f"             clock: {m['clock']}" + (" (process CPU time: the machine is shared; with one thread it is "
                                                  "the time an idle core would take)" if m["clock"] == "cpu" else ""))
    print()
    print(f"{'method':<42} {'s/epoch':>8}   {'ELBO/example':>12}   each round (s)")
    print("-" * 96)
    print(row("A  faithful: MNIST+PIL+ToTensor, DataLoader", m["seconds_a"], m["elbo_a"]))
    print(row("A' flattered: uint8 tensor, DataLoader", m["seconds_a_flattered"], m["elbo_a_flattered"]))
    print(row("B  vae_lib.train.fit (whole call)", m["seconds_b"], m["elbo_b"]))
    print(row("   fit: epoch loop only (fit's own wall time)", m["seconds_b_loop"], None))
    print(row("F  floor: bare matmuls of the epoch", [m["floor_seconds"]], None))
    print("-" * 96)
    print(f"{'A/B   fit vs the faithful loop (goal >= 3.5x)':<50} {m['ratio_a_over_b']:>6.2f}x")
    print(f"{'A' + chr(39) + '/B  fit vs the flattered loop':<50} {m['ratio_a_flattered_over_b']:>6.2f}x")
    print(f"{'B/F   fit vs the FLOP floor (goal <= 1.3x)':<50} {m['ratio_b_over_floor']:>6.2f}x"
          f"   (epoch loop only: {m['ratio_b_loop_over_floor']:.2f}x)")
    print(f"{'A/F   the most any fit could reach over A':<50} {m['ratio_a_over_floor']:>6.2f}x"
          "   (no loop beats the bare matmuls)")
    print()
    print(f"floor: {m['steps_per_epoch']} steps x 14 matmuls ({m['flops_per_step'] / 1e9:.3f} GFLOP/step) at "
          f"{m['matmul_gflops']:.1f} GFLOP/s = {m['floor_seconds']:.2f} s/epoch; per-step floor (ms), "
          "measured before each round and at the end: " + " ".join(f"{t:.2f}" for t in m["floor_step_ms"]))
    print("peak RSS (ru_maxrss, grows only): " + ", ".join(f"{k} {v:.0f} MiB" for k, v in m["peak_rss_mib"].items()))
    if "evaluation" in m:
        e = m["evaluation"]
        print()
        print(f"evaluate(k={e['k']}, iwae_k={e['iwae_k']}) on {e['n']} test images (chunks of {e['max_rows']} rows): "
              f"{e['seconds']:.1f} s (-> {e['seconds_for_10k']:.0f} s for 10k); bare matmuls {e['floor_seconds']:.1f} s; "
              f"ratio {e['ratio_over_floor']:.2f}x (goal <= 1.5x)")
    if "step_variants_ms" in m:
        print()
        print(f"one training step, best of 3 interleaved passes (ms/step; bare-matmul floor {m['step_floor_ms']:.2f} ms):")
        base = None
        for name, ms in m["step_variants_ms"].items():
            if name == "compile_seconds" or name.startswith("batch prep"):
                continue
            base = ms if base is None else base
            extra = "" if ms is base else f"   ({ms - base:+.2f} ms vs fit's step)"
            print(f"  {name:<56} {ms:6.2f}{extra}")
        for name, ms in m["step_variants_ms"].items():
            if name.startswith("batch prep"):
                print(f"  {name:<56} {ms:6.3f}   (best of 5 x 200 batches)")
        if "compile_seconds" in m["step_variants_ms"]:
            print(f"  (torch.compile took {m['step_variants_ms']['compile_seconds']:.0f} s to compile)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating A/A'/B rounds (median is reported)")
    parser.add_argument("--n", type=int, default=60000, help="train on the first N images only (quick check)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of A and A' (pytorch/examples: 0 on CPU)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--data-root", default=None, help="data folder (default: $VAE_LIB_DATA)")
    parser.add_argument("--eval-n", type=int, default=100, help="test images for the evaluate benchmark (0: skip)")
    parser.add_argument("--eval-k", type=int, default=5000, help="importance samples of the evaluate benchmark")
    parser.add_argument("--variant-steps", type=int, default=60, help="steps per training-step variant (0: skip)")
    parser.add_argument("--try-compile", action="store_true", help="also time torch.compile of the loss (slow to compile)")
    parser.add_argument("--clock", default="auto", choices=("auto", "cpu", "wall"),
                        help="auto: process CPU time with one thread on the CPU (robust on a shared machine), else wall")
    args = parser.parse_args(argv)
    try:
        result = measure(args.rounds, args.n, args.device, args.workers, args.seed, args.data_root, args.eval_n,
                         args.eval_k, args.variant_steps, args.try_compile, args.clock)
    except ValueError as err:
        parser.error(str(err))
    print_report(result)


if __name__ == "__main__":
    main()
