"""Datasets for the VAE book: MNIST, statically binarized MNIST, 8x8 digits and 2-D toys.

Every loader returns ``torch`` tensors that are ready for in-memory batching:
images are flat float32 ``[N, D]`` in ``[0, 1]`` (``D = 784 = 28 * 28`` for MNIST),
labels are int64 ``[N]``.

Where the files live (first match wins):

1. the ``root`` argument,
2. the environment variable ``VAE_LIB_DATA``,
3. a per-user cache, ``$XDG_CACHE_HOME/vae_lib`` (default ``~/.cache/vae_lib``).

Inside it: ``<root>/mnist/*.gz`` (the original LeCun IDX files; files placed directly
in ``<root>`` are accepted too) and ``<root>/binarized-mnist/*.amat[.gz]``.
A missing file is downloaded from public mirrors (tried in order) and kept only after
its SHA-256 checksum matches. Files in a folder *you* chose (``root`` or ``VAE_LIB_DATA``)
are never overwritten: a bad checksum there is an error. Files in the automatic cache
are re-downloaded when corrupt.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .errors import VaeLibError

__all__ = [
    "DataNotFoundError", "default_data_dir", "read_idx", "write_idx", "load_mnist",
    "load_binarized_mnist", "load_digits_8x8", "dynamic_binarize", "train_valid_split",
    "make_two_moons", "make_gaussian_mixture",
]

ENV_VAR = "VAE_LIB_DATA"
DOWNLOAD_TIMEOUT = 30.0  # seconds, per network operation
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# This mirror serves the *uncompressed* .amat files.
BINARIZED_MIRRORS: tuple[str, ...] = (
    "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",
)
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
BINARIZED_SPLITS = ("train", "valid", "test")
# file name -> SHA-256 of its bytes. A plain ".amat" is checked against the hash of the
# gunzipped ".amat.gz" (the mirrors serve either; both hashes were computed from the published files).
CHECKSUMS: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "binarized_mnist_train.amat.gz": "af247bd6075cf9adc4715459dcd5f13eaa99a2c92d8d81379a05da94770b6c0e",
    "binarized_mnist_valid.amat.gz": "533b71bc0198f4d73c54ae5fe6c96fc08dc3cf1b3fae24c5521dbc0452507e38",
    "binarized_mnist_test.amat.gz": "32a3c54d03504632bf9f131b4a148c7567aa6fc87da017049b044bdc14c2a0f2",
    "binarized_mnist_train.amat": "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
    "binarized_mnist_valid.amat": "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
    "binarized_mnist_test.amat": "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
}
# Opens a URL (called as opener(url, timeout=...)) and returns a context manager with .read(n);
# tests replace it so that nothing but 127.0.0.1 is ever contacted.
_URL_OPENER: Callable[..., object] = urllib.request.urlopen
_VERIFIED: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, sha256) known good
_IDX_NDIM = {2049: 1, 2051: 3}  # magic number -> number of dimensions (labels, images)


class DataNotFoundError(FileNotFoundError):
    """No usable data files and no way to download them; the message says what to put where."""


# ----------------------------------------------------------------------------- files
def _resolve_root(root: str | os.PathLike | None) -> tuple[Path, bool]:
    """Return (data folder, chosen_by_user)."""
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a str or pathlib.Path, got {type(root).__name__}")
        return Path(root).expanduser(), True
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser(), True
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "vae_lib", False


def default_data_dir(root: str | os.PathLike | None = None) -> Path:
    """Data folder: ``root`` if given, else ``$VAE_LIB_DATA``, else ``$XDG_CACHE_HOME/vae_lib``
    (``~/.cache/vae_lib`` when XDG_CACHE_HOME is unset)."""
    return _resolve_root(root)[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path) -> str | None:
    """None if ``path`` matches ``CHECKSUMS``; otherwise the sha256 it has (result cached)."""
    expected = CHECKSUMS[path.name]
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if key in _VERIFIED:
        return None
    got = _sha256(path)
    if got != expected:
        return got
    _VERIFIED.add(key)
    return None


def _download(urls: Sequence[str], dest: Path) -> None:
    """Try each URL in order; keep ``dest`` only once its sha256 verifies. Raises OSError."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, _URL_OPENER(url, timeout=DOWNLOAD_TIMEOUT) as response:
                size = getattr(response, "headers", {}).get("Content-Length")
                with tqdm(total=int(size) if size else None, unit="B", unit_scale=True,
                          desc=dest.name, leave=False) as bar:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
            if digest.hexdigest() != CHECKSUMS[dest.name]:
                raise VaeLibError(f"checksum mismatch (expected sha256 {CHECKSUMS[dest.name]}, "
                                 f"got {digest.hexdigest()}; truncated or wrong file)")
            os.replace(tmp, dest)
            return
        except (OSError, ValueError, http.client.HTTPException) as err:
            errors.append(f"{url}: {err}")
        finally:
            Path(tmp).unlink(missing_ok=True)  # no half files, whatever happened
    raise OSError("all mirrors failed:\n    " + "\n    ".join(errors))


