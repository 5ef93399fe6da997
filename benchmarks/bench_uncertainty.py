"""Calibrated uncertainty and cloud-aware output of fuseseries, measured on the simulator (truth every day).

    .venv/bin/python benchmarks/bench_uncertainty.py [--size 96] [--days 61] [--methods estarfm,starfm,edcstfn]

For each variability (low, medium, high) it simulates a size x size series
(a fine image every 6 days, clouds), calibrates each method on fine dates
(each predicted without its own fine image, coarse gaps filled up to 8 days;
EDCSTFN is first trained for a few epochs on CPU and calibrated on its
validation dates, which it never trained on, and the cost of its raw spread
(two-pair disagreement + 3 test-time flips) relative to a prediction is printed),
then predicts every coarse-only date (never used for calibration; dates whose
reference images are entirely cloudy are left out) and compares
with the truth: coverage of the 90 % interval, mean half-width, Spearman
correlation of the half-width with |error|, and RMSE and coverage separately on
pixels whose coarse value was observed (clear) and filled (temporally or
spatially). Prints a Markdown table (the README's).
"""
import argparse
import datetime as dt
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".build", "plugins"))

from lst_fusion_plugin.common.pairs import read_pairs  # noqa: E402
from lst_fusion_plugin.common.raster_io import has_valid_pixel, read_array  # noqa: E402
from lst_fusion_plugin.evaluation.conformal import interval_scores, spearman  # noqa: E402
from lst_fusion_plugin.simulation.simulate import simulate_series  # noqa: E402
from lst_fusion_plugin.workflows.cloud_fill import OBSERVED, SPATIAL, TEMPORAL  # noqa: E402
from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series  # noqa: E402
from lst_fusion_plugin.workflows.methods import FusionMethod  # noqa: E402
from lst_fusion_plugin.workflows.calibration import calibrate_model_file, series_predictor  # noqa: E402
from lst_fusion_plugin.workflows.uncertainty import UncertaintySettings, sidecar_paths  # noqa: E402

HALF_WINDOW = {"estarfm": 10, "starfm": 10}


def deep_method(sim, name: str, folder: str, epochs: int) -> FusionMethod:
    """Train ``name`` on the series (validation dates held out) and calibrate it on them."""
    from lst_fusion_plugin.models.deep.train import TrainConfig, train_model
    path = os.path.join(folder, f"{name}.pt")
    os.makedirs(folder, exist_ok=True)
    config = TrainConfig(model=name, epochs=epochs, patch=48, stride=16, validation_fraction=0.4, device="cpu",
                         patience=epochs)
    train_model(sim.pairs, path, config)
    calibrate_model_file(path, read_pairs(sim.pairs), UncertaintySettings(fill_days=8), device="cpu")
    return FusionMethod("model", path, device="cpu")


def spread_cost(sim, method: FusionMethod, folder: str) -> float:
    """Seconds of the raw spread / seconds of the prediction, for one two-pair date."""
    from lst_fusion_plugin.models.deep.predict import fuse_paths
    from lst_fusion_plugin.models.deep.spread import write_deep_spread
    fine = sorted(sim.fine)
    a, b = fine[1], fine[2]
    target = next(d for d in sim.dates if a < d < b)
    args = (method.model_file, sim.fine[a], sim.coarse_on_fine[a], sim.coarse_on_fine[target])
    fuse_paths(*args, os.path.join(folder, "warm.tif"), sim.fine[b], sim.coarse_on_fine[b], device="cpu")
    started = time.perf_counter()
    fuse_paths(*args, os.path.join(folder, "p.tif"), sim.fine[b], sim.coarse_on_fine[b], device="cpu")
    predict_s = time.perf_counter() - started
    started = time.perf_counter()
    write_deep_spread(*args, os.path.join(folder, "s.tif"), sim.fine[b], sim.coarse_on_fine[b], device="cpu")
    return (time.perf_counter() - started) / predict_s


