"""Helpers for the command-line tests (tests/test_errors.py, tests/test_cli_first_hour.py)."""

from __future__ import annotations

from vae_lib.__main__ import main


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``python -m vae_lib ARGS`` in-process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str) -> str:
    """The single ``error: ...`` line of stderr (fails on a traceback or more lines)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]
