"""Insert (or update) the Markdown cell of each explorable figure in the chapter notebooks.

``python book/explorable_cells.py`` (or ``python -m book.explorable_cells``; ``--check`` only
reports) puts one Markdown cell per explorable into both editions, right after the code cell
that draws the chapter's static figure of the same idea (its ``mystnb.figure.name``). The cell is

    <!-- vae-explorable: NAME (written by book/explorable_cells.py; edit it there) -->
    <div class="vae-explorable" data-explorable="NAME">
    <noscript><p class="vae-explorable-noscript">... <a href="#FIGURE">the figure above</a>.</p></noscript>
    </div>

(one HTML block: no blank line inside). The JavaScript in ``book/_static/explorables/`` fills the
div; without JavaScript the reader gets the sentence pointing at the static figure.

The script is idempotent and touches nothing but its own cells, which it recognises by
``vae-explorable`` in their source: an existing cell is updated in place (it is not moved), a
missing one is inserted. Each notebook is re-read from disk and written back at once, in the
format the notebooks use (nbformat 4, one-space indent, sorted keys), and only if it changed.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "vae-explorable"


@dataclass(frozen=True)
class Explorable:
    name: str
    notebook: str  # file name in chapters/<lang>/
    after_figure: str  # insert after the code cell drawing this figure
    fallback: dict[str, str]  # noscript sentence per language


EXPLORABLES = (
    Explorable("kl-directions", "04_kl_divergence.ipynb", "fig-ch04-forward-reverse", {
        "en": "This interactive figure (move a Gaussian q against the two-mode target and run each KL minimization) needs JavaScript; the static version is [[the figure above]].",
        "ko": "이 대화형 그림(두 봉우리 목표 분포에 맞서 가우시안 q를 움직이고 각 KL 최소화를 실행하는 그림)은 JavaScript가 필요합니다. 정적인 그림은 [[위의 그림]]입니다.",
    }),
    Explorable("elbo-gap", "06_variational_inference_elbo.ipynb", "fig-ch06-elbo-gap", {
        "en": "This interactive figure (log p(x) = ELBO + KL as you move q) needs JavaScript; the static version is [[the figure above]].",
        "ko": "이 대화형 그림(q를 움직이며 보는 log p(x) = ELBO + KL)은 JavaScript가 필요합니다. 정적인 그림은 [[위의 그림]]입니다.",
    }),
    Explorable("gradient-estimators", "07_reparameterization_trick.ipynb", "fig-ch07-variance", {
        "en": "This interactive figure (histograms of score-function and pathwise gradient estimates) needs JavaScript; the static version is [[the figure above]].",
        "ko": "이 대화형 그림(점수 함수 추정값과 경로 미분 추정값의 히스토그램)은 JavaScript가 필요합니다. 정적인 그림은 [[위의 그림]]입니다.",
    }),
    Explorable("latent-explorer", "08_training_a_vae.ipynb", "fig-ch08-latent-manifold", {
        "en": "This interactive figure (decode any point of the 2-D latent plane) needs JavaScript; the static versions are [[the two figures above]].",
        "ko": "이 대화형 그림(2차원 잠재 평면의 아무 점이나 디코딩하는 그림)은 JavaScript가 필요합니다. 정적인 그림은 [[위의 두 그림]]입니다.",
    }),
    Explorable("draw-digit", "09_evaluating_and_extending.ipynb", "fig-ch09-iwae-k", {
        "en": "This interactive figure (draw a digit and see its q(z|x), ELBO and IWAE_k) needs JavaScript; the static figure of IWAE_k against k is [[above]].",
        "ko": "이 대화형 그림(숫자를 그리고 그 q(z|x), ELBO, IWAE_k를 보는 그림)은 JavaScript가 필요합니다. k에 따른 IWAE_k의 정적인 그림은 [[위]]에 있습니다.",
    }),
    Explorable("latent-diffusion", "12_latent_diffusion.ipynb", "fig-ch12-latent2d-flow", {
        "en": "This interactive figure (points flowing from N(0, I) onto the codes of the 2-D VAE by reverse diffusion, guided towards a digit) needs JavaScript; the static version is [[the figure above]].",
        "ko": "이 대화형 그림(역방향 확산으로 N(0, I)의 점들이 2차원 VAE의 코드 위로 옮겨 가고, 숫자 쪽으로 이끌리는 그림)은 JavaScript가 필요합니다. 정적인 그림은 [[위의 그림]]입니다.",
    }),
)


def cell_source(ex: Explorable, lang: str) -> str:
    """The Markdown source of ``ex``'s cell in edition ``lang`` (one raw HTML block)."""
    text = ex.fallback[lang].replace("[[", f'<a href="#{ex.after_figure}">').replace("]]", "</a>")
    return (
        f"<!-- {MARKER}: {ex.name} (written by book/explorable_cells.py; edit it there) -->\n"
        f'<div class="{MARKER}" data-explorable="{ex.name}">\n'
        f'<noscript><p class="vae-explorable-noscript">{text}</p></noscript>\n'
        "</div>"
    )


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _figure_name(cell: dict) -> str | None:
    return ((cell.get("metadata") or {}).get("mystnb") or {}).get("figure", {}).get("name")


def _own_cell(cell: dict, name: str) -> bool:
    return cell.get("cell_type") == "markdown" and re.search(
        rf'{MARKER}[^\n]*data-explorable="{re.escape(name)}"|{MARKER}: {re.escape(name)} ', _source(cell)) is not None


def apply(nb: dict, ex: Explorable, lang: str) -> str:
    """Insert or update ``ex``'s cell in the notebook ``nb`` (in place); returns what was done."""
    cells = nb["cells"]
    want = cell_source(ex, lang)
    own = [i for i, c in enumerate(cells) if _own_cell(c, ex.name)]
    if own:
        cell = cells[own[0]]
        if _source(cell) == want:
            return "unchanged"
        cell["source"] = _lines(want)
        return "updated"
    anchor = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and _figure_name(c) == ex.after_figure]
    if not anchor:
        raise SystemExit(f"{lang}/{ex.notebook}: no code cell draws the figure {ex.after_figure!r}; "
                         f"update EXPLORABLES in {Path(__file__).name}")
    prefix = ex.notebook[:2]
    cells.insert(anchor[0] + 1, {"cell_type": "markdown", "id": f"{prefix}-explorable-{ex.name}",
                                 "metadata": {}, "source": _lines(want)})
    return "inserted"


def run(root: Path = ROOT, check: bool = False) -> list[str]:
    """Apply every explorable to both editions; returns one report line per (edition, explorable)."""
    report = []
    for ex in EXPLORABLES:
        for lang in ("ko", "en"):
            path = root / "chapters" / lang / ex.notebook
            raw = path.read_text(encoding="utf-8")  # re-read now: others may have just saved it
            nb = json.loads(raw)
            what = apply(nb, ex, lang)
            report.append(f"{what:9s} {ex.name} in {path.relative_to(root)}")
            if what != "unchanged" and not check:
                path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    root = Path(argv[argv.index("--root") + 1]) if "--root" in argv else ROOT
    check = "--check" in argv
    lines = run(root, check=check)
    print("\n".join(lines))
    return 1 if check and any(not line.startswith("unchanged") for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
