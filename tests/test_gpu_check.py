"""benchmarks/gpu_check.sh on a machine without CUDA: a clear message, exit status 0, nothing measured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(os.environ.get("VAE_LIB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the script runs the whole (minutes-long) check")
def test_gpu_check_without_cuda_exits_cleanly(tmp_path):
    json_path = tmp_path / "gpu_check.json"
    env = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_JSON=str(json_path))
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "no CUDA device here" in done.stdout and "nothing was measured" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not json_path.exists(), "no figures may be written without a GPU"


def test_gpu_check_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="MNIST not present in $VAE_LIB_DATA or ../shared/data")
def test_gpu_check_code_runs_on_the_cpu_in_miniature(tmp_path):
    # the measuring code itself (no GPU here), on 512 images and 20 test images: it must finish and
    # write every figure; the CPU ignores bf16 and compile, so the four modes all run eagerly
    json_path = tmp_path / "gpu_check.json"
    env = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_JSON=str(json_path), GPU_CHECK_DEVICE="cpu",
               GPU_CHECK_N="512", GPU_CHECK_EPOCHS="2", GPU_CHECK_EVAL_N="20", GPU_CHECK_EVAL_K="100",
               GPU_CHECK_SKIP_NOTEBOOKS="1")
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    import json

    report = json.loads(json_path.read_text())
    assert set(report["fit"]) == {"eager", "bf16 autocast", "torch.compile", "CUDA graphs (reduce-overhead)"}
    assert all(len(v["epoch_seconds"]) == 2 for v in report["fit"].values()), report["fit"]
    assert report["evaluate"]["n"] == 20 and report["evaluate"]["images_per_second"] > 0
    assert "best steady epoch" in done.stdout and "images/s" in done.stdout
