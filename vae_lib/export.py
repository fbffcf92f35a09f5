"""Export shipped VAEs to a plain typed-array format that a web page can run without PyTorch.

The explorable figures of the book (``book/_static/explorables/``) run the encoder and decoder of
a trained VAE in the reader's browser. They read the weights from two files written here:

``<name>.json`` (the header, UTF-8 JSON)::

    {
      "format": "vae_lib-typed-arrays", "version": 1,
      "byte_order": "little",              # every number in the binary file is little-endian
      "binary": "<name>.bin",              # the data file, next to the header
      "model": {"x_dim": 784, "z_dim": 2, "hidden": [128], "likelihood": "bernoulli", ...},
      "encoder": {"layers": ["encoder_body.0"], "activation": "relu",
                  "mu": "to_mu", "logvar": "to_logvar"},
      "decoder": {"layers": ["decoder_net.0", "decoder_net.2"], "activation": "relu",
                  "output": "bernoulli_logits"},
      "tensors": {"encoder_body.0.weight": {"dtype": "float32", "shape": [128, 784],
                                            "offset": 0, "nbytes": 401408}, ...},
      "meta": {...}                        # where it came from (file, sha256, command, test scores)
    }

``<name>.bin``: the tensors one after another, each C-contiguous (row-major) at its ``offset``
(in bytes from the start of the file, a multiple of 8), ``nbytes`` long, of ``dtype``
``float32``, ``float16`` (IEEE 754 half), ``uint8`` or ``int32``.

The forward pass the header describes (``Linear(W, b): y = x W^T + b`` with ``W`` of shape
``[out, in]``, PyTorch's layout; ``relu(t) = max(t, 0)``):

* encoder ``q(z|x) = N(mu, diag exp(logvar))``: ``h = relu(L_n(... relu(L_1(x))))`` over
  ``encoder.layers`` (a ReLU after *every* layer, the last hidden one included), then
  ``mu = L_mu(h)`` and ``logvar = L_logvar(h)`` (no activation);
* decoder ``p(x|z) = Bernoulli(sigmoid(logits))``: ``logits = L_m(relu(... relu(L_1(z))))`` over
  ``decoder.layers`` (ReLU between layers, none after the last).

Float16 weights are rounded from the float32 checkpoint (``numpy.float16``, round to nearest even;
biases and the latent heads stay float32, see :func:`export_vae`);
a reader computes with them converted to float32 or float64. Arrays that are not weights (the
latent codes of test images shown behind the latent plane) use the same format with their own
``meta``: codes are quantized to ``uint8`` per axis, ``z = min + step * q``.

The latent diffusion prior of the 2-D VAE (chapter 12, :func:`export_prior`) is written the same
way (float32): ``model`` holds the :class:`~vae_lib.latent_diffusion.EpsilonMLP` config (``z_dim``,
``T``, ``hidden``, ``layers``, ``time_dim``, ``n_classes``), ``schedule`` the ``betas`` (a list of T
float64 numbers, beta_1 first), the tensors are the state dict. Its forward pass, with
``silu(a) = a / (1 + exp(-a))``, ``e_y`` the row y of ``label.weight`` (y = ``n_classes`` is "no
label") and the time features of step t, ``f_j = sin(1000 t/T w_j)``, ``f_{j+half} = cos(1000 t/T w_j)``,
``w_j = exp(-log(1000) j / half)``, ``half = time_dim / 2``::

    h = silu(L_inp([z, f]) + e_y);  h = h + silu(L_block_i(h) + e_y) for each block;  eps = L_out(h)

The model computes f in float32 (angles up to 1000 rad, rounded to ~6e-5); a page that computes them
in float64 differs by at most 5e-5 in f, which moved eps of the shipped prior by at most 4e-6 over
4000 random (z, t, y).

:func:`read_tensors` reads the files back and :func:`numpy_encode` / :func:`numpy_decode` run the
forward pass in NumPy; ``tests/test_export.py`` checks that they equal the PyTorch model.
``python -m vae_lib.export OUT_DIR`` writes the files the book's pages load.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from .models import VAE
from .flagship import RESULTS_DIR, load_flagship
from .train import load_checkpoint

__all__ = [
    "FORMAT", "DTYPES", "LATENT2D", "latent2d_path", "load_latent2d", "write_tensors", "read_tensors",
    "export_vae", "numpy_encode", "numpy_decode", "quantize_codes", "dequantize_codes", "export_codes",
    "export_prior", "export_book_models",
]

FORMAT = "vae_lib-typed-arrays"
VERSION = 1
ALIGN = 8  # byte alignment of every tensor (a JavaScript Float32Array/Float64Array view needs it)
DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2"), "uint8": np.dtype("u1"), "int32": np.dtype("<i4")}

#: The 2-D latent VAE of chapter 8's explorable figures: (file in vae_lib/results, sha256 of that file).
LATENT2D: tuple[str, str] = ("latent2d_mnist.pt", "ddb26cc3e16fcd23cae6a24647b1f88cba6fccd34398ecde843858b4b88de212")


def latent2d_path() -> Path:
    """Path of the shipped 2-D latent VAE (``vae_lib/results/latent2d_mnist.pt``)."""
    return RESULTS_DIR / LATENT2D[0]


def load_latent2d(device: str | torch.device = "cpu") -> VAE:
    """The shipped VAE with a 2-D latent space (784-128-(2x2), 2-128-784, Bernoulli decoder), in eval mode.

    Trained by ``python -m vae_lib train`` on dynamically binarized MNIST; ``model.extra["command"]``
    holds the exact command. The file's sha256 is checked first (when one is recorded in :data:`LATENT2D`).
    """
    path = latent2d_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall vae_lib from the book's repository (pip install -e .)")
    expected = LATENT2D[1]
    if expected:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise ValueError(f"{path} is damaged or not the shipped file (sha256 {digest[:12]}..., "
                             f"expected {expected[:12]}...); check out the file again")
    return load_checkpoint(path, map_location=device)


# ------------------------------------------------------------------------------------ the file format
def write_tensors(header_path: str | Path, tensors: Mapping[str, np.ndarray], header: Mapping[str, Any] | None = None) -> Path:
    """Write ``tensors`` (name -> array of a dtype in :data:`DTYPES`) to ``<stem>.bin`` and the JSON header.

    ``header`` holds extra top-level keys (``model``, ``encoder``, ``decoder``, ``meta``); the
    ``tensors`` table (dtype, shape, offset, nbytes) and the format keys are filled in here.
    """
    header_path = Path(header_path)
    header_path.parent.mkdir(parents=True, exist_ok=True)
    binary_path = header_path.with_suffix(".bin")
    table: dict[str, dict[str, Any]] = {}
    chunks: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        array = np.asarray(array)
        dtype_name = {v.str: k for k, v in DTYPES.items()}.get(array.dtype.newbyteorder("<").str)
        if dtype_name is None:
            raise ValueError(f"tensor {name!r} has dtype {array.dtype}; use one of {sorted(DTYPES)}")
        data = np.ascontiguousarray(array, dtype=DTYPES[dtype_name]).tobytes()
        pad = (-offset) % ALIGN
        chunks.append(b"\0" * pad)
        offset += pad
        table[name] = {"dtype": dtype_name, "shape": list(array.shape), "offset": offset, "nbytes": len(data)}
        chunks.append(data)
        offset += len(data)
    binary_path.write_bytes(b"".join(chunks))
    full = {"format": FORMAT, "version": VERSION, "byte_order": "little", "binary": binary_path.name,
            **dict(header or {}), "tensors": table}
    header_path.write_text(json.dumps(full, indent=1) + "\n", encoding="utf-8")
    return header_path


def read_tensors(header_path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a header and its binary file back: ``(header, {name: array})`` (arrays in their stored dtype)."""
    header_path = Path(header_path)
    header = json.loads(header_path.read_text(encoding="utf-8"))
    if header.get("format") != FORMAT or header.get("byte_order") != "little":
        raise ValueError(f"{header_path} is not a {FORMAT} header")
    raw = (header_path.parent / header["binary"]).read_bytes()
    arrays = {}
    for name, t in header["tensors"].items():
        dtype = DTYPES[t["dtype"]]
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        if t["offset"] % ALIGN or t["offset"] + t["nbytes"] > len(raw) or count * dtype.itemsize != t["nbytes"]:
            raise ValueError(f"{header_path}: tensor {name!r} does not fit the binary file")
        arrays[name] = np.frombuffer(raw, dtype=dtype, count=count, offset=t["offset"]).reshape(t["shape"])
    return header, arrays


