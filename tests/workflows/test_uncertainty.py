"""Raw spread, cloud-aware coarse targets and calibrated intervals on small simulated series."""
import datetime as dt
import json
import os

import numpy as np
import pytest

from helpers import srs_wkt
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.raster_io import read_array, write_array
from lst_fusion_plugin.evaluation.conformal import interval_scores, load_calibration
from lst_fusion_plugin.models.classical.estarfm import _temporal_weights
from lst_fusion_plugin.models.classical.spread import SPREAD_FLOOR, spread_tile, write_spread
from lst_fusion_plugin.simulation.simulate import simulate_series
from lst_fusion_plugin.workflows.cloud_fill import NOT_PREDICTED, OBSERVED, SPATIAL, TEMPORAL, fill_coarse_target
from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series
from lst_fusion_plugin.workflows.methods import FusionMethod
from lst_fusion_plugin.workflows.calibration import series_predictor
from lst_fusion_plugin.workflows.uncertainty import UncertaintySettings, sidecar_paths

D = dt.date


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """64 x 64 pixels, 49 days, a fine image every 6 days, some clouds."""
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=64, cols=64, days=49, revisit=6,
                           variability="medium", cloud_fraction=0.1, seed=1)


def brute_force_spread(blocks, h, r, c):
    """The raw spread of core pixel (r, c) from explicit window loops."""
    *refs, c0 = [b.astype(np.float64) for b in blocks]
    window = (slice(r, r + 2 * h + 1), slice(c, c + 2 * h + 1))
    valid = np.isfinite(c0[window])
    for b in refs:
        valid &= np.isfinite(b[window])
    parts = []
    for fine, coarse in zip(refs[0::2], refs[1::2]):
        change = (c0[window] - coarse[window])[valid]
        centre = fine[r + h, c + h]
        parts.append((centre, change.mean(), change.std(), abs(centre - fine[window][valid].mean())))
    if len(parts) == 2:
        t1, t2 = _temporal_weights(np.array(parts[0][1]), np.array(parts[1][1]))
        weights = (float(t1), float(t2))
        d = 2 * np.sqrt(weights[0] * weights[1]) * abs(parts[0][0] + parts[0][1] - parts[1][0] - parts[1][1])
    else:
        weights, d = (1.0,), 0.0
    b = sum(w * p[2] for w, p in zip(weights, parts))
    e = sum(w * p[3] for w, p in zip(weights, parts))
    return np.sqrt(d * d + b * b + e * e + SPREAD_FLOOR ** 2)


@pytest.mark.parametrize("pairs", [1, 2])
def test_spread_matches_a_per_pixel_computation(pairs):
    rng = np.random.default_rng(pairs)
    h = 3
    blocks = [(290 + 5 * rng.standard_normal((14, 15))).astype(np.float32) for _ in range(2 * pairs + 1)]
    blocks[0][4, 5] = np.nan
    blocks[-1][9:, :3] = np.nan
    out = spread_tile(blocks, h)
    assert out.shape == (8, 9)
    for r in range(8):
        for c in range(9):
            centre_valid = all(np.isfinite(b[r + h, c + h]) for b in blocks)
            if centre_valid:
                assert out[r, c] == pytest.approx(brute_force_spread(blocks, h, r, c), rel=1e-9)
            else:
                assert np.isnan(out[r, c])


def test_tiled_spread_equals_untiled(sim, tmp_path):
    dates = sorted(sim.fine)
    paths = {"FINE_REF": sim.fine[dates[1]], "COARSE_REF": sim.coarse_on_fine[dates[1]],
             "FINE_REF2": sim.fine[dates[2]], "COARSE_REF2": sim.coarse_on_fine[dates[2]],
             "COARSE_TARGET": sim.coarse_on_fine["2023-06-10"]}
    whole = read_array(write_spread(paths, str(tmp_path / "whole.tif"), 6, tile_size=256))
    tiled = read_array(write_spread(paths, str(tmp_path / "tiled.tif"), 6, tile_size=16))
    assert np.isfinite(whole).sum() > 1000
    np.testing.assert_array_equal(np.isnan(whole), np.isnan(tiled))
    np.testing.assert_allclose(tiled, whole, rtol=1e-6)