def _locate(candidates: Sequence[str], subdir: str, mirrors: Sequence[str],
            root: str | os.PathLike | None, download: bool) -> Path | str:
    """Find a verified file (any name in ``candidates``) or download it.

    Returns the path, or a string describing why the file cannot be had. The last
    candidate is the name the mirrors serve.
    """
    base, chosen = _resolve_root(root)
    corrupt = None
    for folder in (base / subdir, base):
        for name in candidates:
            path = folder / name
            if path.is_file():
                got = _check(path)
                if got is None:
                    return path
                if chosen:
                    raise VaeLibError(
                        f"checksum mismatch for {path}: expected sha256 {CHECKSUMS[name]}, got "
                        f"{got}. The file is corrupt or truncated: delete it or replace it with a "
                        f"good copy (the original file named {name}).")
                corrupt = corrupt or path
    problem = f"{corrupt} is corrupt (checksum mismatch)" if corrupt else "missing"
    if download and mirrors:
        dest = base / subdir / candidates[-1]
        try:
            _download([m + candidates[-1] for m in mirrors], dest)
        except OSError as err:
            return f"{problem}; download failed: {err}"
        if corrupt is not None and corrupt != dest:
            corrupt.unlink(missing_ok=True)
        return dest
    return problem + ("" if download else "; download=False")


def _not_found(what: str, folder: Path, names: Sequence[str], problems: Sequence[str]) -> str:
    listing = "\n".join(f"    {name}: {why}" for name, why in zip(names, problems))
    return (f"{what} is not available.\n{listing}\n"
            f"Put these files in {folder}{os.sep}:\n    " + "\n    ".join(names) +
            f"\nor set the environment variable {ENV_VAR} to a folder that has a "
            f"{folder.name}{os.sep} subfolder with them (or pass root=...).")