# ------------------------------------------------------------------------------------- models
def export_vae(model: VAE, header_path: str | Path, dtype: str = "float32", meta: Mapping[str, Any] | None = None) -> Path:
    """Export an MLP VAE with a Bernoulli decoder (unconditional) to ``header_path`` + ``.bin``.

    ``dtype``: ``"float32"`` (exact) or ``"float16"``: the weight matrices of the encoder and decoder
    layers are rounded to half precision (half the bytes); biases and the ``to_mu``/``to_logvar`` heads
    (few numbers, but they move q(z|x) most) stay float32.
    """
    if model.arch != "mlp" or model.likelihood != "bernoulli" or model.n_classes is not None:
        raise ValueError("export_vae supports the unconditional MLP VAE with a Bernoulli decoder only")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if k != "decoder_logvar"}
    linear = lambda seq, prefix: [f"{prefix}.{i}" for i, m in enumerate(seq) if isinstance(m, torch.nn.Linear)]
    header = {
        "model": {**model.config, "prior": "standard_normal"},
        "encoder": {"layers": linear(model.encoder_body, "encoder_body"), "activation": "relu",
                    "mu": "to_mu", "logvar": "to_logvar"},
        "decoder": {"layers": linear(model.decoder_net, "decoder_net"), "activation": "relu",
                    "output": "bernoulli_logits"},
        "meta": dict(meta or {}),
    }
    def stored(name: str) -> np.dtype:
        # at float16 only the big hidden-layer matrices are rounded; biases and the latent heads stay float32
        head = name.startswith(("to_mu.", "to_logvar.")) or name.endswith(".bias")
        return DTYPES["float32"] if head else DTYPES[dtype]

    return write_tensors(header_path, {k: v.astype(stored(k)) for k, v in state.items()}, header)


