"""Command line of the book.

  python -m book build [--edition ko|en]   both editions into _build/html
  python -m book sync-colab                rewrite the Colab set-up cell of every notebook
  python -m book student [--publish BRANCH] student and instructor notebooks into _build/{student,instructor}
  python -m book grade NOTEBOOK... [--csv F] run submitted student notebooks, report each check cell
  python -m book pdf [--edition ko|en]      _build/pdf/vae-book-{ko,en}.pdf (XeLaTeX)
  python -m book sweep [--offsets 1-20] [--chapter NN] [--edition ko|en]
                                           run chapters with every seed shifted; table of passes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="build both editions into _build/html")
    p_build.add_argument("--edition", choices=["ko", "en"], action="append",
                         help="build only this edition (repeatable); default: both")
    sub.add_parser("sync-colab", help="rewrite the Colab set-up cell of every notebook from _config.yml")
    p_student = sub.add_parser(
        "student", help="write the student edition (stubs, no solutions) and the instructor edition")
    p_student.add_argument("--out", type=Path, default=None,
                           help="output folder (default: _build); writes OUT/student/{ko,en} and OUT/instructor/{ko,en}")
    p_student.add_argument("--publish", metavar="BRANCH", default=None,
                           help="also commit OUT/student as the whole tree of BRANCH of this repository "
                                "(working tree and index untouched); then git push origin BRANCH")
    p_student.add_argument("--strict", action="store_true",
                           help="exit with status 1 if a coding exercise does not follow the convention")
    p_grade = sub.add_parser("grade", help="run submitted student notebooks and report which checks pass")
    p_grade.add_argument("notebooks", nargs="+", type=Path)
    p_grade.add_argument("--csv", type=Path, default=None, help="also write notebook,exercise,result rows here")
    p_pdf = sub.add_parser("pdf", help="typeset each edition as a PDF with XeLaTeX into _build/pdf")
    p_pdf.add_argument("--edition", choices=["ko", "en"], action="append",
                       help="only this edition (repeatable); default: both")
    p_sweep = sub.add_parser(
        "sweep", help="execute chapters with every seed of the book shifted (VAE_BOOK_SEED_OFFSET); "
                      "print a table per chapter of runs, passes and failing checks")
    p_sweep.add_argument("--offsets", default="1-3",
                         help="offsets to run, e.g. 1-20 or 1,4,9 (default: 1-3; 0 is the book's own seeds)")
    p_sweep.add_argument("--chapter", action="append", metavar="NN",
                         help="only this chapter, e.g. 05 (repeatable); default: every chapter")
    p_sweep.add_argument("--edition", choices=["ko", "en"], action="append",
                         help="only this edition (repeatable); default: both")
    p_sweep.add_argument("--jobs", type=int, default=None,
                         help="notebooks executed at once (default: one per CPU core)")
    p_sweep.add_argument("--timeout", type=int, default=1800, help="seconds a cell may run (default: 1800)")
    p_sweep.add_argument("--report", type=Path, default=None,
                         help="write the Markdown table here (default: _build/sweep.md)")
    args = parser.parse_args(argv)
    if args.command == "sweep":
        from book import sweep

        return sweep.main(editions=args.edition, chapters=args.chapter, offsets=args.offsets,
                          jobs=args.jobs, timeout=args.timeout, report=args.report)
    if args.command == "build":
        from book import build

        return build.main(editions=args.edition)
    if args.command == "student":
        from book import student

        return student.main(out=args.out, publish=args.publish, strict=args.strict)
    if args.command == "grade":
        from book import student

        return student.grade_main(args.notebooks, args.csv)
    if args.command == "pdf":
        from book import pdf

        return pdf.main(editions=args.edition)
    from book import sync_colab_cell

    changed = sync_colab_cell.sync_all()
    print(f"sync-colab: rewrote {len(changed)} notebook(s)" + "".join(f"\n  {p}" for p in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