GRID = Grid(srs_wkt(32631), (0.0, 30.0, 0.0, 120.0, 0.0, -30.0), 4, 6)


def test_cloudy_pixels_are_filled_in_time_within_the_limit_then_spatially(tmp_path):
    def raster(name, value, gap=None):
        array = np.full(GRID.shape, value, np.float32)
        if gap is not None:
            array[gap] = np.nan
        return write_array(str(tmp_path / name), array, GRID, units="kelvin")

    target = raster("c10.tif", 300.0, (slice(0, 2), slice(0, 6)))
    earlier = raster("c08.tif", 290.0, (slice(0, 1), slice(0, 3)))  # cloudy too in the top-left corner
    later = raster("c12.tif", 298.0)
    far = raster("c30.tif", 250.0)
    series = [(D(2020, 1, 8), earlier), (D(2020, 1, 10), target), (D(2020, 1, 12), later), (D(2020, 1, 30), far)]
    out = str(tmp_path / "filled.tif")
    quality, spread = fill_coarse_target(target, D(2020, 1, 10), series, out, max_days=5)
    filled = read_array(out)
    np.testing.assert_array_equal(quality[2:], OBSERVED)
    np.testing.assert_array_equal(filled[2:], 300.0)
    assert (quality[1] == TEMPORAL).all() and (quality[0, 3:] == TEMPORAL).all()
    np.testing.assert_allclose(filled[1], 294.0)  # half-way between 290 (2 days before) and 298 (2 after)
    np.testing.assert_allclose(spread[1], 2 * np.sqrt(0.25) * 8.0)
    # no clear day before within 5 days: the 30th is too far, so a spatial fill (focal mean of the neighbours)
    assert (quality[0, :3] == SPATIAL).all()
    assert np.isfinite(filled[0, :3]).all() and (filled[0, :3] > 290).all() and (filled[0, :3] <= 300).all()
    assert (spread[2:] == 0).all() and (spread[0, :3] > 0).all()


def test_cloudy_target_date_gets_a_prediction_quality_codes_and_wider_intervals(sim, tmp_path):
    pairs = read_pairs(sim.pairs)
    cloudy = max((d for d in sim.dates if d not in sim.fine and "2023-06-08" < d < "2023-07-12"),
                 key=lambda d: sim.daily[d]["cloud_cover"])
    assert sim.daily[cloudy]["coarse_valid"] < 0.9
    method = FusionMethod("estarfm", settings={"half_window": 10})
    settings = UncertaintySettings(fill_days=8)
    predictor, calibration_path = series_predictor(method, pairs, str(tmp_path), True, settings)
    with open(calibration_path) as handle:
        assert json.load(handle)["format"] == "lst_fusion_calibration"
    plans = plan_series(pairs, 2, [D.fromisoformat(cloudy)])
    run_series(plans, predictor, str(tmp_path))
    prediction = read_array(str(tmp_path / f"lst_{cloudy}.tif"))
    uncertainty, quality = (read_array(p) for p in sidecar_paths(str(tmp_path / f"lst_{cloudy}.tif")))
    coarse_gap = ~np.isfinite(read_array(sim.coarse_on_fine[cloudy]))
    filled = (quality == TEMPORAL) | (quality == SPATIAL)
    assert filled.sum() > 100 and np.array_equal(filled, coarse_gap & np.isfinite(prediction))
    assert np.isfinite(prediction[filled]).all()  # predicted under the clouds
    np.testing.assert_array_equal(quality == NOT_PREDICTED, ~np.isfinite(prediction))
    np.testing.assert_array_equal(np.isfinite(uncertainty), np.isfinite(prediction))
    assert (uncertainty[np.isfinite(uncertainty)] > 0).all()
    calibration = load_calibration(calibration_path)
    assert calibration.quantile(0.9, TEMPORAL) > 0


