"""Self-contained HTML reports of evaluations and comparisons, figures drawn with matplotlib.

Figures are drawn with matplotlib's object API (``Figure``, rendered by Agg), which
never switches the global pyplot backend that QGIS or other plugins may use.
They are PNGs embedded as ``data:image/png;base64`` so that the report is one
file that can be mailed or archived. Maps, scatter plots and histograms are drawn
from a nearest-neighbour decimated view of the rasters (at most
:data:`PREVIEW_SIZE` pixels a side); the metrics themselves use every pixel.
"""
import base64
import gc
import html
import io
import os
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from .metrics import DEFINITIONS, METRICS
from ..common.raster_io import read_decimated
from ..common.units import UNIT_SYMBOLS
from .tables import display_value, metric_unit

PREVIEW_SIZE = 800
"""Largest side, in pixels, of the decimated view the figures are drawn from."""


_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.hard td { background: #fde0dc; }
img { max-width: 100%; }
.note { color: #555; font-size: 90%; }
"""


def figure_uri(fig) -> str:
    """A matplotlib figure as a data:image/png;base64 URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(uri: str, alt: str) -> str:
    return f'<figure><img src="{uri}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _page(title: str, body: List[str]) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p class=\"note\">Written {stamp} by the LST fusion "
            "QGIS plugin.</p>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _write(path: str, text: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    # matplotlib's font and mathtext parsing leaves reference cycles (exceptions with their
    # tracebacks) that keep the callers' frames, QGIS objects included, alive until the next
    # full collection, which may come after QGIS has shut down and then crashes: free them now
    gc.collect()
    return path


def definitions_table(names: Sequence[str] = METRICS) -> str:
    """HTML table of the metric definitions (P = prediction, R = reference)."""
    rows = "".join(f"<tr><th>{n}</th><td>{html.escape(DEFINITIONS[n][0])}</td>"
                   f"<td>{html.escape(DEFINITIONS[n][2])}</td></tr>" for n in names)
    return ("<table class=\"definitions\"><tr><th>Metric</th><th>Name</th><th>Definition</th></tr>"
            f"{rows}</table><p class=\"note\">P = prediction, R = reference, over the pixels valid in "
            "both (and inside the mask). No-data is never filled. SAM, ERGAS and PSNR depend on the units "
            "(K or °C): compare only values computed in the same units.</p>")


def _fmt(value) -> str:
    return display_value(value, ".4g")


def _units_label(units: Optional[str]) -> str:
    return UNIT_SYMBOLS.get(units, "")


# ---------------------------------------------------------------- evaluation

def write_evaluation_report(path: str, result: Dict[str, float], pred_path: str, ref_path: str,
                            mask_path: Optional[str] = None, band: int = 1,
                            info: Optional[Dict[str, object]] = None,
                            title: str = "LST prediction accuracy") -> str:
    """Write the HTML report of one evaluation (``result`` from ``compute_metrics``). Returns ``path``.

    Holds the inputs, the metric table with units and definitions, the prediction,
    reference and error maps (shared temperature scale, diverging error scale), a
    density scatter plot with the 1:1 line and the error histogram.
    """
    pred = read_decimated(pred_path, band, PREVIEW_SIZE)
    ref = read_decimated(ref_path, band, PREVIEW_SIZE)
    valid = np.isfinite(pred) & np.isfinite(ref)
    if mask_path:
        mask = read_decimated(mask_path, 1, PREVIEW_SIZE)
        valid &= np.isfinite(mask) & (mask != 0)
    error = np.where(valid, pred - ref, np.nan)
    unit = _units_label(result.get("UNITS"))

    facts = [("Prediction", pred_path), ("Reference", ref_path), ("Mask", mask_path or "none"),
             ("Band", band), ("Units", {"kelvin": "Kelvin", "celsius": "degrees Celsius"}.get(
                 result.get("UNITS"), "unknown")),
             ("Data range L (PSNR, SSIM)", f"{result['DATA_RANGE']:.4g} {unit}")]
    facts += list((info or {}).items())
    body = ["<h2>Inputs</h2>", "<table>" + "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts) + "</table>",
        "<h2>Metrics</h2>", _metric_table(result),
        "<h2>Definitions</h2>", definitions_table(),
        "<h2>Maps</h2>", _img(_maps_figure(pred, ref, error, unit),
                              "Prediction, reference (same temperature scale) and error P - R"),
        "<h2>Prediction against reference</h2>",
        _img(_scatter_figure(pred[valid], ref[valid], unit, result), "Density of (R, P) pairs with the 1:1 line"),
        _img(_histogram_figure(error[valid], unit, result), "Histogram of the error P - R"),
        f"<p class=\"note\">Figures are drawn from a {pred.shape[1]} x {pred.shape[0]} pixel "
        "nearest-neighbour view of the rasters; the metrics use every pixel.</p>"]
    return _write(path, _page(title, body))


def _metric_table(result: Dict[str, float]) -> str:
    rows = "".join(
        f"<tr><th>{name}</th><td class=\"num\">{_fmt(result[name])}</td>"
        f"<td>{html.escape(metric_unit(name, result.get('UNITS')))}</td>"
        f"<td>{html.escape(DEFINITIONS[name][0])}</td></tr>" for name in METRICS)
    return ("<table class=\"metrics\"><tr><th>Metric</th><th>Value</th><th>Unit</th><th>Name</th></tr>"
            f"{rows}</table>")


def _maps_figure(pred, ref, error, unit):
    both = np.concatenate([pred[np.isfinite(pred)], ref[np.isfinite(ref)]])
    vmin, vmax = np.percentile(both, [1, 99]) if both.size else (0.0, 1.0)
    finite_error = np.abs(error[np.isfinite(error)])
    limit = float(np.percentile(finite_error, 99)) if finite_error.size else 1.0
    limit = limit if limit > 0 else 1.0
    fig = Figure(figsize=(15, 4.8), constrained_layout=True)
    axes = fig.subplots(1, 3)
    cmap = colormaps["RdYlBu_r"].copy()
    cmap.set_bad("#dddddd")
    for ax, data, name in ((axes[0], pred, "Prediction P"), (axes[1], ref, "Reference R")):
        im = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name)
    fig.colorbar(im, ax=axes[:2].tolist(), shrink=0.85, label=f"LST ({unit})" if unit else "LST")
    diverging = colormaps["RdBu_r"].copy()
    diverging.set_bad("#dddddd")
    im = axes[2].imshow(error, cmap=diverging, vmin=-limit, vmax=limit, interpolation="nearest")
    axes[2].set_title("Error P - R")
    fig.colorbar(im, ax=axes[2], shrink=0.85, label=f"P - R ({unit})" if unit else "P - R")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return figure_uri(fig)


def _scatter_figure(p, r, unit, result):
    fig = Figure(figsize=(6, 5.5))
    ax = fig.subplots()
    suffix = f" ({unit})" if unit else ""
    if p.size:
        low, high = float(min(p.min(), r.min())), float(max(p.max(), r.max()))
        pad = 0.02 * (high - low or 1.0)
        low, high = low - pad, high + pad
        hexes = ax.hexbin(r, p, gridsize=80, bins="log", mincnt=1, cmap="viridis",
                          extent=(low, high, low, high))
        fig.colorbar(hexes, ax=ax, label="pixels (log scale)")
        ax.plot([low, high], [low, high], color="black", linewidth=1, label="1:1")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.legend(loc="upper left")
    ax.set_aspect("equal")
    ax.set_xlabel("Reference R" + suffix)
    ax.set_ylabel("Prediction P" + suffix)
    ax.set_title(f"RMSE {_fmt(result['RMSE'])} {unit}, CC {_fmt(result['CC'])}")
    return figure_uri(fig)


def _histogram_figure(error, unit, result):
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    suffix = f" ({unit})" if unit else ""
    if error.size:
        ax.hist(error, bins=100, color="#4575b4")
        ax.axvline(0.0, color="black", linewidth=1, label="0")
        ax.axvline(result["BIAS"], color="#d73027", linewidth=1.5, label=f"bias {_fmt(result['BIAS'])}")
        ax.legend()
    ax.set_xlabel("P - R" + suffix)
    ax.set_ylabel("pixels")
    ax.set_title(f"Error distribution: MAE {_fmt(result['MAE'])} {unit}, ubRMSE {_fmt(result['UBRMSE'])} {unit}")
    return figure_uri(fig)


# ---------------------------------------------------------------- comparison

def write_comparison_report(path: str, per_date: List[Dict[str, object]], summary: List[Dict[str, object]],
                            hard: Sequence[str], hard_rule: str, units: Optional[str],
                            title: str = "Comparison of LST fusion methods") -> str:
    """Write the HTML report of a comparison. Returns ``path``.

    ``per_date``: one record per (method, date) with the metrics; ``summary``: one
    record per method with ``<METRIC>_mean`` and ``<METRIC>_std``; ``hard``: the
    dates where every method does badly, described by ``hard_rule``.
    """
    unit = _units_label(units)
    names = [n for n in METRICS if n != "VALID_PIXELS"]
    head = "".join(f"<th>{n}</th>" for n in names)
    summary_rows = "".join(
        f"<tr><th>{html.escape(str(s['method']))}</th><td class=\"num\">{s['dates']}</td>"
        + "".join(f"<td class=\"num\">{_fmt(s[n + '_mean'])} ± {_fmt(s[n + '_std'])}</td>" for n in names)
        + "</tr>" for s in summary)
    date_rows = "".join(
        f"<tr class=\"{'hard' if r['date'] in hard else ''}\"><td>{html.escape(str(r['date']))}</td>"
        f"<th>{html.escape(str(r['method']))}</th>"
        + "".join(f"<td class=\"num\">{_fmt(r[n])}</td>" for n in names) + "</tr>" for r in per_date)
    hard_text = (", ".join(html.escape(d) for d in hard) if hard else "none")
    body = [
        f"<p>{len(summary)} method(s), {len({r['date'] for r in per_date})} date(s). "
        f"Temperature errors in {unit or 'the images’ units'}.</p>",
        "<h2>Per method: mean ± standard deviation over dates</h2>",
        f"<table class=\"summary\"><tr><th>Method</th><th>Dates</th>{head}</tr>{summary_rows}</table>",
        "<h2>RMSE by date</h2>", _img(_rmse_chart(per_date, hard, unit), "RMSE of each method by date"),
        f"<p><strong>Dates where every method does badly:</strong> {hard_text}. "
        f"<span class=\"note\">Rule: {html.escape(hard_rule)}</span></p>",
        "<h2>Per date</h2>",
        f"<table class=\"per-date\"><tr><th>Date</th><th>Method</th>{head}</tr>{date_rows}</table>",
        "<h2>Definitions</h2>", definitions_table(),
        "<p class=\"note\">Standard deviations are sample standard deviations over dates (n - 1).</p>"]
    return _write(path, _page(title, body))


def _rmse_chart(per_date, hard, unit):
    dates = sorted({str(r["date"]) for r in per_date})
    methods = sorted({str(r["method"]) for r in per_date})
    position = {d: i for i, d in enumerate(dates)}
    fig = Figure(figsize=(max(7.0, 0.6 * len(dates) + 3), 4.5))
    ax = fig.subplots()
    for d in hard:
        ax.axvspan(position[d] - 0.45, position[d] + 0.45, color="#fdae61", alpha=0.35, linewidth=0)
    width = 0.8 / max(len(methods), 1)
    for k, method in enumerate(methods):
        rows = [r for r in per_date if str(r["method"]) == method]
        x = [position[str(r["date"])] - 0.4 + width * (k + 0.5) for r in rows]
        ax.bar(x, [r["RMSE"] for r in rows], width=width, label=method)
    ax.set_xticks(range(len(dates)))
    ax.set_xticklabels(dates, rotation=45, ha="right")
    ax.set_ylabel(f"RMSE ({unit})" if unit else "RMSE")
    if hard:
        ax.plot([], [], color="#fdae61", alpha=0.6, linewidth=8, label="every method does badly")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return figure_uri(fig)
