"""Random garbage fed to every file loader of vae_lib must give a clean ``VaeLibError``.

Seeded and bounded: 40 random files per loader (random lengths, random bytes, gzip-wrapped
garbage, truncations and byte flips of a real file), so the test is fast and reproducible.
A byte flip inside tensor data can leave a checkpoint loadable (torch does not checksum it);
then the loader must return a model, and in every other case raise ``VaeLibError``.
"""

from __future__ import annotations

import gzip
import hashlib
import random

import numpy as np
import pytest
import torch

from vae_lib import data, flagship
from vae_lib.errors import VaeLibError
from vae_lib.models import VAE
from vae_lib.train import load_checkpoint, save_checkpoint

N_CASES = 40


def garbage(rng: random.Random, good: bytes) -> tuple[str, bytes]:
    """One random file: (kind, bytes)."""
    kind = rng.choice(["random", "zip-header", "pickle-header", "gzip", "truncated", "flipped", "text"])
    if kind == "random":
        return kind, rng.randbytes(rng.randrange(0, 3000))
    if kind == "zip-header":
        return kind, b"PK\x03\x04" + rng.randbytes(rng.randrange(0, 500))
    if kind == "pickle-header":
        return kind, b"\x80\x02" + rng.randbytes(rng.randrange(0, 500))
    if kind == "gzip":
        return kind, gzip.compress(rng.randbytes(rng.randrange(0, 2000)))
    if kind == "truncated":
        return kind, good[: rng.randrange(0, len(good))]
    if kind == "flipped":
        blob = bytearray(good)
        for _ in range(rng.randrange(1, 20)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        return kind, bytes(blob)
    return kind, " ".join(rng.choice(["0", "1", "x", "\n"]) for _ in range(rng.randrange(0, 2000))).encode()


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> bytes:
    torch.manual_seed(0)
    path = save_checkpoint(VAE(x_dim=64, z_dim=2, hidden=(8,)), tmp_path_factory.mktemp("good") / "model.pt",
                           history=[{"epoch": 1, "train_elbo": -10.0}], extra={"dataset": "digits"})
    return path.read_bytes()


def _expect_clean(load, path, may_succeed: bool) -> None:
    try:
        result = load(path)
    except VaeLibError as err:
        message = str(err)
        assert message and "\n" not in message and "weights_only=False" not in message, message
        return
    assert may_succeed, f"{path.name}: garbage was accepted"
    assert isinstance(result, (VAE, np.ndarray))


def test_fuzz_checkpoint_loader(tmp_path, good_checkpoint):
    rng = random.Random(12)
    for i in range(N_CASES):
        kind, blob = garbage(rng, good_checkpoint)
        path = tmp_path / f"{i}-{kind}.pt"
        path.write_bytes(blob)
        _expect_clean(load_checkpoint, path, may_succeed=kind == "flipped")


def test_fuzz_flagship_loader(tmp_path, good_checkpoint, monkeypatch):
    # the flagship path: the sha256 matches (as for a file replaced together with its hash), the content is garbage
    rng = random.Random(13)
    monkeypatch.setattr(flagship, "RESULTS_DIR", tmp_path)
    for i in range(N_CASES):
        kind, blob = garbage(rng, good_checkpoint)
        (tmp_path / "fuzz.pt").write_bytes(blob)
        monkeypatch.setitem(flagship.FLAGSHIPS, "fuzz", ("fuzz.pt", hashlib.sha256(blob).hexdigest()))
        _expect_clean(lambda _: flagship.load_flagship("fuzz"), tmp_path / "fuzz.pt", may_succeed=kind == "flipped")
    # and a file that does not match its hash is refused before it is parsed
    monkeypatch.setitem(flagship.FLAGSHIPS, "fuzz", ("fuzz.pt", "0" * 64))
    with pytest.raises(VaeLibError, match="damaged or not the shipped file"):
        flagship.load_flagship("fuzz")


def _idx_like(rng: random.Random) -> bytes:
    """A valid IDX magic with random dimensions and a random body (mostly the wrong length)."""
    magic = rng.choice([2049, 2051])
    dims = [rng.randrange(0, 2**31) if rng.random() < 0.3 else rng.randrange(0, 30)
            for _ in range(1 if magic == 2049 else 3)]
    header = b"".join(int(v).to_bytes(4, "big") for v in (magic, *dims))
    return header + rng.randbytes(rng.randrange(0, 200))


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_fuzz_idx_parser(tmp_path, good_checkpoint, suffix):
    rng = random.Random(14 + len(suffix))
    for i in range(N_CASES):
        kind, blob = ("idx-like", _idx_like(rng)) if i % 3 == 0 else garbage(rng, good_checkpoint)
        if suffix and kind not in ("gzip",) and rng.random() < 0.5:
            blob = gzip.compress(blob)
        path = tmp_path / f"{i}-{kind}.idx{suffix}"
        path.write_bytes(blob)
        # a random body can be a valid IDX file only if its header matches its length; accept that
        _expect_clean(data.read_idx, path, may_succeed=kind == "idx-like")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_fuzz_amat_parser(tmp_path, good_checkpoint, suffix):
    rng = random.Random(16 + len(suffix))
    for i in range(N_CASES):
        if i % 4 == 0:  # nearly right: whole lines of 784 values with a few wrong characters
            lines = bytearray(b" ".join(b"1" if rng.random() < 0.5 else b"0" for _ in range(784)) + b"\n") * 3
            where = rng.randrange(len(lines))
            lines[where] = rng.choice([c for c in b"2x\t\n " if c != lines[where]])
            kind, blob = "near-amat", bytes(lines)
        else:
            kind, blob = garbage(rng, good_checkpoint)
        if suffix:
            blob = gzip.compress(blob) if rng.random() < 0.7 else blob
        path = tmp_path / f"{i}-{kind}.amat{suffix}"
        path.write_bytes(blob)
        _expect_clean(data._read_amat, path, may_succeed=False)