# ----------------------------------------------------------------------------- parsing
def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise VaeLibError(f"{path} is not a valid gzip file ({err}); delete it and retry") from err


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an MNIST IDX file (gzipped if the name ends in ``.gz``).

    Header: big-endian int32 magic (2051 = uint8 images, 2049 = uint8 labels), then one
    int32 per dimension. Returns uint8 ``[N, rows, cols]`` (images) or ``[N]`` (labels).
    """
    path = Path(path)
    data = _read_bytes(path)
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic not in _IDX_NDIM:
        raise VaeLibError(f"{path}: magic number {magic} is not MNIST IDX "
                         f"(2051 for images, 2049 for labels)")
    ndim = _IDX_NDIM[magic]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise VaeLibError(f"{path}: file too short for its IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(dims)):
        raise VaeLibError(f"{path}: header says dims {dims} ({int(np.prod(dims))} values) but "
                         f"the file holds {len(data) - header} values")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write uint8 ``[N, rows, cols]`` (magic 2051) or ``[N]`` (magic 2049) as IDX (.gz if named so)."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise VaeLibError(f"write_idx needs a uint8 array with 1 or 3 dims, got {array.dtype} "
                         f"with shape {array.shape}")
    magic = 2049 if array.ndim == 1 else 2051
    header = b"".join(int(v).to_bytes(4, "big") for v in (magic, *array.shape))
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array).tobytes())


def _read_amat(path: Path) -> np.ndarray:
    """Parse Larochelle's .amat text into a uint8 array [N, 784] of 0/1.

    Each line is exactly "d d ... d\\n": 784 digits 0/1 with single spaces, 1568 bytes, so
    the digits sit at the even byte positions of each line (no slow text parsing needed).
    """
    data = np.frombuffer(_read_bytes(path), dtype=np.uint8)
    line = 2 * 784
    rows = data.reshape(-1, line) if data.size and data.size % line == 0 else None
    if (rows is None or not (rows[:, 1:-1:2] == ord(" ")).all()
            or not (rows[:, -1] == ord("\n")).all()):
        raise VaeLibError(f"{path}: not in .amat layout (lines of 784 digits separated by "
                         f"single spaces)")
    bits = rows[:, 0::2] - ord("0")  # uint8: any other character ends up > 1
    if (bits > 1).any():
        raise VaeLibError(f"{path}: .amat values must be 0 or 1")
    return bits


# ----------------------------------------------------------------------------- loaders
def load_digits_8x8() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits: x float32 [1797, 64] in [0, 1] (pixel/16), y int64 [1797]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError("load_digits_8x8 needs scikit-learn: pip install scikit-learn") from err
    digits = load_digits()
    x = torch.from_numpy(digits.data.astype(np.float32) / np.float32(16.0))
    return x, torch.from_numpy(digits.target.astype(np.int64))


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, download: bool = True,
               fallback: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images x float32 [N, 784] in [0, 1] (pixel/255) and labels y int64 [N].

    N = 60000 for ``"train"``, 10000 for ``"test"`` (make a validation set with
    :func:`train_valid_split`). ``fallback=True``: if MNIST cannot be had, warn and return
    the 8x8 digits instead, x [N, 64] (the first 1500 for "train", the other 297 for "test").
    """
    if split not in MNIST_FILES:
        raise VaeLibError(f"split must be 'train' or 'test', got {split!r} "
                         f"(for a validation set use train_valid_split)")
    names = MNIST_FILES[split]
    try:
        found = [_locate([name], "mnist", MNIST_MIRRORS, root, download) for name in names]
        if any(isinstance(p, str) for p in found):
            problems = [p if isinstance(p, str) else "ok" for p in found]
            folder = default_data_dir(root) / "mnist"
            raise DataNotFoundError(_not_found(f"MNIST {split!r}", folder, names, problems))
    except DataNotFoundError as err:
        if not fallback:
            raise
        message = ("vae_lib: MNIST is not available; falling back to scikit-learn's 8x8 digits "
                   f"(x has 64 columns, not 784). Reason: {err}")
        warnings.warn(message, UserWarning, stacklevel=2)  # shown once (no extra print)
        x, y = load_digits_8x8()
        part = slice(0, 1500) if split == "train" else slice(1500, None)
        return x[part].clone(), y[part].clone()
    images, labels = read_idx(found[0]), read_idx(found[1])
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise VaeLibError(f"MNIST files have shapes {images.shape} and {labels.shape}; "
                         f"expected [N, 28, 28] images and [N] labels")
    if labels.size and labels.max() > 9:
        raise VaeLibError(f"{found[1]}: labels must be 0..9, found {labels.max()}")
    x = torch.from_numpy(images.reshape(len(images), 784).astype(np.float32) / np.float32(255))
    return x, torch.from_numpy(labels.astype(np.int64))


def load_binarized_mnist(split: str = "train", root: str | os.PathLike | None = None,
                         download: bool = True) -> torch.Tensor:
    """Statically binarized MNIST (Larochelle & Murray, 2011): float32 [N, 784] in {0, 1}.

    N = 50000 (train), 10000 (valid), 10000 (test). No labels. Reads
    ``binarized_mnist_<split>.amat.gz`` or the uncompressed ``.amat``.
    """
    if split not in BINARIZED_SPLITS:
        raise VaeLibError(f"split must be one of {BINARIZED_SPLITS}, got {split!r}")
    name = f"binarized_mnist_{split}.amat"
    found = _locate([name + ".gz", name], "binarized-mnist", BINARIZED_MIRRORS, root, download)
    if isinstance(found, str):
        folder = default_data_dir(root) / "binarized-mnist"
        raise DataNotFoundError(_not_found(f"Binarized MNIST {split!r}", folder,
                                           [f"{name}.gz (or {name})"], [found]))
    return torch.from_numpy(_read_amat(found).astype(np.float32))


