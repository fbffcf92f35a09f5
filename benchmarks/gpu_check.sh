#!/usr/bin/env bash
# The GPU check of vae_lib, in one run (about 8 minutes on one GPU for steps 1-3, then step 4):
#   1. one epoch of `fit` for the MLP VAE 784-400-20 (batch 128, 60k MNIST, the whole data set
#      on the device) in four modes: eager, bf16 autocast, torch.compile, and CUDA graphs
#      (torch.compile mode="reduce-overhead"); first epoch (with compilation) and steady epochs;
#   2. `evaluate` throughput of the flagship (k = 5000) on test images;
#   3. chapters 08 and 09 (English) executed on CUDA by nbval, with their asserts;
#   4. the full runs: every English chapter that reads VAE_BOOK_FULL (its `QUICK = False`
#      setting, the long training a learner is invited to try on a GPU) executed by nbval with
#      VAE_BOOK_FULL=1, with its asserts (time: see the printed seconds).
# It prints a table and writes the figures as JSON (GPU_CHECK_JSON, default gpu_check.json in
# $OUT if set, else in the current folder), to be copied into vae_lib/results/benchmarks.json.
#
# Without CUDA it says so and exits with status 0 having measured nothing (this is tested).
#
# Usage:  VAE_LIB_DATA=/path/to/data bash benchmarks/gpu_check.sh
# Environment: PYTHON (default python), GPU_CHECK_EPOCHS (default 3), GPU_CHECK_EVAL_N (default 2000),
#              GPU_CHECK_NOTEBOOK_TIMEOUT (seconds per chapter, default 150), GPU_CHECK_SKIP_NOTEBOOKS=1
#              (skips steps 3 and 4), GPU_CHECK_FULL_TIMEOUT (seconds per full-run chapter, default
#              1800), GPU_CHECK_SKIP_FULL=1 (skips step 4 only).
# For the test of this script on a CPU only: GPU_CHECK_DEVICE=cpu with small GPU_CHECK_N (training
# images), GPU_CHECK_EVAL_N and GPU_CHECK_EVAL_K runs the same code on the CPU (figures meaningless).
set -u
cd "$(dirname "$0")/.." || exit 1
PYTHON="${PYTHON:-python}"
JSON="${GPU_CHECK_JSON:-${OUT:-.}/gpu_check.json}"

DEVICE="${GPU_CHECK_DEVICE:-cuda}"
if [ "$DEVICE" = "cuda" ] && ! "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False, or torch does not import);"
    echo "gpu_check: nothing was measured. Run this script on a machine with an NVIDIA GPU."
    exit 0
fi

start=$(date +%s)
"$PYTHON" - "$JSON" "$DEVICE" <<'PY'
import json, os, statistics, sys, time, warnings

import torch

import vae_lib
from vae_lib.data import dynamic_binarize, load_mnist
from vae_lib.models import VAE
from vae_lib.train import fit

out_path, device = sys.argv[1], torch.device(sys.argv[2])
epochs = int(os.environ.get("GPU_CHECK_EPOCHS", "3"))
n_train = int(os.environ.get("GPU_CHECK_N", "60000"))
eval_n = int(os.environ.get("GPU_CHECK_EVAL_N", "2000"))
eval_k = int(os.environ.get("GPU_CHECK_EVAL_K", "5000"))
on_cuda = device.type == "cuda"
sync = torch.cuda.synchronize if on_cuda else (lambda: None)
name = torch.cuda.get_device_properties(device).name if on_cuda else "CPU (test run: figures meaningless)"
memory = torch.cuda.get_device_properties(device).total_memory / 2**30 if on_cuda else 0.0
report = {"gpu": name, "gpu_memory_gib": memory, "torch": torch.__version__, "cuda": torch.version.cuda,
          "date": time.strftime("%Y-%m-%d"), "n_train": n_train, "epochs_per_mode": epochs, "fit": {}}
print(f"gpu_check: {name}, {memory:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}")

x_train, _ = load_mnist("train")  # [60000, 784] in [0, 1]; fit moves it to the GPU once
x_train = x_train[:n_train]
modes = {"eager": {}, "bf16 autocast": {"bf16": True}, "torch.compile": {"compile": True},
         "CUDA graphs (reduce-overhead)": {"compile": "reduce-overhead"}}
