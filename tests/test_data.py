"""Tests for vae_lib.data.

Downloads are tested against a local HTTP server on 127.0.0.1 (or a fake opener); an
autouse fixture makes any other URL fail the test, so nothing here touches the internet.
Real-data tests use the shared offline copy of MNIST ($VAE_LIB_DATA or ../shared/data).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from vae_lib import data


def _find_real_root() -> Path | None:
    for candidate in (os.environ.get("VAE_LIB_DATA"), Path(__file__).parents[1].parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


REAL_ROOT = _find_real_root()  # computed before the autouse fixture clears VAE_LIB_DATA
needs_real_data = pytest.mark.skipif(
    REAL_ROOT is None, reason="shared MNIST files not found (set VAE_LIB_DATA=/path/to/shared/data)")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Private cache folder, no $VAE_LIB_DATA, no mirrors, and only 127.0.0.1 reachable."""
    monkeypatch.delenv("VAE_LIB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(data, "MNIST_MIRRORS", ())
    monkeypatch.setattr(data, "BINARIZED_MIRRORS", ())
    real_opener = data._URL_OPENER

    def local_only(url: str, timeout: float):
        if urllib.parse.urlsplit(url).hostname != "127.0.0.1":
            raise AssertionError(f"a test tried to reach the internet: {url}")
        return real_opener(url, timeout=timeout)

    monkeypatch.setattr(data, "_URL_OPENER", local_only)
    return tmp_path / "xdg" / "vae_lib"  # the cache folder data.default_data_dir() resolves to


@pytest.fixture
def server():
    """HTTP server on 127.0.0.1 serving ``files`` {url path: bytes}; 404 otherwise.

    Paths in ``truncate`` announce the full Content-Length but send only half the bytes.
    Every requested path is appended to ``requests``.
    """
    state = SimpleNamespace(files={}, truncate=set(), requests=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if self.path in state.truncate else body)

        def log_message(self, *args) -> None:  # keep pytest output quiet
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_port}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def make_mnist(folder: Path | None, monkeypatch: pytest.MonkeyPatch, split: str = "train",
               n: int = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, bytes]]:
    """Tiny random IDX .gz files for ``split``; registers their sha256 in data.CHECKSUMS.

    Writes them into ``folder`` unless it is None. Returns images, labels and {name: bytes}.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    blobs = {}
    for name, array in zip(data.MNIST_FILES[split], (images, labels)):
        magic = 2051 if array.ndim == 3 else 2049
        header = b"".join(int(v).to_bytes(4, "big") for v in (magic, *array.shape))
        blobs[name] = gzip.compress(header + array.tobytes(), mtime=0)
        monkeypatch.setitem(data.CHECKSUMS, name, _sha256(blobs[name]))
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(blobs[name])
    return images, labels, blobs


def amat_bytes(bits: np.ndarray) -> bytes:
    return b"".join(b" ".join(b"1" if v else b"0" for v in row) + b"\n" for row in bits)


def assert_mnist_equal(x: torch.Tensor, y: torch.Tensor, images: np.ndarray, labels: np.ndarray) -> None:
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (len(images), 784)
    torch.testing.assert_close(x * 255, torch.from_numpy(images.reshape(-1, 784).astype(np.float32)))
    assert torch.equal(y, torch.from_numpy(labels.astype(np.int64)))


# ----------------------------------------------------------------------------- IDX format
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_round_trip(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    data.write_idx(tmp_path / f"img{suffix}", images)
    data.write_idx(tmp_path / f"lab{suffix}", labels)
    np.testing.assert_array_equal(data.read_idx(tmp_path / f"img{suffix}"), images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / f"lab{suffix}"), labels)
    raw = (tmp_path / f"img{suffix}").read_bytes()
    raw = gzip.decompress(raw) if suffix else raw
    assert int.from_bytes(raw[:4], "big") == 2051 and int.from_bytes(raw[4:8], "big") == 5


def test_read_idx_refuses_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress((2050).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(3)))
    with pytest.raises(ValueError, match="magic number 2050"):
        data.read_idx(path)


def test_read_idx_refuses_wrong_size_and_non_gzip(tmp_path: Path) -> None:
    short = tmp_path / "short.gz"
    header = b"".join(v.to_bytes(4, "big") for v in (2051, 4, 28, 28))
    short.write_bytes(gzip.compress(header + bytes(28 * 28 * 3)))  # one image missing
    with pytest.raises(ValueError, match="header says dims"):
        data.read_idx(short)
    fake = tmp_path / "fake.gz"
    fake.write_bytes(b"this is not gzip data")
    with pytest.raises(ValueError, match="not a valid gzip"):
        data.read_idx(fake)


# ----------------------------------------------------------------------------- folders
def test_default_data_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated: Path) -> None:
    assert data.default_data_dir() == isolated
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path / "env"))
    assert data.default_data_dir() == tmp_path / "env"
    assert data.default_data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("VAE_LIB_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_data_dir() == tmp_path / "home" / ".cache" / "vae_lib"


# ----------------------------------------------------------------------------- MNIST from files
def test_load_mnist_from_synthetic_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    images, labels, _ = make_mnist(tmp_path / "mnist", monkeypatch, "test", n=9)
    x, y = data.load_mnist("test", root=tmp_path, download=False)
    assert_mnist_equal(x, y, images, labels)
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_load_mnist_accepts_files_directly_in_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    images, labels, _ = make_mnist(tmp_path, monkeypatch, "train", n=4)
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))
    assert_mnist_equal(*data.load_mnist("train", download=False), images, labels)


def test_explicit_root_checksum_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    make_mnist(tmp_path / "mnist", monkeypatch, "train")
    name = data.MNIST_FILES["train"][0]
    good = data.CHECKSUMS[name]
    blob = (tmp_path / "mnist" / name).read_bytes()
    (tmp_path / "mnist" / name).write_bytes(blob[:-10])  # truncated
    with pytest.raises(ValueError, match="checksum mismatch") as info:
        data.load_mnist("train", root=tmp_path)
    assert good in str(info.value) and _sha256(blob[:-10]) in str(info.value)
    assert (tmp_path / "mnist" / name).read_bytes() == blob[:-10]  # the user's file is left alone


# ----------------------------------------------------------------------------- downloads
def test_download_tries_mirrors_in_order_then_uses_cache(monkeypatch: pytest.MonkeyPatch, server,
                                                          isolated: Path) -> None:
    images, labels, blobs = make_mnist(None, monkeypatch, "train")
    server.files = {f"/second/{name}": blob for name, blob in blobs.items()}
    monkeypatch.setattr(data, "MNIST_MIRRORS", (server.url + "/first/", server.url + "/second/"))
    assert_mnist_equal(*data.load_mnist("train"), images, labels)
    img, lab = data.MNIST_FILES["train"]
    assert server.requests == [f"/first/{img}", f"/second/{img}", f"/first/{lab}", f"/second/{lab}"]
    assert sorted(p.name for p in (isolated / "mnist").iterdir()) == sorted(blobs)
    assert_mnist_equal(*data.load_mnist("train"), images, labels)
    assert len(server.requests) == 4  # second call: verified cache, no download


def test_corrupted_cached_file_is_redownloaded(monkeypatch: pytest.MonkeyPatch, server, isolated: Path) -> None:
    images, labels, blobs = make_mnist(isolated / "mnist", monkeypatch, "train")
    name = data.MNIST_FILES["train"][0]
    (isolated / "mnist" / name).write_bytes(blobs[name][: len(blobs[name]) // 2])
    server.files = {f"/m/{name}": blobs[name]}
    monkeypatch.setattr(data, "MNIST_MIRRORS", (server.url + "/m/",))
    assert_mnist_equal(*data.load_mnist("train"), images, labels)
    assert (isolated / "mnist" / name).read_bytes() == blobs[name]
    assert server.requests == [f"/m/{name}"]  # the good labels file was not fetched again


def test_corrupted_cache_without_download_says_corrupt(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    _, _, blobs = make_mnist(isolated / "mnist", monkeypatch, "train")
    name = data.MNIST_FILES["train"][1]
    (isolated / "mnist" / name).write_bytes(b"garbage")
    with pytest.raises(data.DataNotFoundError, match="corrupt") as info:
        data.load_mnist("train", download=False)
    assert str(isolated / "mnist") in str(info.value) and name in str(info.value)


@pytest.mark.parametrize("download", [True, False])
def test_offline_without_files_names_files_and_folder(monkeypatch: pytest.MonkeyPatch, server,
                                                       tmp_path: Path, download: bool) -> None:
    monkeypatch.setattr(data, "MNIST_MIRRORS", (server.url + "/nothing/",))  # every file 404s
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_mnist("test", root=tmp_path / "d", download=download)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert all(name in message for name in data.MNIST_FILES["test"])
    assert str(tmp_path / "d" / "mnist") in message and "VAE_LIB_DATA" in message
    assert ("HTTP Error 404" in message) == download
    assert len(server.requests) == (2 if download else 0)


def test_truncated_download_leaves_no_partial_file(monkeypatch: pytest.MonkeyPatch, server, isolated: Path) -> None:
    _, _, blobs = make_mnist(None, monkeypatch, "train", n=50)
    server.files = {f"/m/{name}": blob for name, blob in blobs.items()}
    server.truncate = set(server.files)
    monkeypatch.setattr(data, "MNIST_MIRRORS", (server.url + "/m/",))
    with pytest.raises(data.DataNotFoundError, match="checksum mismatch"):
        data.load_mnist("train")
    assert list((isolated / "mnist").iterdir()) == []


def test_opener_failing_mid_stream_leaves_no_partial_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name = "binarized_mnist_valid.amat"
    folder = tmp_path / "binarized-mnist"
    seen_part_files = []

    class Broken:
        headers = {"Content-Length": "1000"}
        reads = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            pass

        def read(self, n: int) -> bytes:
            self.reads += 1
            if self.reads == 1:
                return b"0 1 " * 100
            seen_part_files.extend(p.name for p in folder.iterdir())
            raise ConnectionResetError("connection lost mid-stream")

    monkeypatch.setattr(data, "_URL_OPENER", lambda url, timeout: Broken())
    monkeypatch.setattr(data, "BINARIZED_MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(data.DataNotFoundError, match="connection lost mid-stream"):
        data.load_binarized_mnist("valid", root=tmp_path)
    assert len(seen_part_files) == 1 and seen_part_files[0].startswith(name)  # a partial file existed
    assert list(folder.iterdir()) == []  # ... and was removed


# ----------------------------------------------------------------------------- binarized
@pytest.mark.parametrize("gz", [True, False])
def test_binarized_from_synthetic_amat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gz: bool) -> None:
    bits = np.random.default_rng(2).random((6, 784)) < 0.3
    blob = amat_bytes(bits)
    name = "binarized_mnist_test.amat" + (".gz" if gz else "")
    blob = gzip.compress(blob) if gz else blob
    (tmp_path / "binarized-mnist").mkdir()
    (tmp_path / "binarized-mnist" / name).write_bytes(blob)
    monkeypatch.setitem(data.CHECKSUMS, name, _sha256(blob))
    x = data.load_binarized_mnist("test", root=tmp_path, download=False)
    assert x.dtype == torch.float32 and x.shape == (6, 784)
    assert torch.equal(x, torch.from_numpy(bits.astype(np.float32)))


def test_binarized_download_of_plain_amat(monkeypatch: pytest.MonkeyPatch, server, isolated: Path) -> None:
    bits = np.random.default_rng(3).random((4, 784)) < 0.5
    blob = amat_bytes(bits)
    server.files = {"/bin/binarized_mnist_train.amat": blob}
    monkeypatch.setitem(data.CHECKSUMS, "binarized_mnist_train.amat", _sha256(blob))
    monkeypatch.setattr(data, "BINARIZED_MIRRORS", (server.url + "/bin/",))
    assert torch.equal(data.load_binarized_mnist("train"), torch.from_numpy(bits.astype(np.float32)))
    assert (isolated / "binarized-mnist" / "binarized_mnist_train.amat").read_bytes() == blob


def test_corrupt_cached_amat_gz_is_replaced_by_downloaded_amat(monkeypatch: pytest.MonkeyPatch, server,
                                                               isolated: Path) -> None:
    bits = np.random.default_rng(4).random((3, 784)) < 0.5
    blob = amat_bytes(bits)
    folder = isolated / "binarized-mnist"
    folder.mkdir(parents=True)
    (folder / "binarized_mnist_test.amat.gz").write_bytes(gzip.compress(blob)[:-8])  # truncated
    monkeypatch.setitem(data.CHECKSUMS, "binarized_mnist_test.amat.gz", _sha256(gzip.compress(blob)))
    monkeypatch.setitem(data.CHECKSUMS, "binarized_mnist_test.amat", _sha256(blob))
    server.files = {"/bin/binarized_mnist_test.amat": blob}
    monkeypatch.setattr(data, "BINARIZED_MIRRORS", (server.url + "/bin/",))
    expected = torch.from_numpy(bits.astype(np.float32))
    assert torch.equal(data.load_binarized_mnist("test"), expected)
    assert [p.name for p in folder.iterdir()] == ["binarized_mnist_test.amat"]  # bad .gz removed
    assert torch.equal(data.load_binarized_mnist("test", download=False), expected)


@pytest.mark.parametrize("text", [b"0 1 2\n", (b"0 " * 783 + b"1\n") * 2 + b"0 1\n", b"",
                                  b"0 " * 783 + b"2\n", b"0," * 783 + b"1\n"])
def test_malformed_amat_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: bytes) -> None:
    (tmp_path / "binarized_mnist_valid.amat").write_bytes(text)
    monkeypatch.setitem(data.CHECKSUMS, "binarized_mnist_valid.amat", _sha256(text))
    with pytest.raises(ValueError, match="amat"):
        data.load_binarized_mnist("valid", root=tmp_path)


# ----------------------------------------------------------------------------- fallback
def test_fallback_returns_digits_with_visible_warning(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="8x8 digits"):
        x, y = data.load_mnist("train", root=tmp_path, download=False, fallback=True)
    digits_x, digits_y = data.load_digits_8x8()
    assert x.shape == (1500, 64) and torch.equal(x, digits_x[:1500]) and torch.equal(y, digits_y[:1500])
    with pytest.warns(UserWarning):
        x_test, _ = data.load_mnist("test", root=tmp_path, download=False, fallback=True)
    assert x_test.shape == (297, 64)


def test_fallback_warning_is_shown_once(tmp_path: Path) -> None:
    # a user running a script sees the fallback message once on stderr (it was printed and warned: twice)
    import subprocess
    import sys

    code = ("from vae_lib import data; "
            f"data.load_mnist('train', root={str(tmp_path)!r}, download=False, fallback=True)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("falling back") == 1, done.stderr


def test_load_digits_8x8() -> None:
    x, y = data.load_digits_8x8()
    assert x.shape == (1797, 64) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert torch.equal(torch.unique(y), torch.arange(10))


# ----------------------------------------------------------------------------- real data
@needs_real_data
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_real_mnist(split: str, n: int) -> None:
    x, y = data.load_mnist(split, root=REAL_ROOT, download=False)
    assert x.shape == (n, 784) and x.dtype == torch.float32 and y.shape == (n,) and y.dtype == torch.int64
    assert x.min() == 0.0 and x.max() == 1.0
    counts = torch.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.sum() == n and counts.min() > n // 20
    assert 0.1 < x.mean() < 0.15  # MNIST is mostly background (mean pixel about 0.13)


@needs_real_data
@pytest.mark.parametrize("split,n", [("train", 50000), ("valid", 10000), ("test", 10000)])
def test_real_binarized_mnist(split: str, n: int) -> None:
    x = data.load_binarized_mnist(split, root=REAL_ROOT, download=False)
    assert x.shape == (n, 784) and x.dtype == torch.float32
    ones = (x == 1).sum().item()
    assert (x == 0).sum().item() + ones == x.numel()  # only 0s and 1s
    assert 0.1 < ones / x.numel() < 0.16  # mostly background, like MNIST


# ----------------------------------------------------------------------------- tensors
def test_dynamic_binarize_is_a_bernoulli_sample() -> None:
    x = torch.rand(400, 500, generator=torch.Generator().manual_seed(0)) ** 2  # mean 1/3, skewed
    b = data.dynamic_binarize(x, generator=torch.Generator().manual_seed(1))
    assert b.shape == x.shape and b.dtype == x.dtype
    assert torch.equal(torch.unique(b), torch.tensor([0.0, 1.0]))
    se = (x * (1 - x)).sum().sqrt() / x.numel()  # standard error of b.mean() given x
    assert abs(b.mean() - x.mean()) < 4 * se, (b.mean(), x.mean(), se)
    low = x < 0.1  # pixels with small probability must be mostly 0
    assert b[low].mean() < 0.1 and b[x > 0.9].mean() > 0.9
    assert torch.equal(data.dynamic_binarize(x, torch.Generator().manual_seed(1)), b)
    assert not torch.equal(data.dynamic_binarize(x, torch.Generator().manual_seed(2)), b)


def test_train_valid_split() -> None:
    x = torch.arange(100, dtype=torch.float32).unsqueeze(1).repeat(1, 3)
    y = torch.arange(100)
    x_tr, y_tr, x_va, y_va = data.train_valid_split(x, y, n_valid=30, seed=5)
    assert x_tr.shape == (70, 3) and x_va.shape == (30, 3) and len(y_tr) == 70 and len(y_va) == 30
    assert torch.equal(x_tr[:, 0].long(), y_tr) and torch.equal(x_va[:, 0].long(), y_va)  # pairs kept
    assert set(y_tr.tolist()).isdisjoint(y_va.tolist())
    assert sorted(y_tr.tolist() + y_va.tolist()) == list(range(100))
    assert not torch.equal(y_va, torch.arange(30))  # shuffled, not the first rows
    again = data.train_valid_split(x, n_valid=30, seed=5)
    assert len(again) == 2 and torch.equal(again[1], x_va)
    assert not torch.equal(data.train_valid_split(x, n_valid=30, seed=6)[1], x_va)


def test_two_moons() -> None:
    x, y = data.make_two_moons(301, noise=0.1, seed=3)
    assert x.shape == (301, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [150, 151]
    x2, y2 = data.make_two_moons(301, noise=0.1, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, data.make_two_moons(301, noise=0.1, seed=4)[0])
    clean, label = data.make_two_moons(200, noise=0.0)
    radius = torch.where(label == 0, clean.norm(dim=1), (clean - torch.tensor([1.0, 0.5])).norm(dim=1))
    torch.testing.assert_close(radius, torch.ones(200))  # points lie on their unit half circles


def test_gaussian_mixture_matches_its_parameters() -> None:
    means, stds, weights = [(-3.0, 0.0), (3.0, 1.0), (0.0, 4.0)], [0.5, 1.0, 0.25], [0.2, 0.3, 0.5]
    n = 20000
    x, y = data.make_gaussian_mixture(n, means, stds, weights, seed=0)
    assert x.shape == (n, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    for k in range(3):
        count = (y == k).sum().item()
        assert abs(count / n - weights[k]) < 4 * np.sqrt(weights[k] * (1 - weights[k]) / n)
        mean_k = x[y == k].mean(0)
        assert (mean_k - torch.tensor(means[k])).abs().max() < 4 * stds[k] / np.sqrt(count)
        assert ((x[y == k].std(0) - stds[k]).abs() < 0.05 * stds[k]).all()  # isotropic spread
    assert torch.equal(x, data.make_gaussian_mixture(n, means, stds, weights, seed=0)[0])
    assert not torch.equal(x, data.make_gaussian_mixture(n, means, stds, weights, seed=1)[0])


# ----------------------------------------------------------------------------- bad input
BAD_INPUTS = [
    (lambda: data.load_mnist("valid"), ValueError, "train_valid_split"),
    (lambda: data.load_binarized_mnist("validation"), ValueError, "split must be one of"),
    (lambda: data.default_data_dir(3), TypeError, "root must be a str"),
    (lambda: data.write_idx("x.idx", np.zeros((2, 2), np.float32)), ValueError, "uint8"),
    (lambda: data.dynamic_binarize(np.ones(3)), TypeError, "torch.Tensor"),
    (lambda: data.dynamic_binarize(torch.ones(3, dtype=torch.long)), TypeError, "floating-point"),
    (lambda: data.dynamic_binarize(torch.tensor([0.5, 255.0])), ValueError, r"\[0, 1\]"),
    (lambda: data.dynamic_binarize(torch.tensor([float("nan")])), ValueError, r"\[0, 1\]"),
    (lambda: data.train_valid_split(torch.zeros(10, 2), n_valid=10), ValueError, "between 1 and"),
    (lambda: data.train_valid_split(torch.zeros(10, 2), n_valid=0), ValueError, "between 1 and"),
    (lambda: data.train_valid_split(torch.zeros(10, 2), n_valid=2.5), TypeError, "n_valid must be an int"),
    (lambda: data.train_valid_split(torch.zeros(10, 2), torch.zeros(9)), ValueError, "same length"),
    (lambda: data.make_two_moons(0), ValueError, "positive"),
    (lambda: data.make_two_moons(10.0), TypeError, "n must be an int"),
    (lambda: data.make_two_moons(10, noise=-0.1), ValueError, "noise"),
    (lambda: data.make_gaussian_mixture(10, means=[(0, 0, 0)]), ValueError, r"shape \[K, 2\]"),
    (lambda: data.make_gaussian_mixture(10, means=[(0, 0), (1, 1)], stds=[1, 1, 1]), ValueError, "stds"),
    (lambda: data.make_gaussian_mixture(10, stds=-1.0), ValueError, "positive"),
    (lambda: data.make_gaussian_mixture(10, weights=[1, -1, 1]), ValueError, "non-negative"),
]


@pytest.mark.parametrize("call,error,match", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()