def test_coverage_of_the_90_percent_interval_on_dates_never_used_for_calibration(sim, tmp_path):
    pairs = read_pairs(sim.pairs)
    method = FusionMethod("estarfm", settings={"half_window": 10})
    predictor, calibration_path = series_predictor(method, pairs, str(tmp_path), True,
                                                   UncertaintySettings(fill_days=8))
    calibration_dates = set(load_calibration(calibration_path).dates)
    assert len(calibration_dates) >= 6 and calibration_dates <= set(sim.fine)
    targets = [D.fromisoformat(d) for d in sim.dates if d not in sim.fine][::2]
    result = run_series(plan_series(pairs, 2, targets), predictor, str(tmp_path))
    assert len(result["predicted"]) >= 15
    stacks = {"p": [], "t": [], "w": []}
    for date in result["predicted"]:
        path = str(tmp_path / f"lst_{date}.tif")
        stacks["p"].append(read_array(path))
        stacks["t"].append(read_array(sim.truth[date.isoformat()]))
        stacks["w"].append(read_array(sidecar_paths(path)[0]))
    scores = interval_scores(*(np.stack(stacks[k]) for k in "ptw"))
    assert scores["pixels"] > 30000
    assert 0.85 <= scores["coverage"] <= 0.95
    assert 2.0 < scores["mean_half_width"] < 8.0


def test_cloud_filling_alone_writes_quality_codes_but_no_uncertainty(sim, tmp_path):
    pairs = read_pairs(sim.pairs)
    method = FusionMethod("starfm", settings={"half_window": 5})
    predictor, calibration = series_predictor(method, pairs, str(tmp_path), False, UncertaintySettings(fill_days=3))
    assert calibration is None
    cloudy = max((d for d in sim.dates if d not in sim.fine), key=lambda d: sim.daily[d]["cloud_cover"])
    run_series(plan_series(pairs, 1, [D.fromisoformat(cloudy)]), predictor, str(tmp_path))
    uncertainty, quality = sidecar_paths(str(tmp_path / f"lst_{cloudy}.tif"))
    codes = read_array(quality)
    assert not (tmp_path / os.path.basename(uncertainty)).exists()
    assert set(np.unique(codes)) <= {NOT_PREDICTED, OBSERVED, TEMPORAL, SPATIAL}
    assert ((codes == TEMPORAL) | (codes == SPATIAL)).any()
    assert sorted(os.listdir(tmp_path)) == [f"lst_{cloudy}.tif", f"lst_{cloudy}_quality.tif", "series.csv", "series.vrt"]


def test_a_calibration_is_reused_by_the_same_method_only(sim, tmp_path):
    pairs = read_pairs(sim.pairs)
    settings = UncertaintySettings(calibration_dates=3)
    starfm = FusionMethod("starfm", settings={"half_window": 4})
    _, path = series_predictor(starfm, pairs, str(tmp_path), True, settings)
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:  # mark the file: a reused calibration keeps the mark
        handle.write(text.replace('"pixels_per_date": 2000', '"pixels_per_date": 7'))
    predictor, _ = series_predictor(starfm, pairs, str(tmp_path), True, settings)
    assert predictor.calibration.details["pixels_per_date"] == 7
    predictor, _ = series_predictor(starfm, pairs, str(tmp_path), True, settings, overwrite=True)
    assert predictor.calibration.details["pixels_per_date"] == 2000
    wider = FusionMethod("starfm", settings={"half_window": 5})
    predictor, _ = series_predictor(wider, pairs, str(tmp_path), True, settings)
    assert predictor.calibration.details["half_window"] == 5
    assert load_calibration(path).details["half_window"] == 5
