"""The performance report of the book, in one run: every figure on the Results page comes from here.

1. Training speed (``train_speed.measure``): ``vae_lib.train.fit`` against the classic per-sample
   ``Dataset`` + ``DataLoader`` loop of pytorch/examples, batch 128, 60,000 MNIST images, and
   against the matmul FLOP floor; peak resident memory.
2. The flagship's evaluation: ``vae_lib.evaluate`` with k = 5000 importance samples on the
   10,000 test images (dynamically binarized MNIST, binarized once with seed 0), timed.
3. The book build: ``python -m book build`` in a fresh copy of the repository's tracked files
   (cold: no ``_build``, no notebook cache; MathJax is linked from this checkout's ``node_modules``),
   then again in the same copy (warm: every notebook comes from the cache).

The figures are printed and written to ``vae_lib/results/benchmarks.json`` (the Results page reads it
with ``vae_lib.load_benchmarks()``),
together with the machine they came from.

4. The GPU check (``benchmarks/gpu_check.sh``, run on a machine with CUDA): its JSON is merged
   with ``--gpu-json``; until then the report says that no GPU figure has been measured.

Usage::

    VAE_LIB_DATA=/path/to/data python benchmarks/report.py             # everything (about 20 min on 2 cores)
    python benchmarks/report.py --skip-build --rounds 1 --limit 500    # a quick look
    python benchmarks/report.py --only-train-speed                     # re-measure 1, keep the other figures
    python benchmarks/report.py --only-train-speed --gpu-json gpu_check.json   # ... and record the GPU check
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import train_speed  # noqa: E402

import vae_lib  # noqa: E402
from vae_lib.__main__ import load_dataset  # noqa: E402


def machine() -> dict:
    """CPU model, core count, memory, Python and torch versions: the figures mean little without these."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory_gib, "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
        "date": datetime.date.today().isoformat(),
    }


