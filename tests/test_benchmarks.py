"""benchmarks/train_speed.py in miniature: it runs, its loops see the same data, its ratios are quotients."""

import math
import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_speed  # noqa: E402

SHARED_DATA = Path(os.environ.get("VAE_LIB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def test_faithful_and_flattered_datasets_serve_the_same_images():
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(5)
    transform, _ = train_speed.to_tensor_transform()
    faithful = train_speed.TorchvisionStyleMNIST(images, labels, transform)
    flattered = train_speed.MnistBytes(images, labels)
    for i in range(5):
        (a, ya), (b, yb) = faithful[i], flattered[i]
        assert a.shape == (1, 28, 28) and a.dtype == torch.float32 and ya == yb == i
        assert torch.equal(a, b) and torch.equal(a, images[i].float().div(255).unsqueeze(0))


def test_step_floor_counts_the_matmuls_a_step_needs():
    shapes = train_speed.linear_shapes(train_speed.ExampleVAE())
    _, flops = train_speed.step_matmuls(shapes, 128, torch.device("cpu"))
    weights = sum(i * o for i, o in shapes)
    first = shapes[0][0] * shapes[0][1]
    assert flops == 2 * 128 * (3 * weights - first)  # forward + weight grads + input grads but the first layer's


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="MNIST not present in $VAE_LIB_DATA or ../shared/data")
def test_train_speed_runs_in_miniature():
    pytest.importorskip("PIL")
    m = train_speed.measure(rounds=1, n=256, eval_n=4, eval_k=20, variant_steps=2)
    assert math.isclose(m["ratio_a_over_b"], m["median_a"] / m["median_b"])
    assert math.isclose(m["ratio_b_over_floor"], m["median_b"] / m["floor_seconds"])
    assert math.isclose(m["floor_seconds"], m["flops_per_epoch"] / (m["matmul_gflops"] * 1e9), rel_tol=1e-9)
    assert m["steps_per_epoch"] == 2 and m["evaluation"]["n"] == 4 and m["evaluation"]["floor_seconds"] > 0
    assert any(name.startswith("batch prep") for name in m["step_variants_ms"])
    assert m["clock"] in ("cpu", "wall")
