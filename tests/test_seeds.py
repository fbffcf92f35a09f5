"""vae_lib.seeds: every seed of the book passes through book_seed, shifted by VAE_BOOK_SEED_OFFSET."""

from __future__ import annotations

import pytest

from vae_lib import VaeLibError
from vae_lib.seeds import OFFSET_ENV, SEED_STRIDE, book_seed, seed_offset


def test_without_offset_the_book_keeps_its_own_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OFFSET_ENV, raising=False)
    assert [book_seed(n) for n in (0, 1, 1234)] == [0, 1, 1234]
    monkeypatch.setenv(OFFSET_ENV, " ")
    assert seed_offset() == 0 and book_seed(7) == 7


def test_an_offset_moves_every_seed_to_a_stream_no_other_offset_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[int, tuple[int, int]] = {}
    for offset in range(4):
        monkeypatch.setenv(OFFSET_ENV, str(offset))
        for n in (0, 1, 2, 1234, SEED_STRIDE - 1):
            s = book_seed(n)
            assert s == n + SEED_STRIDE * offset
            assert s not in seen, f"offset {offset}, seed {n} collides with {seen[s]}"
            seen[s] = (offset, n)


@pytest.mark.parametrize("raw", ["two", "1.5", "-3"])
def test_a_bad_offset_says_what_to_set(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(OFFSET_ENV, raw)
    with pytest.raises(VaeLibError, match=OFFSET_ENV):
        book_seed(0)


@pytest.mark.parametrize("n", [-1, SEED_STRIDE, 2.0, True, "0"])
def test_book_seed_takes_small_whole_numbers(monkeypatch: pytest.MonkeyPatch, n: object) -> None:
    monkeypatch.delenv(OFFSET_ENV, raising=False)
    with pytest.raises(VaeLibError, match="book_seed"):
        book_seed(n)  # type: ignore[arg-type]
