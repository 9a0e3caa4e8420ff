"""The study's figures' shared style: sizes, fonts, log axes, one colour per model, saving.

Each figure function (training_plots: curves over epochs; comparison_plots: models and images
side by side) draws from saved runs or plain arrays (never Keras) and returns a matplotlib Figure
made with `plt.subplots`, so a notebook shows it inline; none calls `plt.show()`. `save_fig`
writes a figure as a small PNG for figures/ and the README, at twice its size in pixels
(`figure_png`), so that it stays sharp on high-DPI screens; notebooks show that PNG at half.

Readers see the figures on GitHub, so every figure is drawn for that page: at least
`MIN_WIDTH_PX` pixels wide (saved and inline), no text under `MIN_FONT_SIZE` points whatever the
caller's rcParams (each function draws under `STYLE`, through `styled`), log axes labelled
"(log scale)" with plain numbers at 1, 2 and 5 per decade (or finer, `log_axis`), and every model
in one colour and marker (`MODEL_STYLES`) in every figure that shows several models.
"""

import functools
import io
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt  # without a display matplotlib falls back to Agg by itself
import numpy as np
from matplotlib import ticker
from PIL import Image  # matplotlib's own dependency

from .files import atomic_path
from .models import MODEL_NAMES

# Where figures go, relative to the working folder; MNIST_CNN_FIGURES_DIR moves them (the test
# suite sends the notebooks' figures to a temporary folder, so it never rewrites figures/).
FIGURES_DIR = Path(os.environ.get("MNIST_CNN_FIGURES_DIR") or "figures")
FIGSIZE = (7.5, 4.5)  # inches: one plot; at DPI, 750 px wide, about GitHub's page width
DPI = 100             # pixels per inch as a page shows the figure: 750 px wide
PIXEL_RATIO = 2       # a saved PNG has this many pixels per pixel shown: sharp on high-DPI screens
MIN_WIDTH_PX = 600    # no figure is narrower, saved or shown inline
MIN_FONT_SIZE = 10    # points: no text is smaller
MIN_LOG_SPAN = 0.65   # decades: a log axis shows at least this much, so 3 ticks get labels
# The multiples of each power of ten that a log axis may label, sparsest first (see log_axis).
LOG_SUBS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), tuple(np.arange(1.0, 10.0)))
# The multiples a log axis may label where its curves end, densest first (neighbours at least
# 0.08, 0.1, 0.12 and 0.17 decades apart), and the least room between two labels there, in points.
DENSE_SUBS = ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0), (1.0, 2.0, 3.0, 4.0, 5.0, 7.0),
              (1.0, 2.0, 3.0, 4.0, 6.0), (1.0, 2.0, 3.0, 5.0))
DENSE_GAP = 1.2 * MIN_FONT_SIZE

# Every figure is drawn under these settings (setup_style also makes them matplotlib's defaults).
STYLE = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": MIN_FONT_SIZE,
    "axes.titlesize": 12,
    "figure.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "legend.fontsize": MIN_FONT_SIZE,
    "legend.title_fontsize": MIN_FONT_SIZE,
}

