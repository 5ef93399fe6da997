"""lstfusion:fuseseries through Processing on a small simulated series."""
import csv
import os

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from conftest import REPO
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units
from lst_fusion_plugin.simulation.simulate import simulate_series

SHIPPED = os.path.join(REPO, "resources", "models", "edcstfn_default.pt")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """96 x 96 pixels, 20 days: fine images on days 0 and 16."""
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=96, cols=96, days=20,
                           seed=5, cloud_fraction=0.0)


def run(processing, series, out, **extra):
    parameters = {"PAIRS": series.pairs, "METHOD": 0, "OUTPUT_FOLDER": str(out)}
    parameters.update(extra)
    return processing.run("lstfusion:fuseseries", parameters)


def test_starfm_series_writes_every_date_an_index_and_a_dated_vrt(processing, series, tmp_path):
    result = run(processing, series, tmp_path, DATES="2023-06-03/2023-06-06")
    assert (result["PREDICTED"], result["REUSED"], result["SKIPPED"]) == (4, 0, 0)
    ds = gdal.Open(result["VRT"])
    dates = ["2023-06-03", "2023-06-04", "2023-06-05", "2023-06-06"]
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)] == dates
    assert read_units(result["VRT"]) == "kelvin"
    first = str(tmp_path / "lst_2023-06-03.tif")
    assert read_grid(first).difference(read_grid(series.fine["2023-06-01"])) is None
    np.testing.assert_array_equal(ds.GetRasterBand(1).ReadAsArray(), np.nan_to_num(read_array(first), nan=-9999))
    truth = read_array(series.truth["2023-06-03"])
    assert np.sqrt(np.nanmean((read_array(first) - truth) ** 2)) < 3.0  # a sensible prediction
    with open(result["INDEX"]) as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["predicted"] * 4
    assert rows[0]["detail"] == "references 2023-06-01"


def test_second_run_resumes_and_overwrite_recomputes(processing, series, tmp_path):
    run(processing, series, tmp_path, DATES="2023-06-02,2023-06-03")
    os.remove(tmp_path / "lst_2023-06-03.tif")
    again = run(processing, series, tmp_path, DATES="2023-06-02,2023-06-03")
    assert (again["PREDICTED"], again["REUSED"]) == (1, 1)
    forced = run(processing, series, tmp_path, DATES="2023-06-02,2023-06-03", OVERWRITE=True)
    assert (forced["PREDICTED"], forced["REUSED"]) == (2, 0)


def test_two_pair_method_skips_dates_outside_the_pairs(processing, series, tmp_path):
    result = run(processing, series, tmp_path, METHOD=1, DATES="2023-06-08,2023-06-18")
    assert (result["PREDICTED"], result["SKIPPED"]) == (1, 1)
    with open(result["INDEX"]) as f:
        rows = {r["date"]: r for r in csv.DictReader(f)}
    assert rows["2023-06-18"]["detail"].startswith("no reference pair after this date")
    assert rows["2023-06-08"]["detail"] == "references 2023-06-01 and 2023-06-17"


def test_deep_model_series_falls_back_to_one_pair_at_the_ends(processing, series, tmp_path):
    result = run(processing, series, tmp_path, METHOD=3, MODEL_FILE=SHIPPED, DEVICE=1,
                 DATES="2023-06-05,2023-06-19")
    assert (result["PREDICTED"], result["SKIPPED"]) == (2, 0)
    with open(result["INDEX"]) as f:
        rows = {r["date"]: r["detail"] for r in csv.DictReader(f)}
    assert rows == {"2023-06-05": "references 2023-06-01 and 2023-06-17",
                    "2023-06-19": "references 2023-06-17"}
    assert np.isfinite(read_array(str(tmp_path / "lst_2023-06-19.tif"))).mean() > 0.9


def test_deep_method_without_model_file_and_bad_dates_are_clear_errors(processing, series, tmp_path):
    with pytest.raises(QgsProcessingException, match="give its MODEL_FILE"):
        run(processing, series, tmp_path, METHOD=3)
    with pytest.raises(QgsProcessingException, match="neither a list of dates"):
        run(processing, series, tmp_path, DATES="June")


def test_pairs_table_without_rows_stops_and_writes_nothing(processing, tmp_path):
    table = tmp_path / "pairs.csv"
    table.write_text("date,fine,coarse\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(QgsProcessingException,
                       match=r"pairs.csv has a header but no rows: it lists no date to work on"):
        processing.run("lstfusion:fuseseries", {"PAIRS": str(table), "METHOD": 0, "OUTPUT_FOLDER": str(out)})
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["pairs.csv"]