print(f"\n{'mode':<32} {'first epoch (s)':>16} {'steady epoch (s)':>17} {'-ELBO last':>11}")
for name, options in modes.items():
    torch.manual_seed(0)
    model = VAE(x_dim=784, z_dim=20, hidden=(400,))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = fit(model, x_train, epochs=epochs, batch_size=128, lr=1e-3, device=device, seed=0,
                          progress=False, **options)
        sync()
        seconds = [row["seconds"] for row in history]
        steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        report["fit"][name] = {"epoch_seconds": seconds, "first_epoch_seconds": seconds[0],
                               "steady_epoch_seconds": steady, "train_elbo": history[-1]["train_elbo"]}
        print(f"{name:<32} {seconds[0]:>16.2f} {steady:>17.3f} {-history[-1]['train_elbo']:>11.2f}", flush=True)
    except Exception as err:  # one failing mode must not hide the others
        report["fit"][name] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
        print(f"{name:<32} failed: {report['fit'][name]['error']}", flush=True)
best = min((v["steady_epoch_seconds"] for v in report["fit"].values() if "steady_epoch_seconds" in v), default=None)
report["best_steady_epoch_seconds"] = best
if best is not None:
    print(f"best steady epoch: {best:.3f} s (target <= 0.5 s on an H100-class GPU: "
          f"{'met' if best <= 0.5 else 'not met'})")

flagship = vae_lib.load_flagship("mnist", device=device)
x_test, _ = load_mnist("test")
x_test = dynamic_binarize(x_test, generator=torch.Generator().manual_seed(0))[:eval_n]
vae_lib.evaluate(flagship, x_test[:100], k=100, device=device, progress=False)  # warm-up
sync()
result = vae_lib.evaluate(flagship, x_test, k=eval_k, iwae_k=50, device=device, progress=False)
sync()
rate = result["n"] / result["seconds"]
report["evaluate"] = {"n": result["n"], "k": eval_k, "seconds": result["seconds"], "images_per_second": rate,
                      "seconds_for_10k": 10_000 / rate, "nll": result["nll"], "nll_stderr": result["nll_stderr"]}
print(f"\nevaluate (flagship, k={eval_k}, iwae_k=50): {result['n']} images in {result['seconds']:.1f} s = "
      f"{rate:.0f} images/s -> {10_000 / rate:.0f} s for the 10k test set; NLL {result['nll']:.2f} "
      f"± {result['nll_stderr']:.2f} nats on these images")
with open(out_path, "w") as f:
    json.dump(report, f, indent=1)
print(f"figures written to {out_path}")
PY
status=$?

if [ "${GPU_CHECK_SKIP_NOTEBOOKS:-0}" != "1" ]; then
    limit="${GPU_CHECK_NOTEBOOK_TIMEOUT:-150}"
    for nb in chapters/en/08_training_a_vae.ipynb chapters/en/09_evaluating_and_extending.ipynb; do
        t0=$(date +%s)
        timeout "$((limit + 30))" "$PYTHON" -m pytest -p no:xdist -q -o addopts="" --nbval-lax --nbval-current-env \
            --nbval-cell-timeout="$limit" "$nb" > "/tmp/gpu_check_$(basename "$nb" .ipynb).log" 2>&1
        rc=$?
        echo "notebook $nb on CUDA: $([ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - t0 )) s" \
            "(log /tmp/gpu_check_$(basename "$nb" .ipynb).log)"
        tail -n 3 "/tmp/gpu_check_$(basename "$nb" .ipynb).log"
        [ $rc -eq 0 ] || status=1
    done
    if [ "${GPU_CHECK_SKIP_FULL:-0}" != "1" ]; then
        full_limit="${GPU_CHECK_FULL_TIMEOUT:-1800}"
        for nb in $(grep -l VAE_BOOK_FULL chapters/en/*.ipynb); do
            log="/tmp/gpu_check_full_$(basename "$nb" .ipynb).log"
            t0=$(date +%s)
            VAE_BOOK_FULL=1 timeout "$((full_limit + 30))" "$PYTHON" -m pytest -p no:xdist -q -o addopts="" \
                --nbval-lax --nbval-current-env --nbval-cell-timeout="$full_limit" "$nb" > "$log" 2>&1
            rc=$?
            echo "notebook $nb, full run (VAE_BOOK_FULL=1) on CUDA: $([ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)")" \
                "in $(( $(date +%s) - t0 )) s (log $log)"
            tail -n 3 "$log"
            [ $rc -eq 0 ] || status=1
        done
    fi
fi
echo "gpu_check: done in $(( $(date +%s) - start )) s, exit status $status"
exit $status
