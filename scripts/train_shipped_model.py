"""Train the EDCSTFN shipped with the plugin (resources/models/edcstfn_default.pt) and its summary.

    .venv/bin/python scripts/train_shipped_model.py [--epochs N] [--out FOLDER]

The training data is a series made by the plugin's own simulator
(``simulation.simulate``, seed 101: a fine image every 4 days, no clouds), so anyone
can reproduce the file: same seed, same torch version and 2 CPU threads give
the same weights. No scene or date that ``make demo`` evaluates (simulator
seed 2024) is used. The summary (edcstfn_default.md) records the settings,
the training history and the model's RMSE against the simulated truth of an
independent series (seed 7), next to the naive baseline F_ref + C_target - C_ref.
"""
import argparse
import json
import os
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
from plugin_path import link_plugin  # noqa: E402

link_plugin()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lst_fusion_plugin.models.deep.predict import fuse_paths  # noqa: E402
from lst_fusion_plugin.models.deep.train import TrainConfig, train_model  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array  # noqa: E402
from lst_fusion_plugin.simulation.simulate import simulate_series  # noqa: E402

SERIES = dict(rows=192, cols=192, days=49, revisit=4, cloud_fraction=0.0, seed=101, write_truth=False)
TEST_SERIES = dict(rows=160, cols=160, days=33, cloud_fraction=0.0, seed=7)


def evaluate(model_path: str, folder: str) -> dict:
    """RMSE (K) against the simulated truth of the model and of the naive baseline, predicting
    the middle date of each interval between fine dates from the pair before it."""
    sim = simulate_series(folder, **TEST_SERIES)
    fine_dates = sorted(sim.fine)
    out = {}
    for ref, after in zip(fine_dates, fine_dates[1:]):
        target = sim.dates[(sim.dates.index(ref) + sim.dates.index(after)) // 2]
        fine, coarse_ref, coarse_t = sim.fine[ref], sim.coarse_on_fine[ref], sim.coarse_on_fine[target]
        pred = os.path.join(folder, f"pred_{target}.tif")
        fuse_paths(model_path, fine, coarse_ref, coarse_t, pred, device="cpu")
        truth = read_array(sim.truth[target])
        naive = read_array(fine) + read_array(coarse_t) - read_array(coarse_ref)
        rmse = lambda a: float(np.sqrt(np.nanmean((a - truth) ** 2)))  # noqa: E731
        out[f"{ref} -> {target}"] = {"edcstfn_rmse_k": round(rmse(read_array(pred)), 3),
                                     "naive_rmse_k": round(rmse(naive), 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=os.path.join(REPO, "resources", "models"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = TrainConfig(model="edcstfn", epochs=args.epochs, batch_size=16, patience=4, patch=64, stride=32,
                         seed=0, validation_fraction=0.2, device="cpu",
                         hyperparameters={"pretrain_batches": 100})
    model_path = os.path.join(args.out, "edcstfn_default.pt")
    with tempfile.TemporaryDirectory() as tmp:
        table = simulate_series(os.path.join(tmp, "train"), **SERIES).pairs
        summary = train_model(table, model_path, config, Progress(info=print))
        scores = evaluate(model_path, os.path.join(tmp, "test"))
    lines = ["# Shipped EDCSTFN model (`edcstfn_default.pt`)", "",
             "Trained by `scripts/train_shipped_model.py` on a series made by the plugin's simulator "
             "(`core/simulate.py`, `lstfusion:simulate`: Kelvin, 30 m UTM fine grid, MODIS-like 926.6 m "
             "sinusoidal coarse images aligned bilinearly onto it). "
             "It makes `lstfusion:fuse` work out of the box and shows the workflow; for real scenes "
             "train a model on your own series with `lstfusion:train`.", "",
             f"- series: {json.dumps(SERIES)}",
             f"- training: {json.dumps({k: v for k, v in config.__dict__.items()})}",
             f"- best epoch {summary['best_epoch']} of {summary['epochs_run']}, validation RMSE "
             f"{summary['validation_rmse']:.3f} K, {summary['train_patches']} training patches", "",
             "| epoch | training loss | validation loss | validation RMSE (K) |", "|---|---|---|---|"]
    lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h.get('validation_loss', float('nan')):.4f} | "
              f"{h.get('validation_rmse', float('nan')):.3f} |" for h in summary["history"]]
    lines += ["", f"Independent simulated series {json.dumps(TEST_SERIES)}, RMSE against the simulated "
              "truth, predicting the middle of each interval from the fine pair before it:", "",
              "| dates | EDCSTFN RMSE (K) | naive F_ref + C_t - C_ref RMSE (K) |",
              "|---|---|---|"]
    lines += [f"| {k} | {v['edcstfn_rmse_k']} | {v['naive_rmse_k']} |" for k, v in scores.items()]
    lines += ["", "Read these numbers before using this model on real data: it was trained for minutes on "
              "a CPU, on simulated scenes. It exists so that the tool runs out of the box and shows the "
              "workflow; for real work train a model on your own series with `lstfusion:train` "
              "(on a GPU for the survey's sizes)."]
    with open(os.path.join(args.out, "edcstfn_default.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
