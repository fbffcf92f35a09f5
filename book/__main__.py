"""Command line: ``python -m book build [--quiet]`` or ``python -m book sync-colab``."""

from __future__ import annotations

import argparse
import sys

from book import build, sync_colab_cell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="build both editions into _build/html")
    p_build.add_argument("--edition", choices=["ko", "en"], action="append",
                         help="build only this edition (repeatable); default: both")
    sub.add_parser("sync-colab", help="rewrite the Colab set-up cell of every notebook from _config.yml")
    args = parser.parse_args(argv)
    if args.command == "build":
        return build.main(editions=args.edition)
    changed = sync_colab_cell.sync_all()
    print(f"sync-colab: rewrote {len(changed)} notebook(s)" + "".join(f"\n  {p}" for p in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
