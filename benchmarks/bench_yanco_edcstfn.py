"""Deep models on the real Yanco scene: predict Landsat 2016-03-08 from the 2016-02-05 pair.

    .venv/bin/python benchmarks/bench_yanco_edcstfn.py [--models edcstfn,sttfn,mlffgan] [--epochs 3]
                                                       [--patch 64] [--stride 48] [--synthetic 4]
                                                       [--finetune] [--minutes 5]

Each model is trained the same way, WITHOUT the 2016-03-08 Landsat image: the pairs table
holds only the 2016-02-05 pair, so training uses the 'simulate coarse' option
(coarse = 10 x 10 block mean of the fine image, about MODIS's 1 km over the
~95 m grid, plus synthetic target dates). Then lstfusion:fuse's engine predicts
2016-03-08 from Landsat + MODIS 2016-02-05 and MODIS 2016-03-08. Prints RMSE
and CC against the real Landsat 2016-03-08 next to the naive baseline
F_ref + C_target - C_ref and the shipped model (metrics over pixels valid in
prediction and reference, as in methods.md; ubRMSE = RMSE after removing the mean bias).
With ``--finetune`` each model starts from its shipped weights (resources/models,
lstfusion:train's INITIAL_MODEL) instead of random ones; ``--minutes`` bounds each
training run.
"""
import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

link_plugin()
YANCO = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "yanco"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lst_fusion_plugin.models.deep.predict import fuse_paths  # noqa: E402
from lst_fusion_plugin.models.deep.train import TrainConfig, train_model  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array  # noqa: E402


def scores(pred: np.ndarray, ref: np.ndarray) -> str:
    ok = np.isfinite(pred) & np.isfinite(ref)
    p, r = pred[ok].astype(np.float64), ref[ok].astype(np.float64)
    rmse = np.sqrt(np.mean((p - r) ** 2))
    ubrmse = np.sqrt(np.mean((p - r - np.mean(p - r)) ** 2))
    cc = np.corrcoef(p, r)[0, 1]
    return f"RMSE {rmse:.2f} K, ubRMSE {ubrmse:.2f} K, CC {cc:.2f}, bias {np.mean(p - r):+.2f} K"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--stride", type=int, default=48)
    parser.add_argument("--synthetic", type=int, default=4)
    parser.add_argument("--keep", help="folder to keep the model and prediction in")
    parser.add_argument("--finetune", action="store_true", help="start from the shipped weights")
    parser.add_argument("--minutes", type=float, default=0.0, help="time budget per training run (0: none)")
    parser.add_argument("--models", default="edcstfn", help="comma-separated registry names, e.g. edcstfn,sttfn,mlffgan")
    args = parser.parse_args()
    torch.set_num_threads(2)
    f = lambda name: os.path.join(YANCO, name)  # noqa: E731
    fine0, coarse0 = f("Landsat_LST_cloudrm_20160205.tif"), f("MOD11A1_LST_cloudrm_20160205.tif")
    coarse1, truth_path = f("MOD11A1_LST_cloudrm_20160308.tif"), f("Landsat_LST_cloudrm_20160308.tif")
    folder = args.keep or tempfile.mkdtemp()
    os.makedirs(folder, exist_ok=True)
    table = os.path.join(folder, "pairs.csv")
    with open(table, "w") as handle:
        handle.write(f"date,fine,coarse\n2016-02-05,{fine0},{coarse0}\n2016-03-08,,{coarse1}\n")
    truth = read_array(truth_path)
    naive = read_array(fine0) + read_array(coarse1) - read_array(coarse0)
    print(f"naive F(02-05) + C(03-08) - C(02-05): {scores(naive, truth)}")
    print(f"MODIS 03-08 itself:                   {scores(read_array(coarse1), truth)}")
    results = []
    for name in args.models.split(","):
        model = os.path.join(folder, f"yanco_{name}.pt")
        initial = os.path.join(REPO, "resources", "models", f"{name}_default.pt") if args.finetune else ""
        config = TrainConfig(model=name, epochs=args.epochs, batch_size=16, patch=args.patch, stride=args.stride,
                             seed=0, device="cpu", simulate_coarse=True, coarse_factor=10,
                             synthetic_targets=args.synthetic, initial_model=initial,
                             max_seconds=60 * args.minutes)
        start = time.time()
        train_model(table, model, config, Progress(info=lambda m: print(m, flush=True)))
        print(f"{name}: training took {time.time() - start:.0f} s")
        how = "fine-tuned from its shipped weights" if args.finetune else "trained"
        results.append((f"{name} {how} on Yanco 02-05 (simulated coarse)", model))
        results.append((f"{name} shipped model (simulated scenes, not tuned)",
                        os.path.join(REPO, "resources", "models", f"{name}_default.pt")))
    for name, path in results:
        if not os.path.exists(path):
            print(f"{name}: {path} is absent (run scripts/train_shipped_model.py)")
            continue
        out = os.path.join(folder, f"pred_{os.path.basename(path)}.tif")
        fuse_paths(path, fine0, coarse0, coarse1, out, device="cpu")
        print(f"{name}: {scores(read_array(out), truth)}")


if __name__ == "__main__":
    main()
