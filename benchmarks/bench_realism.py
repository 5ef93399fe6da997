"""Realism report: the statistics of real MODIS/Landsat pairs beside those of every simulator setting.

    .venv/bin/python benchmarks/bench_realism.py [--size 240] [--seeds 5 6 7] [--json FILE]

Computes the statistics of ``evaluation/realism.py`` the same way on

* the real Yanco pairs (``../shared/data/yanco``: Landsat 8 and MOD11A1 on one
  ~100 m grid, 2016-02-05 and 2016-03-08, 32 days apart);
* the real MOD11A1 granule (``../shared/data/modis``, 2019-11-01, h14v09): coarse
  statistics only, on its own 926.6 m grid, QC rule 'survey';
* every ``variability`` setting of the simulator: ``--size`` square scenes of 97
  clear days, a fine image every 16 days, seeds ``--seeds``; two-date figures
  over every pair of consecutive fine dates (16 days apart), one-date figures
  over every fine date.

and prints a markdown table: median (min to max) over the pairs or dates.
Real data that is absent is reported as such (the simulated columns still come).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402
DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
YANCO_DATES = ("20160205", "20160308")

ROWS = [  # (key, label, format)
    ("change_correlation", "correlation of fine change with coarse change between two fine dates", "{:.2f}"),
    ("unexplained_change_std", "std of the fine change not explained by the coarse change (K)", "{:.2f}"),
    ("bias_change", "change of the mean fine-minus-coarse bias between the dates (K)", "{:+.1f}"),
    ("abs_bias_change", "size of that change, abs (K)", "{:.1f}"),
    ("coarse_minus_fine", "MODIS-minus-Landsat bias of a date, mean of C - F (K)", "{:+.1f}"),
    ("fine_minus_coarse_std", "std of fine minus coarse on one date (K)", "{:.2f}"),
    ("fine_std", "std of the fine image (K)", "{:.2f}"),
    ("coarse_std", "std of the coarse image on the fine grid (K)", "{:.2f}"),
    ("fine_autocorrelation_m", "autocorrelation length of the fine LST (m, plane removed)", "{:.0f}"),
    ("coarse_autocorrelation_m", "autocorrelation length of the coarse LST on the fine grid (m)", "{:.0f}"),
    ("native_coarse_std", "std of the coarse image on its own ~1 km grid (K)", "{:.2f}"),
    ("native_coarse_autocorrelation_m", "autocorrelation length of the coarse LST on its own grid (m)",
     "{:.0f}"),
    ("mean_change_std", "day-to-day change of the coarse scene mean, std over days (K)", "{:.2f}"),
    ("spatial_change_std", "day-to-day change of the coarse image, std over pixels (K)", "{:.2f}"),
]


def collect(into: dict, values: dict) -> None:
    for key, value in values.items():
        into.setdefault(key, []).append(value)


def yanco_statistics() -> dict:
    """Every statistic of the real Yanco pairs (one pair, two dates), or {} when the data is absent."""
    from lst_fusion_plugin.common.raster_io import read_array, read_grid
    from lst_fusion_plugin.evaluation.metrics import pixel_size_m
    from lst_fusion_plugin.evaluation.realism import date_statistics, pair_statistics
    folder = os.path.join(DATA, "yanco")
    if not os.path.isdir(folder):
        return {}
    fine = [read_array(os.path.join(folder, f"Landsat_LST_cloudrm_{d}.tif")) for d in YANCO_DATES]
    coarse = [read_array(os.path.join(folder, f"MOD11A1_LST_cloudrm_{d}.tif")) for d in YANCO_DATES]
    pixel = pixel_size_m(read_grid(os.path.join(folder, f"Landsat_LST_cloudrm_{YANCO_DATES[0]}.tif")))
    stats: dict = {}
    pair = pair_statistics(fine[0], fine[1], coarse[0], coarse[1])
    collect(stats, dict(pair, abs_bias_change=abs(pair["bias_change"])))
    for f, c in zip(fine, coarse):
        collect(stats, date_statistics(f, c, pixel))
    return stats


def granule_statistics() -> dict:
    """Coarse statistics of the real MOD11A1 granule on its own grid, or {} when it is absent."""
    from lst_fusion_plugin.common.raster_io import read_array, read_grid
    from lst_fusion_plugin.evaluation.realism import autocorrelation_length, image_std
    from lst_fusion_plugin.preprocessing.modis import modis_to_lst
    granule = os.path.join(DATA, "modis", "MOD11A1.A2019305.h14v09.hdf")
    if not os.path.exists(granule):
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lst.tif")
        modis_to_lst(granule, path, quality="survey")
        lst, pixel = read_array(path), read_grid(path).pixel_size[0]
    return {"native_coarse_std": [image_std(lst)],
            "native_coarse_autocorrelation_m": [autocorrelation_length(lst, pixel)]}


def simulated_statistics(variability: str, size: int, seeds, folder: str) -> dict:
    """Every statistic of simulated series of one variability setting, pooled over the seeds."""
    from lst_fusion_plugin.common.raster_io import read_array
    from lst_fusion_plugin.evaluation.realism import (autocorrelation_length, daily_change,
                                                      date_statistics, image_std, pair_statistics)
    from lst_fusion_plugin.simulation.simulate import simulate_series
    stats: dict = {}
    for seed in seeds:
        sim = simulate_series(os.path.join(folder, f"{variability}_{seed}"), rows=size, cols=size, days=97,
                              revisit=16, cloud_fraction=0.0, seed=seed, variability=variability,
                              write_truth=False)
        dates = sorted(sim.fine)
        fine = {d: read_array(sim.fine[d]) for d in dates}
        coarse = {d: read_array(sim.coarse_on_fine[d]) for d in dates}
        for before, after in zip(dates, dates[1:]):
            pair = pair_statistics(fine[before], fine[after], coarse[before], coarse[after])
            collect(stats, dict(pair, abs_bias_change=abs(pair["bias_change"])))
        for d in dates:
            collect(stats, date_statistics(fine[d], coarse[d], 30.0))
            native = read_array(sim.coarse[d])
            collect(stats, {"native_coarse_std": image_std(native),
                            "native_coarse_autocorrelation_m": autocorrelation_length(
                                native, sim.coarse_grid.pixel_size[0])})
        collect(stats, daily_change([read_array(sim.coarse_on_fine[d]) for d in sim.dates]))
    return stats


def cell(values, fmt: str) -> str:
    """'median (min to max)' of the finite values, 'n/a' when none, 'above half the scene' for NaN lengths."""
    if not values:
        return "n/a"
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return "> half the scene"
    text = fmt.format(float(np.median(finite)))
    if len(finite) > 1:
        text += f" ({fmt.format(min(finite))} to {fmt.format(max(finite))})"
    if len(finite) < len(values):
        text += f", {len(values) - len(finite)} > half the scene"
    return text


def table(columns: dict) -> str:
    """Markdown table: one row per statistic, one column per source."""
    lines = ["| statistic | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, label, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(stats.get(key, []), fmt) for stats in columns.values())
                     + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=240, help="simulated scene side in 30 m pixels")
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 6, 7])
    parser.add_argument("--json", help="also write every value to this JSON file")
    args = parser.parse_args()
    link_plugin()
    from lst_fusion_plugin.simulation.forcing import VARIABILITY
    started = time.time()
    columns = {"Yanco (real)": yanco_statistics(), "MOD11A1 granule (real)": granule_statistics()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in VARIABILITY:
            columns[f"simulate {name}"] = simulated_statistics(name, args.size, args.seeds, tmp)
    print(f"Simulated: {args.size} x {args.size} pixels of 30 m, 97 clear days, fine every 16 days, "
          f"seeds {' '.join(map(str, args.seeds))}; median (min to max) over pairs of consecutive fine "
          f"dates or over fine dates ({time.time() - started:.0f} s).\n")
    print(table(columns))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(columns, handle, indent=1)


if __name__ == "__main__":
    main()
