"""The README's answer in one figure: every run's test accuracy per model, grouped by depth.

Drawn from plain values (never Keras): each run a filled point in its model's colour and marker
(the study's, from plot_style), each model's mean a short line through its points, the original's
single run the same marker hollow beside them, and a grey band of ±margin around the best mean,
inside which a difference counts as none. `answer_figure_of(study)` takes the values from a
findings.Findings; `save_readme_figure` writes it where the README's answer links it.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .analysis import ACCURACY
from .answer import ANSWER_FIGURE
from .claim_words import margin_text
from .findings import NoRunsError, analyse
from .models import CONV_LAYERS, MODEL_NAMES
from .plot_style import DPI, MODEL_COLORS, MODEL_MARKERS, STYLE, save_fig
from .runs import RESULTS_DIR

FIGSIZE = (9.0, 4.8)  # inches: at DPI, about GitHub's page width
SEEDS_FROM, SEEDS_TO = -0.32, 0.12  # where a model's points spread, left and right of its slot
ORIGINAL_AT = 0.3     # the original's marker, right of the model's slot centre
DEPTH_GAP = 0.7       # extra room between two depths, in model slots
MARKER_SIZE = 7
BAND_COLOR = "0.88"
GROUP_LABEL_Y = -0.075  # where the depth labels sit under the model names (axes fraction)


def _positions(models):
    """Return {model: x}: models in depth order, a wider gap between depths."""
    ordered = sorted(models, key=lambda name: (CONV_LAYERS[name], MODEL_NAMES.index(name)))
    positions, x, depth = {}, 0.0, None
    for name in ordered:
        if depth is not None:
            x += 1.0 + (DEPTH_GAP if CONV_LAYERS[name] != depth else 0.0)
        positions[name], depth = x, CONV_LAYERS[name]
    return positions


def _seed_offsets(count):
    """Return each point's offset from its slot centre: spread so that equal values stay apart."""
    if count == 1:
        return np.array([(SEEDS_FROM + SEEDS_TO) / 2])
    return np.linspace(SEEDS_FROM, SEEDS_TO, count)


def answer_figure(accuracies, originals, margin, title=None):
    """Return the figure: test accuracy (%) of every run, one column per model, by depth."""
    accuracies = {name: list(values) for name, values in accuracies.items() if len(values)}
    if not accuracies:
        raise ValueError("answer_figure needs at least one model with runs")
    positions = _positions(accuracies)
    means = {name: float(np.mean(values)) for name, values in accuracies.items()}
    best = max(means.values())
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        ax.axhspan(best - margin, best + margin, color=BAND_COLOR, zorder=0, gid="margin")
        for name, x in positions.items():
            color, marker = MODEL_COLORS[name], MODEL_MARKERS[name]
            values = accuracies[name]
            ax.plot(x + _seed_offsets(len(values)), values, linestyle="none", marker=marker,
                    markersize=MARKER_SIZE, color=color, alpha=0.85, zorder=3, gid=f"runs:{name}")
            ax.plot([x + SEEDS_FROM - 0.08, x + SEEDS_TO + 0.08], [means[name]] * 2, color=color,
                    linewidth=2.2, zorder=2, gid=f"mean:{name}")
            if originals.get(name) is not None:
                ax.plot([x + ORIGINAL_AT], [originals[name]], linestyle="none", marker=marker,
                        markersize=MARKER_SIZE + 2, markerfacecolor="white",
                        markeredgecolor=color, markeredgewidth=1.8, zorder=4,
                        gid=f"original:{name}")
        _depth_axis(ax, positions)
        ax.yaxis.set_major_locator(ticker.MultipleLocator(0.1))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%.1f"))
        ax.set_ylabel("test accuracy (%)")
        ax.grid(axis="x", visible=False)
        ax.set_title(title if title is not None else
                     f"Test accuracy of all {sum(map(len, accuracies.values()))} runs, "
                     "grouped by the number of conv layers")
        _legend(fig, margin, best, any(v is not None for v in originals.values()))
    return fig


def _depth_axis(ax, positions):
    """Name each model under its column and each depth under its models, a line between depths."""
    ax.set_xticks(list(positions.values()), list(positions))
    ax.tick_params(axis="x", length=0)
    depths = {}
    for name, x in positions.items():
        depths.setdefault(CONV_LAYERS[name], []).append(x)
    xs = sorted(positions.values())
    ax.set_xlim(xs[0] - 0.7, xs[-1] + 0.7)
    previous = None
    for depth, columns in depths.items():
        ax.text(np.mean(columns), GROUP_LABEL_Y, f"{depth} conv layers", ha="center", va="top",
                transform=ax.get_xaxis_transform(), fontweight="bold")
        if previous is not None:
            ax.axvline((previous + min(columns)) / 2, color="0.6", linewidth=0.8, zorder=1)
        previous = max(columns)


def _legend(fig, margin, best, original):
    """Say under the plot what the points, lines, hollow markers and the band are."""
    grey = "0.35"
    handles = [Line2D([], [], color=grey, marker="o", linestyle="none", markersize=MARKER_SIZE,
                      label="one run of ours (a seed)"),
               Line2D([], [], color=grey, linewidth=2.2, label="the mean of our runs")]
    if original:
        handles.append(Line2D([], [], color=grey, marker="o", linestyle="none",
                              markersize=MARKER_SIZE + 2, markerfacecolor="white",
                              markeredgewidth=1.8, label="the original's single run"))
    handles.append(Patch(color=BAND_COLOR, label=f"{margin_text(ACCURACY.name, margin)} around "
                         f"the best mean ({ACCURACY.text(best)}): no practical difference"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, handletextpad=0.4,
               columnspacing=1.5)


def answer_figure_of(study):
    """Return the answer's figure of a findings.Findings (the original's runs only on its data)."""
    accuracies = {name: [ACCURACY.of(score) for score in scores]
                  for name, scores in study.scores.items()}
    originals = {name: (ACCURACY.original(study.reference, name) if study.on_original_data
                        else None) for name in accuracies}
    return answer_figure(accuracies, originals, study.margins[ACCURACY.name])


def save_readme_figure(readme, results_dir=RESULTS_DIR):
    """Write the answer's figure where `readme` links it; return its path, or None without runs."""
    try:
        study = analyse(results_dir)
    except NoRunsError:
        return None
    target = Path(readme).parent / ANSWER_FIGURE
    fig = answer_figure_of(study)
    try:
        return save_fig(fig, target.stem, target.parent)
    finally:
        plt.close(fig)
