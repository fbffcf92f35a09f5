"""The progress bar in an executed notebook (issue 19): a viewer without widgets shows the plain-text
fallback of the bar's output, which must read 100 % once training finished (it read ``0%| | 0/3276``);
``TQDM_DISABLE=1`` turns the bar off in a notebook too (tqdm's widget ignores the variable)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

CODE = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import torch
import vae_lib
torch.manual_seed(0)
model = vae_lib.VAE(x_dim=64, z_dim=2, hidden=(8,))
x = torch.rand(256, 64, generator=torch.Generator().manual_seed(0))
history = vae_lib.fit(model, x, epochs=2, batch_size=32, device="cpu", progress="auto")
"""


def _run(tqdm_disable: str | None) -> list[dict]:
    pytest.importorskip("ipywidgets")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE)])
    env_before = os.environ.get("TQDM_DISABLE")
    if tqdm_disable is None:
        os.environ.pop("TQDM_DISABLE", None)
    else:
        os.environ["TQDM_DISABLE"] = tqdm_disable
    try:  # the kernel inherits this process's environment
        NotebookClient(nb, timeout=300, kernel_name="python3", extra_arguments=["--IPKernelApp.log_level=ERROR"],
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = env_before
    return nb.cells[0].outputs


def test_the_bars_text_fallback_shows_the_finished_state() -> None:
    outputs = _run(None)
    bars = [o for o in outputs if o.get("output_type") == "display_data"
            and "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(bars) == 1, outputs
    text = bars[0]["data"]["text/plain"]
    assert "100%" in text and "16/16" in text, text  # 2 epochs x 8 steps
    assert not any("0%|" in o.get("data", {}).get("text/plain", "") and "100%" not in o["data"]["text/plain"]
                   for o in outputs if "data" in o)


def test_tqdm_disable_turns_the_notebook_bar_off() -> None:
    outputs = _run("1")
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})], outputs
