"""Tests for vae_lib.plots (Agg backend, small inputs, fast)."""

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import norm  # noqa: E402

from vae_lib import plots  # noqa: E402

KOREAN_TITLE = "정규분포와 잠재 공간"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render_png(fig: Figure) -> bytes:
    """Force a full draw (glyph lookup happens here) and return the PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_korean_figure() -> Figure:
    fig, ax = plt.subplots()
    ax.plot(np.linspace(-3, 3, 20), np.linspace(-2, 2, 20) ** 3)  # negative ticks on both axes
    ax.set_title(KOREAN_TITLE)
    ax.set_xlabel("잠재 변수 z₁ (nats)")
    ax.set_ylabel("로그 가능도")
    ax.legend(["표준 정규분포"])
    return fig


def _only_image(ax: Axes) -> np.ndarray:
    images = ax.get_images()
    assert len(images) == 1, f"expected one AxesImage, found {len(images)}"
    return np.asarray(images[0].get_array())


# --------------------------------------------------------------------------- Korean font


def test_use_korean_font_renders_hangul_and_minus_without_warnings():
    family = plots.use_korean_font()
    assert family == "NanumGothic"
    assert family in {entry.name for entry in font_manager.fontManager.ttflist}
    assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"
    assert family in matplotlib.rcParams["font.sans-serif"]

    fig = _draw_korean_figure()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph ... missing" UserWarning would fail here
        png = _render_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    tick_texts = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert any(text.startswith("\N{MINUS SIGN}") for text in tick_texts), tick_texts
    # the fonts actually used: DejaVu Sans first, NanumGothic as the fallback
    used = font_manager.fontManager._find_fonts_by_props(font_manager.FontProperties())
    names = [font_manager.get_font(str(path)).family_name for path in used]
    assert names[:2] == ["DejaVu Sans", "NanumGothic"], names


def test_hangul_check_detects_a_missing_font():
    """Control: the glyph check above really fails when Hangul has no font to fall back to."""
    plots.use_korean_font()
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        fig = _draw_korean_figure()
        with pytest.warns(UserWarning, match="missing from font"):
            _render_png(fig)


def test_use_korean_font_is_idempotent_and_reapplies_rcparams(monkeypatch):
    plots.use_korean_font()

    def _no_second_registration(path):
        raise AssertionError(f"font registered twice: {path}")

    monkeypatch.setattr(font_manager.fontManager, "addfont", _no_second_registration)
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        assert "NanumGothic" not in matplotlib.rcParams["font.sans-serif"]
        assert plots.use_korean_font() == "NanumGothic"
        assert matplotlib.rcParams["font.sans-serif"][:2] == ["DejaVu Sans", "NanumGothic"]


def test_use_korean_font_without_package_raises_runtime_error(monkeypatch):
    monkeypatch.setattr(plots, "_registered_font_files", [])
    monkeypatch.setattr(plots.importlib.util, "find_spec", lambda name: None)
    without_nanum = [e for e in font_manager.fontManager.ttflist if e.name != "NanumGothic"]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", without_nanum)
    with pytest.raises(RuntimeError, match="pip install koreanize-matplotlib"):
        plots.use_korean_font()


def test_koreanize_fonts_are_located_without_importing_the_package():
    import sys

    font_dir = plots._koreanize_font_dir()
    assert font_dir is not None and (font_dir / "NanumGothic.ttf").is_file()
    assert "koreanize_matplotlib" not in sys.modules


# --------------------------------------------------------------------------- image grids


def test_show_images_tiles_flat_mnist_images_in_a_grid():
    x = torch.rand(23, 784)
    ax = plots.show_images(x, nrow=10, title="digits")
    assert isinstance(ax, Axes)
    grid = _only_image(ax)
    assert grid.shape == (3 * 28 + 2, 10 * 28 + 9)  # 3 rows, 10 columns, 1-pixel separators
    np.testing.assert_allclose(grid[:28, :28], x[0].reshape(28, 28).numpy(), rtol=1e-6)
    # image 12 sits in row 1, column 2
    np.testing.assert_allclose(grid[29:57, 58:86], x[12].reshape(28, 28).numpy(), rtol=1e-6)
    assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    assert ax.get_title() == "digits"
    assert ax.get_images()[0].get_cmap().name == "gray"


def test_show_images_infers_8x8_and_accepts_stacks_and_explicit_shapes():
    assert _only_image(plots.show_images(torch.rand(5, 64), nrow=10)).shape == (8, 5 * 8 + 4)
    assert _only_image(plots.show_images(np.random.rand(4, 6, 3), nrow=2)).shape == (2 * 6 + 1, 2 * 3 + 1)
    grid = _only_image(plots.show_images(torch.arange(24.0).reshape(1, 24) / 24, image_shape=(4, 6)))
    assert grid.shape == (4, 6)
    np.testing.assert_allclose(grid[1], np.arange(6, 12) / 24)


def test_show_images_draws_into_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    returned = plots.show_images(torch.rand(3, 784), ax=axes[1])
    assert returned is axes[1]
    assert len(axes[0].get_images()) == 0 and len(axes[1].get_images()) == 1


def test_plot_reconstructions_puts_inputs_above_reconstructions():
    plots.use_korean_font()  # before any Text is created: a Text keeps the font it was made with
    x, x_hat = torch.rand(12, 784), torch.rand(12, 784)
    fig = plots.plot_reconstructions(x, x_hat, n=7, title="재구성", row_labels=("입력", "재구성"))
    assert isinstance(fig, Figure)
    top, bottom = fig.axes
    assert top.get_position().y0 > bottom.get_position().y0
    assert _only_image(top).shape == (28, 7 * 28 + 6)
    np.testing.assert_allclose(_only_image(top)[:, 29:57], x[1].reshape(28, 28).numpy(), rtol=1e-6)
    np.testing.assert_allclose(_only_image(bottom)[:, 29:57], x_hat[1].reshape(28, 28).numpy(), rtol=1e-6)
    assert (top.get_ylabel(), bottom.get_ylabel()) == ("입력", "재구성")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _render_png(fig)


class _FakeSampler:
    """Stands in for a VAE: .sample(n, generator) -> [n, 784] probabilities."""

    def __init__(self):
        self.calls = []

    def sample(self, n, generator=None):
        self.calls.append((n, generator, torch.is_grad_enabled()))
        return torch.rand(n, 784, generator=generator, requires_grad=True)


class _FakeModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.seen_training = None

    def sample(self, n, generator=None):
        self.seen_training = self.training
        return torch.rand(n, 64, generator=generator)


def test_plot_samples_uses_model_sample_without_gradients():
    model = _FakeSampler()
    generator = torch.Generator().manual_seed(3)
    fig = plots.plot_samples(model, n=64, title="samples", generator=generator)
    assert isinstance(fig, Figure)
    assert len(model.calls) == 1
    n, used_generator, grad_enabled = model.calls[0]
    assert n == 64 and used_generator is generator and grad_enabled is False
    grid = _only_image(fig.axes[0])
    assert grid.shape == (8 * 28 + 7, 8 * 28 + 7)  # 64 samples as 8 x 8
    expected = torch.rand(64, 784, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(grid[:28, :28], expected[0].reshape(28, 28).numpy(), rtol=1e-6)


def test_plot_samples_switches_a_module_to_eval_and_restores_it():
    model = _FakeModule()
    model.train()
    fig = plots.plot_samples(model, n=10)
    assert model.seen_training is False and model.training is True
    assert _only_image(fig.axes[0]).shape == (3 * 8 + 2, 4 * 8 + 3)  # ceil(sqrt(10)) = 4 wide


# --------------------------------------------------------------------------- latent space


def test_plot_latent_scatter_colours_classes_with_tab10():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(60, 2, generator=gen)
    labels = torch.arange(60) % 3 + 4  # classes 4, 5, 6
    ax = plots.plot_latent_scatter(z, labels, title="잠재 공간", label_names={4: "four", 5: "five", 6: "six"})
    assert isinstance(ax, Axes)
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), z.numpy(), rtol=1e-6)
    ax.figure.canvas.draw()
    colours = points.get_facecolors()[:, :3]
    tab10 = np.array(matplotlib.colormaps["tab10"].colors)
    for k in range(3):
        np.testing.assert_allclose(colours[(labels == k + 4).numpy()], np.tile(tab10[k], (20, 1)), atol=1e-6)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["four", "five", "six"]
    assert 0 < points.get_alpha() < 1


def test_plot_latent_scatter_uses_a_colorbar_for_continuous_labels():
    z = np.random.default_rng(0).normal(size=(40, 2))
    ax = plots.plot_latent_scatter(z, np.linspace(0, 1, 40))
    assert len(ax.figure.axes) == 2  # the scatter and its colourbar
    assert len(ax.collections[0].get_offsets()) == 40
    assert ax.get_legend() is None


def test_latent_grid_values_are_standard_normal_quantiles():
    values = plots.latent_grid_values(7)
    np.testing.assert_allclose(values.numpy(), norm.ppf(np.linspace(0.05, 0.95, 7)), atol=1e-5)
    np.testing.assert_allclose(plots.latent_grid_values(5, span=2.0).numpy(), [-2, -1, 0, 1, 2])


def test_plot_latent_manifold_decodes_the_quantile_grid():
    seen = []

    def decode_fn(z):
        seen.append(z.clone())
        # image k is constant: its brightness encodes z_1, so the layout can be checked
        return torch.sigmoid(z[:, :1]).expand(-1, 784)

    n = 5
    ax = plots.plot_latent_manifold(decode_fn, n=n, title="매니폴드")
    assert isinstance(ax, Axes)
    assert len(seen) == 1
    z = seen[0]
    assert z.shape == (n * n, 2) and z.dtype == torch.float32
    q = norm.ppf(np.linspace(0.05, 0.95, n))
    np.testing.assert_allclose(np.unique(z[:, 0].numpy()), q, atol=1e-5)
    np.testing.assert_allclose(np.unique(z[:, 1].numpy()), q, atol=1e-5)
    np.testing.assert_allclose(z[0].numpy(), [q[0], q[-1]], atol=1e-5)  # top-left: z1 low, z2 high
    np.testing.assert_allclose(z[-1].numpy(), [q[-1], q[0]], atol=1e-5)  # bottom-right
    grid = _only_image(ax)
    assert grid.shape == (n * 28, n * 28)
    tick_texts = [t.get_text() for t in ax.get_xticklabels()]
    assert tick_texts[0] == f"\N{MINUS SIGN}{-q[0]:.1f}" and tick_texts[-1] == f"{q[-1]:.1f}", tick_texts
    column_means = grid.reshape(n, 28, n, 28).mean(axis=(0, 1, 3))
    assert np.all(np.diff(column_means) > 0)  # z_1 increases to the right


def test_plot_latent_manifold_with_span_and_8x8_images():
    seen = []

    def decode_fn(z):
        seen.append(z)
        return torch.zeros(z.shape[0], 64)

    ax = plots.plot_latent_manifold(decode_fn, n=3, span=2.0, image_shape=(8, 8))
    np.testing.assert_allclose(np.unique(seen[0].numpy()), [-2.0, 0.0, 2.0])
    assert _only_image(ax).shape == (24, 24)


def test_plot_interpolation_endpoints_are_exact():
    seen = []

    def decode_fn(z):
        seen.append(z.clone())
        return torch.rand(z.shape[0], 784)

    gen = torch.Generator().manual_seed(1)
    z_a, z_b = torch.randn(5, generator=gen) * 3, torch.randn(5, generator=gen) * 3
    ax = plots.plot_interpolation(decode_fn, z_a, z_b, steps=6, title="보간")
    z = seen[0]
    assert z.shape == (6, 5)
    assert torch.equal(z[0], z_a) and torch.equal(z[-1], z_b)
    torch.testing.assert_close(z[2], z_a + 0.4 * (z_b - z_a))
    assert _only_image(ax).shape == (28, 6 * 28 + 5)


# --------------------------------------------------------------------------- history


def test_plot_history_from_list_of_dicts_skips_missing_values():
    history = [
        {"epoch": 1, "train_elbo": -200.0, "valid_elbo": None, "seconds": 1.0},
        {"epoch": 2, "train_elbo": -150.0, "valid_elbo": -155.0, "seconds": 1.0},
        {"epoch": 3, "train_elbo": -120.0, "valid_elbo": -125.0, "seconds": 1.0},
    ]
    fig = plots.plot_history(history, keys=("train_elbo", "valid_elbo", "train_kl"),
                             labels={"train_elbo": "훈련 ELBO", "valid_elbo": "검증 ELBO"})
    assert isinstance(fig, Figure)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2  # train_kl is absent
    assert list(lines[0].get_xdata()) == [1, 2, 3] and list(lines[0].get_ydata()) == [-200.0, -150.0, -120.0]
    assert list(lines[1].get_xdata()) == [2, 3]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["훈련 ELBO", "검증 ELBO"]


def test_plot_history_from_dict_of_lists_and_as_dict():
    columns = {"train_elbo": [-3.0, -2.0, -1.5, -1.2]}
    fig = plots.plot_history(columns, keys=("train_elbo",), labels=["train"])
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [1, 2, 3, 4]  # numbered from 1 without an "epoch" column
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "train"

    class _History(list):
        def as_dict(self):
            return {"epoch": [5, 6], "valid_elbo": [-9.0, -8.0]}

    fig2, ax2 = plt.subplots()
    assert plots.plot_history(_History(), ax=ax2) is fig2
    assert list(ax2.get_lines()[0].get_xdata()) == [5, 6]


# --------------------------------------------------------------------------- bad inputs


def _decode_784(z):
    return torch.zeros(z.shape[0], 784)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: plots.plot_latent_scatter(torch.zeros(10, 3), torch.zeros(10)), r"\[N, 2\]"),
        (lambda: plots.plot_latent_scatter(torch.zeros(10, 2), torch.zeros(9)), "labels must have shape"),
        (lambda: plots.show_images(torch.zeros(4, 50)), "not a perfect square"),
        (lambda: plots.show_images(torch.zeros(4, 784), image_shape=(20, 20)), "784"),
        (lambda: plots.show_images(torch.zeros(784)), r"\[N, D\]"),
        (lambda: plots.show_images(torch.zeros(4, 784), nrow=0), "nrow"),
        (lambda: plots.plot_interpolation(_decode_784, torch.zeros(2), torch.ones(2), steps=1), "steps"),
        (lambda: plots.plot_interpolation(_decode_784, torch.zeros(2), torch.ones(3)), "same shape"),
        (lambda: plots.plot_reconstructions(torch.zeros(5, 784), torch.zeros(4, 784)), "same images"),
        (lambda: plots.plot_latent_manifold(_decode_784, n=1), "n must be >= 2"),
        (lambda: plots.plot_latent_manifold(_decode_784, n=3, span=-1.0), "span"),
        (lambda: plots.plot_latent_manifold(lambda z: torch.zeros(3, 784), n=3), r"\[M, D\]"),
        (lambda: plots.plot_history([{"epoch": 1, "loss": 1.0}]), "available keys"),
        (lambda: plots.plot_samples(_FakeSampler(), n=0), "n must be >= 1"),
    ],
)
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_tuple_decoder_output_raises_type_error():
    with pytest.raises(TypeError, match="Gaussian decoder"):
        plots.plot_interpolation(lambda z: (torch.zeros(z.shape[0], 784),) * 2, torch.zeros(2), torch.ones(2))


def test_book_style_keeps_the_smallest_text_at_least_9_px_down_to_the_design_scale():
    """Tick labels and legends of the book's figures stay >= 9 CSS px down to BOOK_MIN_DISPLAY_SCALE of the
    figure's size. The CSS shows an output image at most as wide as the column (issue 20: no page wider than
    a phone), so on a phone a figure wider than the column is shown below that scale (the reader zooms)."""
    from pathlib import Path

    from vae_lib import plots

    assert plots.smallest_font_px(scale=plots.BOOK_MIN_DISPLAY_SCALE) >= 9.0
    # matplotlib's own defaults (10 pt ticks at 100 dpi) would not be: the check can fail
    assert plots.smallest_font_px(rc={"figure.dpi": 100, "font.size": 10, "xtick.labelsize": "medium",
                                      "ytick.labelsize": "medium", "legend.fontsize": "medium"},
                                  scale=0.5) < 9.0
    css = (Path(__file__).resolve().parent.parent / "book" / "_static" / "book.css").read_text(encoding="utf-8")
    assert ".bd-article img { max-width: 100% !important; height: auto !important; }" in css


def test_use_book_style_applies_the_rc_and_mathtext_renders():
    from vae_lib import plots

    with plt.rc_context():
        plots.use_book_style()
        for key, value in plots.BOOK_RC.items():
            assert plt.rcParams[key] == value, key
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label=r"$-\mathbb{E}[\log p(x\mid z)]$")
        ax.legend()
        fig.canvas.draw()  # mathtext in a legend parses and draws
        plt.close(fig)
