"""segtutor._figure_audit: the rules that tests/test_site.py applies to every figure of the course."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segtutor._figure_audit import figure_problems  # noqa: E402


def _problems(fig):
    fig.canvas.draw()  # tick labels exist only once drawn, as when the inline backend shows a figure
    try:
        return figure_problems(fig)
    finally:
        plt.close(fig)


def test_an_untitled_picture_is_reported_and_a_titled_one_passes():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    assert _problems(fig) == ["axes 0: no title (set_title, or fig.suptitle)"]
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    ax.set_title("zeros")
    assert _problems(fig) == []  # a picture's pixel ticks need no axis labels


def test_a_plot_needs_a_title_and_both_numeric_axis_labels():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("a line")
    ax.set_xlabel("epoch")
    assert _problems(fig) == ["axes 0 ('a line'): numeric y axis without a label"]
    fig, ax = plt.subplots()
    ax.hist(np.arange(10))
    assert len(_problems(fig)) == 3


def test_bars_with_names_need_only_the_value_axis_labelled():
    fig, ax = plt.subplots()
    ax.bar(["cat", "dog"], [1, 2])
    ax.set_title("counts")
    ax.set_ylabel("images")
    assert _problems(fig) == []


def test_suptitle_shared_axes_and_suplabels_count():
    fig, axes = plt.subplots(1, 2, sharey=True)
    for ax in axes:
        ax.plot([0, 1], [1, 2])
    fig.suptitle("two runs")
    fig.supxlabel("epoch")
    axes[0].set_ylabel("loss")
    assert _problems(fig) == []


def test_panels_without_content_ticks_or_with_a_colour_bar_need_nothing_more():
    fig, axes = plt.subplots(1, 3)
    axes[0].axis("off")  # an empty panel of a grid
    axes[1].plot([0, 1], [0, 1])
    axes[1].set_title("no ticks")
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    im = axes[2].imshow(np.eye(3))
    axes[2].set_title("identity")
    fig.colorbar(im, ax=axes[2])
    assert _problems(fig) == []


def test_rejects_what_is_not_a_figure():
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        figure_problems(np.zeros((2, 2)))


def test_install_reports_each_shown_figure_with_problems(tmp_path):
    out = tmp_path / "audit.jsonl"
    code = textwrap.dedent(f"""
        import matplotlib; matplotlib.use("Agg")
        import io, matplotlib.pyplot as plt
        from segtutor import _figure_audit
        _figure_audit.install({str(out)!r})
        fig, ax = plt.subplots(); ax.plot([1, 2]); fig.savefig(io.BytesIO(), format="png")
        fig, ax = plt.subplots(); ax.imshow([[0, 1]]); ax.set_title("ok"); fig.savefig(io.BytesIO(), format="png")
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 1 and records[0]["cell"] is None
    assert records[0]["problems"][0] == "axes 0: no title (set_title, or fig.suptitle)"
    assert len(records[0]["problems"]) == 3


def test_the_site_builds_kernel_reports_an_untitled_inline_figure(tmp_path):
    """The audit cell of tools/build_site.py hooks the inline backend of a real kernel; the page drops it."""
    import importlib.util
    from pathlib import Path

    import nbformat

    spec = importlib.util.spec_from_file_location("build_site", Path(__file__).parents[1] / "tools" / "build_site.py")
    b = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(b)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2]);"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.imshow([[0, 1]]); ax.set_title('fine');"),
    ])
    nb = b._with_helpers(nb)
    audit = tmp_path / "audit.jsonl"
    b.execute(nb, fast=True, timeout=300, workdir=tmp_path, audit=audit)
    problems = b._figure_problems(audit)
    where = "the cell starting 'import matplotlib.pyplot as plt'"
    assert problems == [f"{where}: axes 0: no title (set_title, or fig.suptitle)",
                        f"{where}: axes 0: numeric x axis without a label",
                        f"{where}: axes 0: numeric y axis without a label"]
    b._fold_helpers(nb)
    assert [c.source.splitlines()[0] for c in nb.cells] == ["import matplotlib.pyplot as plt", "fig, ax = plt.subplots()"]
    assert len([o for o in nb.cells[1].outputs if "image/png" in o.get("data", {})]) == 1
