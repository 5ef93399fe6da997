"""The simulator: determinism, layout, sensor consistency with the truth, class behaviour, variability."""
import csv
import datetime as dt
import filecmp
import json
import os
from dataclasses import replace

import numpy as np
import pytest
from osgeo import gdal, osr

from lst_fusion_plugin.preprocessing.align import align_to_grid
from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units
from lst_fusion_plugin.simulation.forcing import VARIABILITY, make_forcing
from lst_fusion_plugin.simulation.landscape import (BARE, CLASSES, FOREST, HARVESTED, IRRIGATED,
                                                  RAINFED, URBAN, WATER, make_landcover)
from lst_fusion_plugin.simulation.surface import Surface
from lst_fusion_plugin.simulation.simulate import SimulationSettings, load_simulation, simulate_series

gdal.UseExceptions()


def load_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def table(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def landcover(result):
    ds = gdal.Open(result.landcover)
    return ds.GetRasterBand(1).ReadAsArray()


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    settings = SimulationSettings(rows=96, cols=96, days=5, revisit=2, cloud_fraction=0.4, seed=7)
    a = simulate_series(str(tmp_path / "a"), settings)
    b = simulate_series(str(tmp_path / "b"), settings)
    c = simulate_series(str(tmp_path / "c"), settings, seed=8)
    files = [os.path.relpath(p, a.folder) for p in
             [a.pairs, a.pairs_native, a.truth_table, *a.coarse.values(), *a.coarse_on_fine.values(),
              *a.fine.values(), *a.truth.values()]]
    for rel in files:
        assert filecmp.cmp(os.path.join(a.folder, rel), os.path.join(b.folder, rel), shallow=False), rel
    np.testing.assert_array_equal(landcover(a), landcover(b))
    assert not np.array_equal(read_array(a.truth["2023-06-03"]), read_array(c.truth["2023-06-03"]))
    assert not np.array_equal(landcover(a), landcover(c))


def test_folder_layout_pairs_table_grids_units_and_clouds(tmp_path):
    result = simulate_series(str(tmp_path / "sim"), rows=120, cols=100, days=35, cloud_fraction=0.4,
                             seed=3, start="2024-03-30")
    rows = table(result.pairs)
    with open(result.pairs, encoding="utf-8") as handle:
        assert handle.readline().strip() == "date,fine,coarse"
    assert [r["date"] for r in rows][:3] == ["2024-03-30", "2024-03-31", "2024-04-01"]
    assert len(rows) == 35 and rows[-1]["date"] == "2024-05-03"
    assert [r["date"] for r in rows if r["fine"]] == ["2024-03-30", "2024-04-15", "2024-05-01"]
    native = table(result.pairs_native)
    assert [(r["date"], r["fine"]) for r in native] == [(r["date"], r["fine"]) for r in rows]
    for r, n in zip(rows, native):
        assert r["coarse"] == f"coarse_on_fine/{r['date']}.tif" and n["coarse"] == f"coarse/{r['date']}.tif"
        assert os.path.exists(os.path.join(result.folder, r["coarse"]))
        assert os.path.exists(os.path.join(result.folder, n["coarse"]))
        if r["fine"]:
            assert r["fine"] == f"fine/{r['date']}.tif"
            assert os.path.exists(os.path.join(result.folder, r["fine"]))
    truth_rows = table(result.truth_table)
    assert list(truth_rows[0])[:2] == ["date", "truth"]
    assert all(os.path.exists(os.path.join(result.folder, r["truth"])) for r in truth_rows)

    fine = read_grid(result.fine["2024-03-30"])
    assert fine.shape == (120, 100) and fine.pixel_size == (30.0, 30.0)
    assert fine.srs().GetAuthorityCode(None) == "32631"  # UTM 31N holds the default centre
    assert read_grid(result.truth["2024-04-02"]).difference(fine) is None
    assert read_grid(result.landcover).difference(fine) is None
    assert read_grid(result.coarse_on_fine["2024-04-02"]).difference(fine) is None
    coarse = read_grid(result.coarse["2024-04-02"])
    assert coarse.pixel_size == pytest.approx((926.625433055833,) * 2)
    assert "Sinusoidal" in coarse.crs_wkt
    # on MODIS's global grid, and covering the whole fine extent
    assert ((coarse.transform[0] + 20015109.354) / coarse.transform[1]) % 1 == pytest.approx(0, abs=1e-6)
    to_sinu = osr.CoordinateTransformation(fine.srs(), coarse.srs())
    fx0, fy0, fx1, fy1 = to_sinu.TransformBounds(*fine.bounds, 21)
    cx0, cy0, cx1, cy1 = coarse.bounds
    assert cx0 < fx0 and cy0 < fy0 and fx1 < cx1 and fy1 < cy1
    assert {read_units(p) for p in [*result.coarse.values(), *result.fine.values()]} == {"kelvin"}

    cover = np.array([float(r["cloud_cover"]) for r in truth_rows])
    assert 0.1 < cover.mean() < 0.6 and cover.max() <= 0.7
    for r in truth_rows:
        truth = read_array(result.truth[r["date"]])
        assert np.isfinite(truth).all() and 250 < truth.min() and truth.max() < 340
        coarse_valid = np.isfinite(read_array(result.coarse[r["date"]])).mean()
        assert coarse_valid == pytest.approx(float(r["coarse_valid"]), abs=1e-4)
        if r["fine_valid"]:
            fine_values = read_array(result.fine[r["date"]])
            assert np.isfinite(fine_values).mean() == pytest.approx(float(r["fine_valid"]), abs=1e-4)
            # gaps where the date is cloudy, none where it is clear
            assert (np.isnan(fine_values).mean() > 0.02) == (float(r["cloud_cover"]) > 0.05)
    assert min(float(r["coarse_valid"]) for r in truth_rows) < 0.9

    meta = load_json(result.metadata)
    assert meta["settings"]["seed"] == 3 and meta["fine_grid"]["crs"] == "EPSG:32631"
    assert {c["name"] for c in meta["classes"]} >= {"water", "forest", "urban", "road", "bare soil"}


def test_load_simulation_gives_back_what_simulate_returned(tmp_path):
    written = simulate_series(str(tmp_path / "sim"), rows=64, cols=64, days=20, cloud_fraction=0.3,
                              seed=2, variability="low")
    loaded = load_simulation(str(tmp_path / "sim"))
    assert loaded == written
    assert loaded.settings == SimulationSettings(rows=64, cols=64, days=20, cloud_fraction=0.3,
                                                 seed=2, variability="low")
    assert sorted(loaded.fine) == ["2023-06-01", "2023-06-17"]
    assert loaded.daily["2023-06-17"]["fine_valid"] is not None
    assert loaded.daily["2023-06-18"]["fine_valid"] is None
    clear = loaded.clearest_dates(3, fine=False)
    assert len(clear) == 3 and clear == sorted(clear) and not set(clear) & set(loaded.fine)
    worst_kept = max(loaded.daily[d]["cloud_cover"] for d in clear)
    others = [loaded.daily[d]["cloud_cover"] for d in loaded.dates if d not in clear and d not in loaded.fine]
    assert worst_kept <= min(others)
    with pytest.raises(InputError, match="no complete simulation: pairs.csv"):
        os.remove(loaded.pairs)
        load_simulation(loaded.folder)


def test_coarse_on_fine_is_the_bilinear_alignment_of_the_native_coarse(tmp_path):
    result = simulate_series(str(tmp_path / "sim"), rows=200, cols=160, days=4, cloud_fraction=0.3,
                             seed=21)
    assert any(np.isnan(read_array(p)).any() for p in result.coarse.values())  # gaps are exercised
    fine = result.fine_grid
    for date in result.dates:
        mine = read_array(result.coarse_on_fine[date])
        # GDAL with an exact transformation: the same numbers
        exact = gdal.Warp("", result.coarse[date], format="MEM", outputBounds=fine.bounds,
                          width=fine.width, height=fine.height, dstSRS=fine.crs_wkt,
                          resampleAlg="bilinear", dstNodata=np.nan, errorThreshold=0,
                          outputType=gdal.GDT_Float32)
        reference = exact.GetRasterBand(1).ReadAsArray()
        both = np.isfinite(mine) & np.isfinite(reference)
        assert both.sum() > 1000
        assert np.abs(mine - reference)[both].max() < 1e-3
        # lstfusion:aligntofine's engine (GDAL's approximate transformer, gap rule): close, same gaps
        align_to_grid(result.coarse[date], fine, str(tmp_path / "aligned.tif"), "bilinear")
        aligned = read_array(str(tmp_path / "aligned.tif"))
        assert (np.isnan(aligned) == np.isnan(mine)).mean() > 0.995
        both = np.isfinite(mine) & np.isfinite(aligned)
        assert np.abs(mine - aligned)[both].mean() < 0.05 and np.abs(mine - aligned)[both].max() < 0.4


def test_celsius_is_kelvin_minus_273_15(tmp_path):
    kelvin = simulate_series(str(tmp_path / "k"), rows=64, cols=64, days=2, seed=5)
    celsius = simulate_series(str(tmp_path / "c"), rows=64, cols=64, days=2, seed=5, units="celsius")
    for kind in ("truth", "coarse", "coarse_on_fine", "fine"):
        k, c = getattr(kelvin, kind)["2023-06-01"], getattr(celsius, kind)["2023-06-01"]
        assert read_units(c) == "celsius"
        np.testing.assert_allclose(read_array(c), read_array(k) - 273.15, atol=1e-3)
    assert float(table(celsius.truth_table)[0]["air_temperature"]) == pytest.approx(
        float(table(kelvin.truth_table)[0]["air_temperature"]) - 273.15, abs=2e-3)


def test_scene_centre_sets_the_utm_zone_and_the_season(tmp_path):
    south = simulate_series(str(tmp_path / "s"), rows=64, cols=64, days=1, start="2016-01-20",
                            centre_lat=-34.6, centre_lon=146.1)
    north = simulate_series(str(tmp_path / "n"), rows=64, cols=64, days=1, start="2016-01-20")
    assert read_grid(south.landcover).srs().GetAuthorityCode(None) == "32755"
    south_air = float(table(south.truth_table)[0]["air_temperature"])
    north_air = float(table(north.truth_table)[0]["air_temperature"])
    assert south_air > 293 and north_air < 285  # austral summer, boreal winter
    assert np.mean(read_array(south.truth["2016-01-20"])) > np.mean(read_array(north.truth["2016-01-20"])) + 10


def psf_oracle(truth, fine_grid, coarse_grid, sigma):
    """Independent aggregation: for each coarse pixel whose 3-sigma footprint lies inside the
    fine extent, the Gaussian-weighted mean of the 30 m truth around its centre (in UTM)."""
    cols, rows = np.meshgrid(np.arange(coarse_grid.width) + 0.5, np.arange(coarse_grid.height) + 0.5)
    sx = coarse_grid.transform[0] + cols * coarse_grid.transform[1]
    sy = coarse_grid.transform[3] + rows * coarse_grid.transform[5]
    tr = osr.CoordinateTransformation(coarse_grid.srs(), fine_grid.srs())
    centres = np.array(tr.TransformPoints(np.column_stack([sx.ravel(), sy.ravel()])))[:, :2]
    fx0, px, _, fy0, _, _ = fine_grid.transform
    fc, fr = np.meshgrid(np.arange(fine_grid.width) + 0.5, np.arange(fine_grid.height) + 0.5)
    fx, fy = fx0 + fc * px, fy0 - fr * px
    xmin, ymin, xmax, ymax = fine_grid.bounds
    out = np.full(sx.size, np.nan)
    for k, (x, y) in enumerate(centres):
        if x - 3 * sigma < xmin or x + 3 * sigma > xmax or y - 3 * sigma < ymin or y + 3 * sigma > ymax:
            continue
        d2 = (fx - x) ** 2 + (fy - y) ** 2
        w = np.where(d2 <= (3 * sigma) ** 2, np.exp(-d2 / (2 * sigma ** 2)), 0.0)
        out[k] = (w * truth).sum() / w.sum()
    return out.reshape(sx.shape)


@pytest.mark.parametrize("noise, bias_std", [(0.0, 0.0), (0.5, 0.6)])
def test_coarse_is_the_psf_aggregated_truth_plus_stated_bias_and_noise(tmp_path, noise, bias_std):
    result = simulate_series(str(tmp_path / "sim"), rows=330, cols=330, days=10, cloud_fraction=0.0,
                             coarse_noise=noise, coarse_bias=-0.8, coarse_bias_std=bias_std, seed=11)
    fine, coarse = read_grid(result.truth[result.dates[0]]), read_grid(result.coarse[result.dates[0]])
    residuals, biases = [], []
    for r in table(result.truth_table):
        oracle = psf_oracle(read_array(result.truth[r["date"]]), fine, coarse, 0.5 * 926.625433055833)
        residual = read_array(result.coarse[r["date"]]) - oracle
        residual = residual[np.isfinite(residual)]
        assert residual.size >= 30
        residuals.append(residual - float(r["coarse_bias"]))
        biases.append(float(r["coarse_bias"]))
    residuals = np.concatenate(residuals)
    if noise == 0:
        assert np.abs(residuals).max() < 0.03  # the PSF itself is reproduced (a 10 % wider one misses by 0.4 K)
        assert biases == pytest.approx([-0.8] * 10, abs=1e-3)
    else:
        assert abs(residuals.mean()) < 0.08
        assert residuals.std() == pytest.approx(noise, rel=0.12)
        assert 0.3 < np.std(biases) < 1.0 and abs(np.mean(biases) + 0.8) < 0.6


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """80 clear days of a 256 x 256 scene, medium variability: truth by class and the forcing table."""
    result = simulate_series(str(tmp_path_factory.mktemp("season")), rows=256, cols=256, days=80,
                             cloud_fraction=0.0, seed=42)
    classes = landcover(result)
    truth = np.stack([read_array(result.truth[d]) for d in result.dates])
    means = {c.code: truth[:, classes == c.code].mean(axis=1) for c in CLASSES}
    return result, classes, truth, means


def test_every_class_is_present_and_the_town_is_hotter_than_forest_and_irrigation_cools(season):
    _, classes, _, means = season
    counts = np.bincount(classes.ravel(), minlength=10)
    assert (counts[1:] > 100).all(), counts
    assert (means[URBAN] - means[FOREST]).mean() > 4.0
    assert (means[URBAN] > means[FOREST]).all()
    assert (means[RAINFED] - means[IRRIGATED]).mean() > 3.0
    assert (means[BARE] > means[FOREST]).all()


def test_water_damps_and_lags_while_bare_soil_and_urban_swing_widest(season):
    result, _, _, means = season
    air = np.array([float(r["air_temperature"]) for r in table(result.truth_table)])
    day_to_day = {c: np.diff(m).std() for c, m in means.items()}
    assert day_to_day[WATER] < 0.3 * day_to_day[FOREST]
    assert day_to_day[BARE] > day_to_day[RAINFED] > day_to_day[FOREST]
    assert day_to_day[URBAN] > day_to_day[FOREST]

    def best_lag(series):
        return int(np.argmax([np.corrcoef(series[k:], air[:air.size - k])[0, 1] for k in range(15)]))

    assert best_lag(means[FOREST]) == 0 and best_lag(means[URBAN]) == 0
    assert best_lag(means[WATER]) >= 2


def test_harvested_parcels_warm_after_their_harvest(season):
    result, classes, truth, means = season
    harvests = load_json(result.metadata)["events"]["harvests"]
    first, last = result.dates.index(harvests[0]["date"]), result.dates.index(harvests[-1]["date"])
    assert sum(h["fine_pixels"] for h in harvests) == (classes == HARVESTED).sum() > 0
    gap = means[HARVESTED] - means[RAINFED]
    assert abs(gap[:first].mean()) < 1.5  # same crop before
    assert gap[last + 1:].mean() - gap[:first].mean() > 3.0  # bare soil after


def test_heat_wave_warms_the_town_most_and_water_late_and_little():
    high = VARIABILITY["high"]
    start = dt.date(2023, 7, 1)
    forcing = make_forcing(np.random.default_rng(2), start, 40, 47.9, high, 0.0, -0.8, 0.6, 3)
    calm = make_forcing(np.random.default_rng(2), start, 40, 47.9, replace(high, heat_wave=0.0),
                        0.0, -0.8, 0.6, 3)
    np.testing.assert_allclose(forcing.anomaly - calm.anomaly, forcing.heat_wave, atol=1e-9)
    first, last = forcing.heat_waves[0]
    peak = first + int(np.argmax(forcing.heat_wave[first:last + 1]))
    assert forcing.heat_wave[peak] > 0.7 * high.heat_wave
    assert (forcing.heat_wave[:first] == 0).all() and (forcing.heat_wave[last + 1:] == 0).all()

    surface = Surface(make_landcover(np.random.default_rng(1), (240, 240), 30.0), high, 40)
    warming = surface.temperature(peak, forcing) - surface.temperature(peak, calm)
    by_class = {c: warming[surface.classes == c].mean() for c in (URBAN, BARE, FOREST, WATER)}
    assert by_class[URBAN] == pytest.approx(forcing.heat_wave[peak] * surface.gain_by_class[URBAN], rel=0.02)
    assert by_class[BARE] > by_class[FOREST] > 0.5 * forcing.heat_wave[peak]
    assert by_class[URBAN] > 1.3 * by_class[FOREST]
    water_warming = forcing.water - calm.water
    assert int(np.argmax(water_warming)) > peak
    assert 0 < water_warming.max() < 0.5 * forcing.heat_wave[peak]
    assert by_class[WATER] == pytest.approx(water_warming[peak], abs=1e-3)


def naive_rmse(result, tmp_path):
    """Mean RMSE against the truth of fine_ref + (coarse_target - coarse_ref), coarse aligned bilinearly."""
    def aligned(date):
        out = str(tmp_path / f"{os.path.basename(result.folder)}_{date}.tif")
        align_to_grid(result.coarse[date], result.fine_grid, out, "bilinear")
        return read_array(out)

    ref = result.dates[0]
    fine_ref, coarse_ref = read_array(result.fine[ref]), aligned(ref)
    errors = []
    for date in result.dates[4::4]:
        prediction = fine_ref + aligned(date) - coarse_ref
        errors.append(np.sqrt(np.nanmean((prediction - read_array(result.truth[date])) ** 2)))
    return float(np.mean(errors))


@pytest.mark.slow
def test_higher_variability_raises_the_naive_prediction_error(tmp_path):
    rmse = {}
    for level in ("low", "medium", "high"):
        result = simulate_series(str(tmp_path / level), rows=256, cols=256, days=21,
                                 cloud_fraction=0.0, variability=level, seed=42)
        rmse[level] = naive_rmse(result, tmp_path)
    assert rmse["low"] < rmse["medium"] < rmse["high"], rmse
    assert rmse["high"] > 2.0 * rmse["low"], rmse
    assert 0.5 < rmse["low"] < 2.0, rmse


def test_rerun_replaces_an_earlier_simulation_and_refuses_foreign_folders(tmp_path):
    folder = tmp_path / "sim"
    simulate_series(str(folder), rows=64, cols=64, days=6)
    again = simulate_series(str(folder), rows=64, cols=64, days=3, write_truth=False)
    assert sorted(os.listdir(folder / "coarse")) == [f"{d}.tif" for d in again.dates]
    assert not (folder / "truth").exists() and again.truth == {}
    assert [r["truth"] for r in table(again.truth_table)] == ["", "", ""]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        simulate_series(str(foreign), rows=64, cols=64, days=2)
    assert os.listdir(foreign) == ["notes.txt"]


def test_bad_settings_are_refused_with_the_setting_named(tmp_path):
    with pytest.raises(InputError, match="variability must be one of low, medium, high"):
        simulate_series(str(tmp_path / "a"), variability="extreme")
    with pytest.raises(InputError, match="rows must be 64-4000"):
        simulate_series(str(tmp_path / "b"), rows=10)
    with pytest.raises(InputError, match="not a date"):
        simulate_series(str(tmp_path / "c"), start="June")
    with pytest.raises(InputError, match="days must be a whole number"):
        simulate_series(str(tmp_path / "d"), days=2.5)
    with pytest.raises(InputError, match="cloud fraction must be 0-0.7"):
        simulate_series(str(tmp_path / "e"), cloud_fraction=0.9)
    assert not any((tmp_path / name).exists() for name in "abcde")  # nothing created


def test_cancel_leaves_no_raster_behind(tmp_path):
    steps = []
    progress = Progress(report=steps.append, is_cancelled=lambda: len(steps) > 4)
    with pytest.raises(Cancelled):
        simulate_series(str(tmp_path / "sim"), progress=progress, rows=64, cols=64, days=10)
    assert os.listdir(tmp_path / "sim") == []
    simulate_series(str(tmp_path / "sim"), rows=64, cols=64, days=2)  # a rerun is not blocked


def test_processing_run_writes_a_chainable_series(processing, tmp_path):
    folder = str(tmp_path / "series")
    result = processing.run("lstfusion:simulate", {
        "DATES": 20, "START_DATE": "2024-01-15", "ROWS": 96, "COLS": 80, "VARIABILITY": 2,
        "CLOUD_FRACTION": 0.2, "SEED": 9, "UNITS": 1, "OUTPUT_FOLDER": folder})
    assert result["OUTPUT_FOLDER"] == os.path.abspath(folder)
    assert result["PAIRS"] == os.path.join(result["OUTPUT_FOLDER"], "pairs.csv")
    assert result["NATIVE_PAIRS"] == os.path.join(result["OUTPUT_FOLDER"], "pairs_native.csv")
    assert result["FINE_COUNT"] == 2
    rows = table(result["PAIRS"])
    assert rows[0]["date"] == "2024-01-15" and len(rows) == 20
    assert [r["date"] for r in rows if r["fine"]] == ["2024-01-15", "2024-01-31"]
    coarse = os.path.join(folder, rows[5]["coarse"])
    assert read_units(coarse) == "celsius" and read_grid(coarse).shape == (96, 80)
    assert read_grid(result["LANDCOVER"]).shape == (96, 80)
    for kind in ("coarse", "coarse_on_fine", "fine", "truth"):  # QGIS opens them with the LST ramp
        with open(os.path.join(folder, kind, "2024-01-15.qml"), encoding="utf-8") as handle:
            style = handle.read()
        assert "singlebandpseudocolor" in style and "°C" in style
    assert os.path.exists(os.path.join(folder, "truth", "2024-01-20.qml"))
    meta = load_json(os.path.join(folder, "simulation.json"))
    assert meta["settings"]["variability"] == "high" and meta["units"] == "celsius"
    # winter in the northern hemisphere: cold
    assert -15 < np.nanmean(read_array(os.path.join(folder, "truth", "2024-01-20.tif"))) < 15


def test_processing_run_reports_a_foreign_folder(processing, tmp_path):
    from qgis.core import QgsProcessingException

    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(QgsProcessingException, match="not empty"):
        processing.run("lstfusion:simulate", {"DATES": 2, "ROWS": 64, "COLS": 64,
                                              "OUTPUT_FOLDER": str(tmp_path)})
