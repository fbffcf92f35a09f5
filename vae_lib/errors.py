"""The one exception class of vae_lib for bad inputs and settings.

``VaeLibError`` subclasses ``ValueError`` (so ``except ValueError`` keeps working): it is raised
for anything the *caller* can fix — a bad argument, a corrupt file, a missing device — and its
message is one line that says what to do. The command line prints it as ``error: ...`` without a
traceback and exits with status 2.
"""

from __future__ import annotations

__all__ = ["VaeLibError", "CheckpointError"]


class VaeLibError(ValueError):
    """A bad input, setting or file, with a one-line message that says how to fix it."""


class CheckpointError(VaeLibError):
    """A file that is not a readable vae_lib checkpoint (corrupt, truncated, foreign or unsafe)."""