def flagship_evaluation(k: int, limit: int, data_root: str | None) -> dict:
    """Time ``vae_lib.evaluate`` of the shipped flagship on the MNIST test set (seed-0 binarization)."""
    model = vae_lib.load_flagship("mnist")
    _, _, x_test, _ = load_dataset("mnist", data_root, test_seed=0)
    if limit:
        x_test = x_test[:limit]
    result = vae_lib.evaluate(model, x_test, k=k, iwae_k=50, device="cpu", seed=0, progress=False)
    result["shipped_nll"] = model.extra["test"]["nll"]
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def book_build_times() -> dict:
    """Seconds of a cold and then a warm ``python -m book build`` in a temporary copy of the repository."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="vae-book-build-") as tmp:
        copy = Path(tmp) / "repo"
        for name in tracked.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, copy / name)
        if (ROOT / "node_modules").is_dir():
            (copy / "node_modules").symlink_to(ROOT / "node_modules")
        times = {}
        for kind in ("cold", "warm"):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "book", "build"], cwd=copy, capture_output=True, text=True)
            times[f"{kind}_seconds"] = time.perf_counter() - start
            if done.returncode != 0:
                raise RuntimeError(f"the {kind} book build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return times


NO_GPU = {"measured": False, "note": "not yet measured on a GPU: no GPU was lent to the session that wrote "
          "benchmarks/gpu_check.sh; run it on one and merge its JSON with --gpu-json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds of the training-speed benchmark")
    parser.add_argument("--k", type=int, default=5000, help="importance samples for the flagship evaluation")
    parser.add_argument("--limit", type=int, default=0, help="evaluate on the first N test images only (0: all 10,000)")
    parser.add_argument("--skip-build", action="store_true", help="leave out the cold and warm book builds")
    parser.add_argument("--data-root", default=None, help="data folder (default: $VAE_LIB_DATA, then the cache)")
    parser.add_argument("--out", default=str(ROOT / "vae_lib" / "results" / "benchmarks.json"))
    parser.add_argument("--only-train-speed", action="store_true",
                        help="measure only the training speed; keep the other figures of --out")
    parser.add_argument("--gpu-json", default=None, help="the JSON written by benchmarks/gpu_check.sh, to record")
    parser.add_argument("--eval-n", type=int, default=100,
                        help="test images of train_speed's evaluate-vs-floor benchmark (k = 5000)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.is_file() else {}
    gpu = json.loads(Path(args.gpu_json).read_text()) | {"measured": True} if args.gpu_json else \
        previous.get("gpu", NO_GPU)

    report: dict = {"machine": machine(), "command": "python benchmarks/report.py " + " ".join(argv or sys.argv[1:])}
    print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
    print("\n== 1. training speed ==")
    report["train_speed"] = train_speed.measure(rounds=args.rounds, data_root=args.data_root, eval_n=args.eval_n)
    train_speed.print_report(report["train_speed"])
    report["gpu"] = gpu
    if args.only_train_speed:
        kept = [key for key in ("flagship_evaluation", "book_build") if key in previous]
        for key in kept:
            report[key] = previous[key]
        if kept:  # those figures come from an earlier run, on the machine (threads, date) recorded here
            earlier = previous.get("kept_from_previous_report", {}).get("machine", previous.get("machine"))
            report["kept_from_previous_report"] = {"sections": kept, "machine": earlier}
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"written to {out} (training speed re-measured; the other figures kept from the previous report)")
        return 0

    print(f"\n== 2. flagship evaluation (k = {args.k}) ==")
    ev = flagship_evaluation(args.k, args.limit, args.data_root)
    report["flagship_evaluation"] = ev
    print(f"{ev['n']} test images, k = {ev['k']}: NLL {ev['nll']:.2f} ± {ev['nll_stderr']:.2f} nats "
          f"(shipped file says {ev['shipped_nll']:.2f}), -ELBO {-ev['elbo']:.2f}, -IWAE_50 {-ev['iwae']:.2f}; "
          f"{ev['seconds']:.1f} s ({ev['seconds'] / ev['n'] * 1000:.1f} ms per image); peak RSS {ev['peak_rss_mib']:.0f} MiB")

    if not args.skip_build:
        # The book shows this report (chapter 10), so the build being timed needs one: write the new
        # figures now, keeping the previous build times until the new ones are measured.
        if "book_build" not in previous:
            raise SystemExit(f"{out} has no book_build figures to show during the build; run once with --skip-build "
                             "and add them by hand, or restore the file from git")
        out.write_text(json.dumps({**report, "book_build": previous["book_build"]}, indent=1) + "\n")
        print("\n== 3. book build ==")
        report["book_build"] = book_build_times()
        print(f"cold {report['book_build']['cold_seconds']:.0f} s, warm {report['book_build']['warm_seconds']:.0f} s")

    ts = report["train_speed"]
    print("\n== summary ==")
    print(f"train speed: fit {ts['median_b']:.2f} s/epoch vs the faithful DataLoader loop {ts['median_a']:.2f} s/epoch "
          f"= {ts['ratio_a_over_b']:.2f}x (goal >= 3.5x); {ts['ratio_b_over_floor']:.2f}x the FLOP floor "
          f"{ts['floor_seconds']:.2f} s (goal <= 1.3x)")
    print(f"peak RSS: {max(max(ts['peak_rss_mib'].values()), ev['peak_rss_mib']):.0f} MiB")
    print(f"flagship evaluation: {ev['seconds']:.0f} s for {ev['n']} images at k = {ev['k']}")
    if "book_build" in report:
        print(f"book build: cold {report['book_build']['cold_seconds']:.0f} s, warm {report['book_build']['warm_seconds']:.0f} s")
    if args.skip_build and "book_build" in previous:  # keep the last measured build times, marked as such
        report["book_build"] = previous["book_build"]
        earlier = previous.get("kept_from_previous_report", {}).get("machine", previous.get("machine"))
        report["kept_from_previous_report"] = {"sections": ["book_build"], "machine": earlier}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
