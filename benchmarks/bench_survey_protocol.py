"""The survey's protocol (arXiv 2412.16631) scaled down, on a simulated medium-variability series.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_survey_protocol.py [--size 256] [--fine-dates 10]
        [--minutes 15] [--finetune-minutes 5] [--models edcstfn,sttfn,mlffgan] [--modes scratch,finetune]
        [--out FOLDER]

A series of ``--size`` x ``--size`` fine pixels (simulator seed 505, never used to train
the shipped models), clear sky, a fine image every 8 days, ``--fine-dates`` fine dates.
Test dates: every 5th fine date from the 2nd (the survey's 34/8 split scaled down: about
one date in five), never the first or last, so two-pair methods have a pair on each side.
Each deep model is trained on the other dates (the test dates' fine images removed)
from scratch within ``--minutes`` of training time (``TrainConfig.max_seconds``) and
fine-tuned from its shipped weights (``resources/models``) within ``--finetune-minutes``,
then every method
predicts every test date from the nearest pair before and after it (one-pair methods:
the nearest pair). RMSE, SSIM and CC against the fine image of the date (the
project's metric definitions, ``evaluation.metrics``), per method, averaged over the
test dates, with training seconds. Baselines: ESTARFM (default settings) and the naive
F_ref + C_target - C_ref from the nearest pair before the date.
The validation RMSE after each epoch, with the training seconds spent by then, is printed
too (and kept in ``results.json``): the measured trend.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

link_plugin()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lst_fusion_plugin.common.pairs import read_pairs  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array, read_grid, write_array  # noqa: E402
from lst_fusion_plugin.evaluation.metrics import compute_metrics  # noqa: E402
from lst_fusion_plugin.models.deep.train import TrainConfig, train_model  # noqa: E402
from lst_fusion_plugin.simulation.simulate import simulate_series  # noqa: E402
from lst_fusion_plugin.workflows.experiment import training_table  # noqa: E402
from lst_fusion_plugin.workflows.fuse_series import plan_series  # noqa: E402
from lst_fusion_plugin.workflows.methods import FusionMethod  # noqa: E402

SEED = 505
REVISIT = 8


def shipped(name: str) -> str:
    return os.path.join(REPO, "resources", "models", f"{name}_default.pt")


def naive(plan, out: str) -> None:
    """F_ref + C_target - C_ref from the pair before the date."""
    ref = plan.references[0]
    value = read_array(ref.fine) + read_array(plan.target.coarse) - read_array(ref.coarse)
    write_array(out, value, read_grid(ref.fine), "kelvin")


def score(pred: str, ref: str) -> dict:
    m = compute_metrics(pred, ref)
    return {"RMSE": m["RMSE"], "SSIM": m["SSIM"], "CC": m["CC"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--fine-dates", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=15.0, help="training time budget from scratch")
    parser.add_argument("--finetune-minutes", type=float, default=5.0, help="training time budget of fine-tuning")
    parser.add_argument("--models", default="edcstfn,sttfn,mlffgan")
    parser.add_argument("--modes", default="scratch,finetune")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--patience", type=int, default=12, help="epochs without a lower validation RMSE")
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--out", default="/tmp/bench_survey_protocol")
    args = parser.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    sim = simulate_series(os.path.join(args.out, "series"), rows=args.size, cols=args.size,
                          days=REVISIT * (args.fine_dates - 1) + 1, revisit=REVISIT, cloud_fraction=0.0,
                          seed=SEED, variability="medium", write_truth=False)
    pairs = read_pairs(sim.pairs)
    fine_dates = [p.date for p in pairs if p.fine]
    test_dates = fine_dates[1:-1:5]
    print(f"series {args.size} x {args.size}, {len(fine_dates)} fine dates, test dates "
          f"{', '.join(map(str, test_dates))}", flush=True)
    table = training_table(pairs, test_dates, os.path.join(args.out, "train_pairs.csv"))
    methods = {"naive": None, "estarfm": FusionMethod("estarfm")}
    trends, seconds = {}, {}
    for name in args.models.split(","):
        for mode in args.modes.split(","):
            label = f"{name} ({mode})"
            path = os.path.join(args.out, "models", f"{name}_{mode}.pt")
            config = TrainConfig(model=name, epochs=args.epochs, patience=args.patience, patch=args.patch,
                                 stride=args.patch // 2, batch_size=8, device="cpu", seed=0,
                                 max_seconds=60 * (args.finetune_minutes if mode == "finetune" else args.minutes),
                                 initial_model=shipped(name) if mode == "finetune" else "")
            start = time.time()
            summary = train_model(table, path, config, Progress())
            seconds[label] = round(time.time() - start)
            trends[label] = [(h["seconds"], round(h["validation_rmse"], 3)) for h in summary["history"]]
            print(f"{label}: {summary['epochs_run']} epochs in {seconds[label]} s (best: epoch "
                  f"{summary['best_epoch']}), validation RMSE (K) per epoch at training second "
                  + ", ".join(f"{t:.0f} s: {r}" for t, r in trends[label]), flush=True)
            methods[label] = FusionMethod("model", path, device="cpu")
    rows = {}
    for label, method in methods.items():
        scores = []
        for date in test_dates:
            two = method is None or method.pairs_needed() == 2
            fallback = method is not None and method.falls_back_to_one_pair()
            plan = plan_series(pairs, 2 if two else 1, [date], fallback)[0]
            out = os.path.join(args.out, "predictions", f"{label.replace(' ', '_')}_{date}.tif")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            if method is None:
                naive(plan, out)
            else:
                method.predict(plan, out, Progress())
            scores.append(score(out, next(p.fine for p in pairs if p.date == date)))
        rows[label] = {k: float(np.mean([s[k] for s in scores])) for k in ("RMSE", "SSIM", "CC")}
    estarfm = rows["estarfm"]["RMSE"]
    print("\n| method | RMSE (K) | vs ESTARFM | SSIM | CC | training (s) |\n|---|---|---|---|---|---|")
    for label, r in rows.items():
        print(f"| {label} | {r['RMSE']:.3f} | {100 * (r['RMSE'] / estarfm - 1):+.1f} % | {r['SSIM']:.3f} | "
              f"{r['CC']:.3f} | {seconds.get(label, '')} |")
    with open(os.path.join(args.out, "results.json"), "w") as handle:
        json.dump({"rows": rows, "trends": trends, "seconds": seconds,
                   "test_dates": [str(d) for d in test_dates], "args": vars(args)}, handle, indent=1)


if __name__ == "__main__":
    main()
