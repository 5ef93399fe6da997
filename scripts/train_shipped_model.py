"""Train the models shipped with the plugin (resources/models/<model>_default.pt) and their summaries.

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_shipped_model.py [--models edcstfn,sttfn,mlffgan]
        [--minutes 4] [--out resources/models]

Training data: three series made by the plugin's simulator (``simulation.simulate``),
one per variability (low, medium, high) on three different landscapes (seeds 101,
202, 303), clear sky, a fine image every 8 days. Their images are laid side by
side, date by date, into one mosaic series (a no-data strip between scenes, so no
training patch straddles two scenes), so one training run sees every landscape and
variability. No scene or seed that ``make demo`` (seed 2024), the tests or the
survey benchmark (seed 505) evaluate is used. Each model trains for at most
``--minutes`` of CPU (a time budget, see ``TrainConfig.max_seconds``) on 2 threads.

The summary (``<model>_default.md``) records the settings, the training history
and the model's RMSE against the simulated truth of an independent series (seed
7, medium variability), next to the naive baseline F_ref + C_target - C_ref.
MLFF-GAN's weights are stored as float16 (the loader upcasts them) to keep the
file under 25 MB.
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

from lst_fusion_plugin.common.grid import Grid  # noqa: E402
from lst_fusion_plugin.common.pairs import PairRow, read_pairs, write_pairs  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array, read_grid, write_array  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import load_model, save_model  # noqa: E402
from lst_fusion_plugin.models.deep.predict import fuse_paths  # noqa: E402
from lst_fusion_plugin.models.deep.train import TrainConfig, train_model  # noqa: E402
from lst_fusion_plugin.simulation.simulate import simulate_series  # noqa: E402

SCENES = [dict(variability="low", seed=101), dict(variability="medium", seed=202),
          dict(variability="high", seed=303)]
COMMON = dict(rows=128, cols=128, days=73, revisit=8, cloud_fraction=0.0, write_truth=False)
GAP = 8
TEST_SERIES = dict(rows=160, cols=160, days=33, revisit=8, cloud_fraction=0.0, seed=7, variability="medium")
TRAINING = {
    "edcstfn": dict(patch=40, stride=20, batch_size=8),
    "sttfn": dict(patch=40, stride=20, batch_size=8),
    "mlffgan": dict(patch=48, stride=24, batch_size=4),
}
FP16_FILES = ("mlffgan",)


def mosaic_series(folder: str) -> str:
    """Simulate the scenes and write the side-by-side mosaic series; returns its pairs table."""
    tables = [read_pairs(simulate_series(os.path.join(folder, f"scene{k}"), **COMMON, **scene).pairs)
              for k, scene in enumerate(SCENES)]
    dates = sorted(set.intersection(*({p.date for p in t if p.fine} for t in tables)))
    first = read_grid(tables[0][0].coarse)
    rows, cols = first.shape
    width = len(tables) * cols + (len(tables) - 1) * GAP
    grid = Grid(first.crs_wkt, first.transform, width, rows)
    out = os.path.join(folder, "mosaic")
    os.makedirs(out, exist_ok=True)
    rows_out = []
    for date in dates:
        paths = {}
        for kind in ("fine", "coarse"):
            mosaic = np.full((rows, width), np.nan, np.float32)
            for k, table in enumerate(tables):
                row = next(p for p in table if p.date == date)
                mosaic[:, k * (cols + GAP):k * (cols + GAP) + cols] = read_array(getattr(row, kind))
            paths[kind] = write_array(os.path.join(out, f"{kind}_{date.isoformat()}.tif"), mosaic, grid, "kelvin")
        rows_out.append(PairRow(date, paths["fine"], paths["coarse"]))
    return write_pairs(os.path.join(out, "pairs.csv"), rows_out)


def evaluate(model_path: str, folder: str) -> dict:
    """RMSE (K) against the simulated truth of the model and of the naive baseline, predicting the
    middle date of each interval between fine dates from the pair before it (and with both pairs
    for two-pair models)."""
    sim = simulate_series(folder, **TEST_SERIES)
    two = get_spec(load_model(model_path).architecture).takes_second_pair
    fine_dates = sorted(sim.fine)
    out = {}
    for ref, after in zip(fine_dates, fine_dates[1:]):
        target = sim.dates[(sim.dates.index(ref) + sim.dates.index(after)) // 2]
        fine, coarse_ref, coarse_t = sim.fine[ref], sim.coarse_on_fine[ref], sim.coarse_on_fine[target]
        truth = read_array(sim.truth[target])

        def rmse(a):
            return round(float(np.sqrt(np.nanmean((a - truth) ** 2))), 3)

        pred = os.path.join(folder, f"pred_{target}.tif")
        fuse_paths(model_path, fine, coarse_ref, coarse_t, pred, device="cpu")
        row = {"model_rmse_k": rmse(read_array(pred)),
               "naive_rmse_k": rmse(read_array(fine) + read_array(coarse_t) - read_array(coarse_ref))}
        if two:
            pred2 = os.path.join(folder, f"pred2_{target}.tif")
            fuse_paths(model_path, fine, coarse_ref, coarse_t, pred2, fine_ref2=sim.fine[after],
                       coarse_ref2=sim.coarse_on_fine[after], device="cpu")
            row["model_two_pair_rmse_k"] = rmse(read_array(pred2))
        out[f"{ref} -> {target}"] = row
    return out


def store_half(path: str) -> None:
    """Rewrite a model file with float16 weights (the loader upcasts them to float32)."""
    model = load_model(path)
    model.state_dict = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict.items()}
    model.training = dict(model.training, stored_as="float16")
    save_model(path, model)


def summary_lines(name: str, config: TrainConfig, summary: dict, scores: dict, size_mb: float) -> list:
    spec = get_spec(name)
    lines = [f"# Shipped {spec.display_name} model (`{name}_default.pt`)", "",
             "Trained by `scripts/train_shipped_model.py` on simulated series (`simulation/simulate.py`, "
             "`lstfusion:simulate`: Kelvin, 30 m UTM fine grid, MODIS-like 926.6 m sinusoidal coarse images "
             "aligned bilinearly onto it): three scenes (low, medium, high variability; landscapes of seeds "
             "101, 202, 303) side by side in one mosaic series. It makes `lstfusion:fuse` work out of the box "
             "and is the starting point for fine-tuning (`lstfusion:train`, INITIAL_MODEL) on your own dates.", "",
             f"- scenes: {json.dumps(SCENES)}, each {json.dumps(COMMON)}",
             f"- training: {json.dumps({k: v for k, v in config.__dict__.items() if k != 'cache_dir'})}",
             f"- hyperparameters: {json.dumps(spec.hyperparameters(config.hyperparameters))}",
             f"- best epoch {summary['best_epoch']} of {summary['epochs_run']}, validation RMSE "
             f"{summary['validation_rmse']:.3f} K, {summary['train_patches']} training patches, "
             f"{summary['seconds']:.0f} s of training on 2 CPU threads ({summary['precision']})",
             f"- file size {size_mb:.1f} MB" + (" (weights stored as float16, upcast on loading)"
                                               if name in FP16_FILES else ""), "",
             "| epoch | batches | training loss | validation loss | validation RMSE (K) |", "|---|---|---|---|---|"]
    lines += [f"| {h['epoch']} | {h.get('batches', '')} | {h['train_loss']:.4f} | "
              f"{h.get('validation_loss', float('nan')):.4f} | {h.get('validation_rmse', float('nan')):.3f} |"
              for h in summary["history"]]
    two = any("model_two_pair_rmse_k" in v for v in scores.values())
    lines += ["", f"Independent simulated series {json.dumps(TEST_SERIES)}, RMSE against the simulated "
              "truth, predicting the middle of each interval from the fine pair before it"
              + (" (and from both pairs)" if two else "") + ":", "",
              "| dates | model RMSE (K) | " + ("two pairs RMSE (K) | " if two else "")
              + "naive F_ref + C_t - C_ref RMSE (K) |", "|---|---|" + ("---|" if two else "") + "---|"]
    lines += [f"| {k} | {v['model_rmse_k']} | " + (f"{v['model_two_pair_rmse_k']} | " if two else "")
              + f"{v['naive_rmse_k']} |" for k, v in scores.items()]
    lines += ["", "Read these numbers before using this model on real data: it was trained for minutes on a "
              "CPU, on simulated scenes. For real work fine-tune it on your own series with "
              "`lstfusion:train` (INITIAL_MODEL), on a GPU for the survey's sizes."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="edcstfn,sttfn,mlffgan")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default=os.path.join(REPO, "resources", "models"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        table = mosaic_series(os.path.join(tmp, "train"))
        for name in args.models.split(","):
            config = TrainConfig(model=name, epochs=args.epochs, patience=10, seed=0, validation_fraction=0.2,
                                 device="cpu", max_seconds=60 * args.minutes, cache_dir="", **TRAINING[name])
            model_path = os.path.join(args.out, f"{name}_default.pt")
            summary = train_model(table, model_path, config, Progress(info=print))
            record = load_model(model_path).training
            summary.update(seconds=record["seconds"], precision=record.get("precision", "float32"))
            if name in FP16_FILES:
                store_half(model_path)
            scores = evaluate(model_path, os.path.join(tmp, f"test_{name}"))
            lines = summary_lines(name, config, summary, scores, os.path.getsize(model_path) / 1e6)
            with open(os.path.join(args.out, f"{name}_default.md"), "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