def _linear(x: np.ndarray, arrays: Mapping[str, np.ndarray], layer: str) -> np.ndarray:
    w = arrays[f"{layer}.weight"].astype(np.float64)
    b = arrays[f"{layer}.bias"].astype(np.float64)
    return x @ w.T + b


def numpy_encode(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The encoder of an exported VAE in NumPy (float64): ``x [B, D] -> (mu [B, K], logvar [B, K])``."""
    h = np.asarray(x, dtype=np.float64)
    for layer in header["encoder"]["layers"]:
        h = np.maximum(_linear(h, arrays, layer), 0.0)
    return _linear(h, arrays, header["encoder"]["mu"]), _linear(h, arrays, header["encoder"]["logvar"])


def numpy_decode(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray], z: np.ndarray) -> np.ndarray:
    """The decoder of an exported VAE in NumPy (float64): ``z [..., K] -> Bernoulli logits [..., D]``."""
    h = np.asarray(z, dtype=np.float64)
    layers = header["decoder"]["layers"]
    for i, layer in enumerate(layers):
        h = _linear(h, arrays, layer)
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


# ------------------------------------------------------------------------- latent diffusion prior
def export_prior(model: Any, betas: torch.Tensor, header_path: str | Path,
                 meta: Mapping[str, Any] | None = None) -> Path:
    """Export an :class:`~vae_lib.latent_diffusion.EpsilonMLP` and its schedule (module docstring).

    ``betas [T]`` go into the header as float64 numbers (JSON keeps them exactly); the weights are
    float32. ``read_tensors`` + :func:`vae_lib.latent_diffusion.numpy_epsilon` run it back.
    """
    from .latent_diffusion import EpsilonMLP, cosine_betas

    if not isinstance(model, EpsilonMLP):
        raise TypeError(f"export_prior expects a vae_lib.latent_diffusion.EpsilonMLP, got {type(model).__name__}")
    if len(betas) != model.T:
        raise ValueError(f"export_prior: {len(betas)} betas for a model with T = {model.T}")
    state = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    betas64 = betas.to(torch.float64)
    cosine = torch.equal(betas64, cosine_betas(model.T, max_beta=float(betas64.max())))
    header = {
        "model": {**model.config(), "kind": "latent_diffusion_epsilon_mlp"},
        "schedule": {"name": "cosine" if cosine else "other", "max_beta": float(betas64.max()),
                     "betas": [float(b) for b in betas.to(torch.float64)],
                     "reverse_variance": "sigma_t^2 = beta_t", "no_label": model.n_classes},
        "network": {"input": "inp", "blocks": [f"blocks.{i}" for i in range(model.layers - 1)],
                    "label": "label" if model.n_classes else None, "output": "out", "activation": "silu",
                    "time_features": "sin, cos of 1000 t/T exp(-log(1000) j/half), j < half = time_dim/2"},
        "meta": dict(meta or {}),
    }
    return write_tensors(header_path, state, header)


# -------------------------------------------------------------------------------------- codes
def quantize_codes(z: np.ndarray) -> tuple[np.ndarray, list[float], list[float]]:
    """Per-axis uint8 quantization of codes ``z [N, K]``: ``(q, min, step)`` with ``z ~= min + step * q``
    (error at most ``step / 2`` per axis)."""
    z = np.asarray(z, dtype=np.float64)
    lo, hi = z.min(axis=0), z.max(axis=0)
    step = np.where(hi > lo, (hi - lo) / 255.0, 1.0)
    q = np.clip(np.rint((z - lo) / step), 0, 255).astype(np.uint8)
    return q, lo.tolist(), step.tolist()


def dequantize_codes(q: np.ndarray, lo: list[float], step: list[float]) -> np.ndarray:
    """Inverse of :func:`quantize_codes`: ``min + step * q``, float64 ``[N, K]``."""
    return np.asarray(lo) + np.asarray(step) * q.astype(np.float64)


def export_codes(model: VAE, x: torch.Tensor, labels: torch.Tensor, header_path: str | Path,
                 meta: Mapping[str, Any] | None = None, examples: torch.Tensor | None = None) -> Path:
    """Encoder means ``mu(x)`` of images ``x [N, 784]`` (binary), uint8-quantized, with their labels ``[N]``.

    ``examples [M, 784]`` (binary images, optional) are stored as ``uint8`` 0/1 under ``"examples"``.
    """
    with torch.no_grad():
        mu, _ = model.encode(x)
    q, lo, step = quantize_codes(mu.numpy())
    header = {"meta": {**dict(meta or {}), "n": int(len(q)), "quantization": {"min": lo, "step": step,
                                                                            "formula": "z = min + step * q"}}}
    tensors = {"codes": q, "labels": labels.numpy().astype(np.uint8)}
    if examples is not None:
        tensors["examples"] = examples.numpy().astype(np.uint8)
    return write_tensors(header_path, tensors, header)


def _source_meta(path: Path, model: VAE) -> dict[str, Any]:
    extra = getattr(model, "extra", {}) or {}
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "command": extra.get("command"), "test": extra.get("test")}


def export_book_models(out_dir: str | Path) -> list[Path]:
    """Write the weights the explorable figures load: ``latent2d.json/.bin`` (float32),
    ``flagship.json/.bin`` (the ``"mnist"`` flagship at float16) and ``latent2d_prior.json/.bin`` (the
    latent diffusion prior of the 2-D VAE, float32). Returns the header paths."""
    from .flagship import flagship_path
    from .latent_diffusion import SHIPPED, load_prior

    out_dir = Path(out_dir)
    latent = load_latent2d()
    flagship = load_flagship("mnist")
    prior, betas, prior_meta = load_prior(dataset="latent2d")
    prior_file = RESULTS_DIR / SHIPPED["latent2d"][0]
    return [
        export_vae(latent, out_dir / "latent2d.json", "float32", _source_meta(latent2d_path(), latent)),
        export_vae(flagship, out_dir / "flagship.json", "float16", _source_meta(flagship_path("mnist"), flagship)),
        export_prior(prior, betas, out_dir / "latent2d_prior.json",
                     {"file": prior_file.name, "sha256": SHIPPED["latent2d"][1], "command": prior_meta.get("command"),
                      "vae": latent2d_path().name}),
    ]


def _export_test_codes(out_dir: Path, n: int = 3000) -> Path:
    """Codes of the first ``n`` test images (binarized with seed 0, as ``python -m vae_lib train`` does)."""
    from . import data

    x, y = data.load_mnist("test")
    xb = data.dynamic_binarize(x, generator=torch.Generator().manual_seed(0))[:n]  # as the CLI's test set
    model = load_latent2d()
    first = [int((y == digit).nonzero()[0]) for digit in range(10)]  # the first test image of each digit
    meta = {"images": f"the first {n} MNIST test images, binarized once with seed 0", "source": latent2d_path().name,
            "examples": "the first test image of each digit 0-9, binarized with seed 0", "example_indices": first}
    full = data.dynamic_binarize(x, generator=torch.Generator().manual_seed(0))
    return export_codes(model, xb, y[:n], out_dir / "latent2d_codes.json", meta, examples=full[first])


def main(argv: list[str] | None = None) -> int:
    """``python -m vae_lib.export OUT_DIR [--codes]``: write the models (and with ``--codes`` the test codes)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m vae_lib.export OUT_DIR [--codes]", file=sys.stderr)
        return 2
    out = Path(argv[0])
    paths = export_book_models(out)
    if "--codes" in argv:
        paths.append(_export_test_codes(out))
    for p in paths:
        print(f"{p}  ({(p.with_suffix('.bin')).stat().st_size:,} bytes of data)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
