"""The README's demos (`make demo`, `make demo-real`) run as a new user runs them, into a relative folder.

Each demo runs in a fresh process from a temporary working folder with ``--out`` given as a
relative path (the case that once broke `make demo-real`: the paths written into
predictions.csv were resolved a second time). Their comparison tables are then checked
against an independent computation from the rasters they wrote.
"""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from conftest import REPO, yanco

gdal.UseExceptions()
DEMO = os.path.join(REPO, "scripts", "demo.py")


def read(path):
    """Float64 array of band 1 with the no-data value as NaN (GDAL only, not our readers)."""
    ds = gdal.Open(path)
    band = ds.GetRasterBand(1)
    values = band.ReadAsArray().astype(np.float64)
    if band.GetNoDataValue() is not None:
        values[values == band.GetNoDataValue()] = np.nan
    return values


def rmse(prediction, reference):
    return float(np.sqrt(np.nanmean((prediction - reference) ** 2)))


def run_demo(tmp_path, *args):
    """Run scripts/demo.py from tmp_path with a relative --out; return the output folder."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, DEMO, "--out", os.path.join("runs", "demo"), *args], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = tmp_path / "runs" / "demo"
    assert f"Rasters and reports in {out}" in done.stdout
    return out


def tables(out):
    """(mean per method, rows per date) of the demo's comparison tables."""
    with open(out / "comparison.csv") as f:
        summary = {row["method"]: row for row in csv.DictReader(f)}
    with open(out / "comparison_per_date.csv") as f:
        per_date = list(csv.DictReader(f))
    return summary, per_date


def check_against_the_rasters(out, summary, per_date):
    """Every per-date RMSE recomputed from the prediction and reference files; means match too."""
    with open(out / "predictions.csv") as f:
        listed = {(row["method"], row["date"]): row for row in csv.DictReader(f)}
    assert {(row["method"], row["date"]) for row in per_date} == set(listed)
    for row in per_date:
        prediction = listed[(row["method"], row["date"])]["prediction"]
        assert os.path.dirname(prediction) == str(out)  # written once, into the relative --out folder
        assert float(row["RMSE"]) == pytest.approx(rmse(read(prediction), read(row["reference"])), rel=1e-4)
    for method, row in summary.items():
        values = [float(r["RMSE"]) for r in per_date if r["method"] == method]
        assert int(row["dates"]) == len(values)
        assert float(row["RMSE_mean"]) == pytest.approx(np.mean(values), rel=1e-6)


UNDERTRAINED_SHIPPED = {"mlffgan"}
"""Shipped models still far from converged after their 8 CPU minutes (resources/models/<name>_default.md:
MLFF-GAN's validation RMSE fell every epoch): on the simulated demo they must beat the coarse image,
not beat it by 40 %."""


def shipped_models():
    return {name.replace("_default.pt", "") for name in os.listdir(os.path.join(REPO, "resources", "models"))
            if name.endswith(".pt")}


@pytest.mark.slow
def test_demo_real_into_a_relative_folder(tmp_path):
    landsat = {"2016-02-05": read(yanco("Landsat_LST_cloudrm_20160205.tif")),
               "2016-03-08": read(yanco("Landsat_LST_cloudrm_20160308.tif"))}
    modis = {"2016-02-05": read(yanco("MOD11A1_LST_cloudrm_20160205.tif")),
             "2016-03-08": read(yanco("MOD11A1_LST_cloudrm_20160308.tif"))}
    out = run_demo(tmp_path, "--real")
    summary, per_date = tables(out)
    assert set(summary) == {"naive", "starfm"} | shipped_models()
    check_against_the_rasters(out, summary, per_date)
    # the naive baseline from the Yanco files themselves, each date predicted from the other pair
    naive, copy = [], []
    for target, ref in (("2016-03-08", "2016-02-05"), ("2016-02-05", "2016-03-08")):
        naive.append(rmse(landsat[ref] + modis[target] - modis[ref], landsat[target]))
        copy.append(rmse(landsat[ref], landsat[target]))
    assert float(summary["naive"]["RMSE_mean"]) == pytest.approx(np.mean(naive), rel=1e-4)
    assert np.mean(naive) == pytest.approx(4.98, abs=0.005)  # ../shared/data/README.md
    for method, row in summary.items():  # copying the fine reference (8.85 K) is far worse
        assert float(row["RMSE_mean"]) < 0.7 * np.mean(copy), method
    assert (out / "ubestarfm_2016-02-18.tif").exists() and (out / "comparison_report.html").exists()


@pytest.mark.slow
def test_demo_into_a_relative_folder(tmp_path):
    out = run_demo(tmp_path)
    summary, per_date = tables(out)
    assert set(summary) == {"naive", "starfm", "estarfm", "ubestarfm"} | shipped_models()
    assert {int(row["dates"]) for row in summary.values()} == {2}
    check_against_the_rasters(out, summary, per_date)
    with open(out / "series" / "pairs.csv") as f:  # steps 1-3: the preprocessed series
        assert next(csv.reader(f)) == ["date", "fine", "coarse"]
    # the aligned coarse image as the prediction is the baseline that fusion exists to beat
    targets = sorted({row["date"] for row in per_date})
    truth = {d: next(r["reference"] for r in per_date if r["date"] == d) for d in targets}
    coarse = np.mean([rmse(read(str(out / f"coarse_{d}.tif")), read(truth[d])) for d in targets])
    for method in {"naive", "starfm", "estarfm"} | shipped_models():
        bound = 1.0 if method in UNDERTRAINED_SHIPPED else 0.6
        assert float(summary[method]["RMSE_mean"]) < bound * coarse, method
    assert (out / "comparison_report.html").exists() and (out / "evaluation_ubestarfm.html").exists()