# ----------------------------------------------------------------------------- tensors
def dynamic_binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fresh binary sample b ~ Bernoulli(x) elementwise, same shape as x (any shape, values in [0, 1])."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor of probabilities, got {x.dtype}")
    if not bool(((x >= 0) & (x <= 1)).all()):
        raise VaeLibError("x must hold probabilities in [0, 1] (divide pixel values by 255 first)")
    return torch.bernoulli(x, generator=generator)


def train_valid_split(x: torch.Tensor, y: torch.Tensor | None = None, n_valid: int = 10000,
                      seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random split of the N rows of x [N, ...] (and y [N]) into N - n_valid and n_valid rows.

    Returns (x_train, x_valid), or (x_train, y_train, x_valid, y_valid) when y is given.
    The permutation comes from ``torch.Generator().manual_seed(seed)``: same seed, same split.
    """
    if not isinstance(x, torch.Tensor) or (y is not None and not isinstance(y, torch.Tensor)):
        raise TypeError("x (and y, if given) must be torch.Tensor")
    if y is not None and len(y) != len(x):
        raise VaeLibError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if isinstance(n_valid, bool) or not isinstance(n_valid, (int, np.integer)):
        raise TypeError(f"n_valid must be an int, got {type(n_valid).__name__}")
    if not 0 < n_valid < len(x):
        raise VaeLibError(f"n_valid must be between 1 and len(x) - 1 = {len(x) - 1}, got {n_valid}")
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)).to(x.device)
    train, valid = perm[n_valid:], perm[:n_valid]
    if y is None:
        return x[train], x[valid]
    return x[train], y[train.to(y.device)], x[valid], y[valid.to(y.device)]


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n <= 0:
        raise VaeLibError(f"n must be a positive number of points, got {n}")


def make_two_moons(n: int = 1000, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles plus N(0, noise^2 I) noise: x float32 [n, 2], y int64 [n].

    Moon 0: (cos t, sin t); moon 1: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi];
    n // 2 points on moon 0, the rest on moon 1, rows shuffled.
    """
    _check_n(n)
    if noise < 0:
        raise VaeLibError(f"noise must be >= 0 (a standard deviation), got {noise}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)]).astype(np.int64)
    x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(n)
    return torch.from_numpy(x[order].astype(np.float32)), torch.from_numpy(y[order])


def make_gaussian_mixture(
    n: int = 1000,
    means: Sequence[Sequence[float]] = ((-2.0, -1.0), (2.0, -1.0), (0.0, 2.0)),
    stds: float | Sequence[float] = 0.5,
    weights: Sequence[float] | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample p(x) = sum_k w_k N(x; mu_k, s_k^2 I) in 2-D: x float32 [n, 2], component labels int64 [n].

    means: [K, 2]; stds: one number or K numbers (isotropic); weights: K numbers >= 0
    (normalised to sum 1; default uniform).
    """
    _check_n(n)
    mu = np.asarray(means, dtype=np.float64)
    if mu.ndim != 2 or mu.shape[1] != 2 or len(mu) == 0:
        raise VaeLibError(f"means must have shape [K, 2], got {mu.shape}")
    k = len(mu)
    s = np.asarray(stds, dtype=np.float64).reshape(-1)
    s = np.full(k, s[0]) if s.size == 1 else s
    if np.ndim(stds) > 1 or s.shape != (k,) or not (s > 0).all():
        raise VaeLibError(f"stds must be one positive number or {k} positive numbers, got {stds}")
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (k,) or (w < 0).any() or w.sum() <= 0:
        raise VaeLibError(f"weights must be {k} non-negative numbers with a positive sum, got {weights}")
    rng = np.random.default_rng(seed)
    labels = rng.choice(k, size=n, p=w / w.sum())
    x = mu[labels] + s[labels, None] * rng.standard_normal((n, 2))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))