def measure(sim, method: FusionMethod, folder: str) -> dict:
    """Calibrate (classical methods: here), predict the coarse-only dates, score against the truth."""
    pairs = read_pairs(sim.pairs)
    started = time.perf_counter()
    predictor, _ = series_predictor(method, pairs, folder, True, UncertaintySettings(fill_days=8))
    calibration_s = time.perf_counter() - started
    targets = [dt.date.fromisoformat(d) for d in sim.dates if d not in sim.fine]
    plans = [p for p in plan_series(pairs, method.pairs_needed(), targets, method.falls_back_to_one_pair())
             if not p.skipped and all(has_valid_pixel(r.fine) and has_valid_pixel(r.coarse) for r in p.references)]
    started = time.perf_counter()
    result = run_series(plans, predictor, folder)
    predict_s = time.perf_counter() - started
    p, t, w, q = [], [], [], []
    for date in result["predicted"]:
        path = os.path.join(folder, f"lst_{date}.tif")
        uncertainty, quality = sidecar_paths(path)
        p.append(read_array(path))
        t.append(read_array(sim.truth[date.isoformat()]))
        w.append(read_array(uncertainty))
        q.append(read_array(quality))
    p, t, w, q = (np.stack(a) for a in (p, t, w, q))
    error = np.abs(p - t)
    clear, filled = q == OBSERVED, (q == TEMPORAL) | (q == SPATIAL)
    row = {"dates": len(result["predicted"]), "calibration_s": calibration_s, "predict_s": predict_s,
           "spearman": spearman(w, error), **interval_scores(p, t, w)}
    for name, mask in (("clear", clear), ("filled", filled)):
        scores = interval_scores(p[mask], t[mask], w[mask])
        row[f"{name}_coverage"] = scores["coverage"]
        row[f"{name}_rmse"] = float(np.sqrt(np.nanmean((p[mask] - t[mask]) ** 2))) if mask.any() else float("nan")
        row[f"{name}_share"] = float(mask.sum() / max(1, (clear | filled).sum()))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--days", type=int, default=61)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--methods", default="estarfm,starfm,edcstfn")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    print(f"{args.size} x {args.size} pixels, {args.days} days, a fine image every 6 days, cloud fraction 0.2, "
          f"seed {args.seed}; 90 % intervals; coarse gaps filled up to 8 days\n")
    print("| method | variability | dates | coverage | mean half-width (K) | Spearman(sigma, abs err) | "
          "RMSE clear (K) | coverage clear | RMSE filled (K) | coverage filled | filled share | "
          "calibration (s) | prediction (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for variability in ("low", "medium", "high"):
            sim = simulate_series(os.path.join(work, variability), rows=args.size, cols=args.size,
                                  days=args.days, revisit=6, variability=variability, cloud_fraction=0.2,
                                  seed=args.seed)
            for name in args.methods.split(","):
                folder = os.path.join(work, f"{variability}_{name}")
                if name in HALF_WINDOW:
                    method = FusionMethod(name, settings={"half_window": HALF_WINDOW[name]})
                else:
                    started = time.perf_counter()
                    method = deep_method(sim, name, folder, args.epochs)
                    cost = spread_cost(sim, method, folder)
                    seconds = time.perf_counter() - started
                    print(f"<!-- {name} {variability}: trained and calibrated in {seconds:.0f} s; "
                          f"raw spread costs {cost:.1f} x the prediction -->", flush=True)
                r = measure(sim, method, folder)
                print(f"| {name} | {variability} | {r['dates']} | {r['coverage']:.3f} | "
                      f"{r['mean_half_width']:.2f} | {r['spearman']:.2f} | {r['clear_rmse']:.2f} | "
                      f"{r['clear_coverage']:.3f} | {r['filled_rmse']:.2f} | {r['filled_coverage']:.3f} | "
                      f"{r['filled_share']:.2f} | {r['calibration_s']:.1f} | {r['predict_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
