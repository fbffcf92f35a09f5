"""The book's seeds: every seed a chapter uses passes through :func:`book_seed`.

A learner on another machine (Colab's GPU, another torch or numpy build) draws other random
numbers than CI does. To test the book under such streams, every seed in a chapter is written
``book_seed(n)``: it is ``n`` itself unless the environment variable ``VAE_BOOK_SEED_OFFSET``
holds an integer ``o``, and then ``n + SEED_STRIDE * o``. ``python -m book sweep`` runs the
chapters under many offsets; every check must pass under each of them.
"""

from __future__ import annotations

import os

from .errors import VaeLibError

#: Name of the environment variable that shifts every seed of the book.
OFFSET_ENV = "VAE_BOOK_SEED_OFFSET"
#: Distance between the seeds of two offsets: the book's own seeds are all below it, so the
#: shifted seeds of one offset never coincide with the seeds of another.
SEED_STRIDE = 10_000


def seed_offset() -> int:
    """The offset o from ``VAE_BOOK_SEED_OFFSET`` (0 when unset or empty)."""
    raw = os.environ.get(OFFSET_ENV, "").strip()
    if not raw:
        return 0
    try:
        offset = int(raw)
    except ValueError:
        raise VaeLibError(
            f"{OFFSET_ENV}={raw!r} is not an integer: set it to a whole number such as 3, "
            "or unset it to use the book's own seeds"
        ) from None
    if offset < 0:
        raise VaeLibError(f"{OFFSET_ENV}={offset} is negative: use 0 or a positive integer")
    return offset


def book_seed(n: int) -> int:
    """Seed number ``n`` of the book, shifted: ``n + SEED_STRIDE * o`` (o = the offset, usually 0)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < SEED_STRIDE:
        raise VaeLibError(f"book_seed takes a whole number in [0, {SEED_STRIDE}), got {n!r}")
    return n + SEED_STRIDE * seed_offset()