# One colour and marker per model, the same in every figure of the study: matplotlib's tab10
# colours, spelled out so that no rcParams can change them.
MODEL_STYLES = dict(zip(MODEL_NAMES, zip(
    ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"), "osD^vPX")))
MODEL_COLORS = {name: color for name, (color, _) in MODEL_STYLES.items()}
MODEL_MARKERS = {name: marker for name, (_, marker) in MODEL_STYLES.items()}
OTHER_STYLE = ("0.3", "o")  # a model outside the study's seven


def model_style(name):
    """Return the (colour, marker) of model `name` in every figure."""
    return MODEL_STYLES.get(name, OTHER_STYLE)


def setup_style():
    """Set matplotlib's defaults for the study's figures (the notebooks' Setup cell calls it)."""
    plt.rcParams.update(STYLE)


def styled(draw):
    """Make `draw` build its figure under STYLE, whatever the caller's rcParams."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def plain_number(value, _position=None):
    """Format a tick as a plain number: 0.02, 0.5, 3."""
    return f"{value:g}"


def log_axis(ax, which="y", formatter=None, label=None, power_of_ten=False, dense=None):
    """Make `which` axis logarithmic with at least three labelled ticks; call it after drawing."""
    axis, get_lim, set_lim = ((ax.yaxis, ax.get_ylim, ax.set_ylim) if which == "y" else
                              (ax.xaxis, ax.get_xlim, ax.set_xlim))
    getattr(ax, f"set_{which}scale")("log")
    low, high = get_lim()
    if math.log10(high / low) < MIN_LOG_SPAN:
        middle = math.log10(low * high) / 2
        low, high = 10 ** (middle - MIN_LOG_SPAN / 2), 10 ** (middle + MIN_LOG_SPAN / 2)
        set_lim(low, high)
    if power_of_ten and math.floor(math.log10(high)) < math.ceil(math.log10(low)):
        below, above = 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))
        if math.log10(low / below) <= math.log10(above / high):
            low = below / 1.1
        else:
            high = above * 1.1
        set_lim(low, high)
    shared = (ax.get_shared_y_axes() if which == "y" else ax.get_shared_x_axes()).get_siblings(ax)
    data = [sibling.dataLim.intervaly if which == "y" else sibling.dataLim.intervalx
            for sibling in shared]
    data_low, data_high = min(pair[0] for pair in data), max(pair[1] for pair in data)
    candidates = LOG_SUBS[1:] if math.log10(high / low) <= 4 else LOG_SUBS[:1]
    if which == "x" and len(candidates) > 1 and math.log10(high / low) > 1:
        candidates = candidates[:-1]  # 1..9 per decade crowds a wide x axis
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for subs in candidates:
        # Counted here, not by LogLocator.tick_values, which falls back to linear ticks when
        # its own would be too few.
        ticks = np.array([sub * 10.0 ** decade for decade in decades for sub in subs])
        if np.sum((ticks >= data_low) & (ticks <= data_high)) >= 3:
            break
    fixed = _dense_ticks(ax, which, decades, subs, dense) if dense else None
    axis.set_major_locator(ticker.FixedLocator(fixed) if fixed else
                           ticker.LogLocator(10, subs=subs, numticks=40))
    axis.set_major_formatter(formatter or ticker.FuncFormatter(plain_number))
    axis.set_minor_formatter(ticker.NullFormatter())
    if label is not None:
        axis.set_label_text(f"{label} (log scale)")


def _dense_ticks(ax, which, decades, subs, band):
    """Return a log axis's ticks, in `band` as dense as DENSE_GAP allows, or None if none fit."""
    low, high = ax.get_ylim() if which == "y" else ax.get_xlim()
    box = ax.get_position()
    inches = (box.height * ax.figure.get_figheight() if which == "y" else
              box.width * ax.figure.get_figwidth())
    points_per_decade = 72 * inches / math.log10(high / low)
    sparse = [sub * 10.0 ** decade for decade in decades for sub in subs]
    for dense_subs in DENSE_SUBS:
        ticks = [sub * 10.0 ** decade for decade in decades for sub in dense_subs]
        inside = [index for index, tick in enumerate(ticks) if band[0] <= tick <= band[1]]
        first = (inside[0] if inside else np.searchsorted(ticks, band[0])) - 1
        last = (inside[-1] + 1) if inside else int(np.searchsorted(ticks, band[1]))
        band_ticks = ticks[max(first, 0):last + 1]
        shown = sorted({*band_ticks, *(tick for tick in sparse
                                       if not band_ticks[0] <= tick <= band_ticks[-1])})
        gaps = np.diff(np.log10([tick for tick in shown if low <= tick <= high]))
        if not gaps.size or gaps.min() * points_per_decade >= DENSE_GAP:
            return shown
    return None


def figure_png(fig):
    """Return `fig` as PNG bytes at PIXEL_RATIO times its size, cropped to its content."""
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=DPI * PIXEL_RATIO, bbox_inches="tight")
    rendered.seek(0)
    with Image.open(rendered) as image:
        # A 256-colour palette looks the same and takes a third of the bytes.
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    out = io.BytesIO()
    # No "Software" stamp (Pillow writes none): the same figure gives the same bytes.
    small.save(out, format="png", optimize=True)
    return out.getvalue()


def save_fig(fig, name, figures_dir=FIGURES_DIR):
    """Write `fig` to <figures_dir>/<name>.png (`figure_png`) atomically; return the path."""
    path = Path(figures_dir) / f"{name}.png"
    data = figure_png(fig)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path
