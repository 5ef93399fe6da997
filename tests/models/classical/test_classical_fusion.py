"""STARFM/ESTARFM engines: agreement with the per-pixel references, tiling, no-data, units, errors, cancel."""
import datetime
import os
import time

import numpy as np
import pytest

from classical_scenes import SYNTHETIC_GRID, synthetic_arrays, write_scene, yanco_crop
from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, read_units, write_array
from lst_fusion_plugin.models.classical.tiled import date_from_path
from lst_fusion_plugin.models.classical.estarfm import EstarfmParams, run_estarfm
from lst_fusion_plugin.models.classical.starfm import StarfmParams, run_starfm
from reference_fusion import estarfm_reference, starfm_reference

TOLERANCE_K = 1e-3
# settings that exercise every branch of ESTARFM on the synthetic scene: V != 1
# (coarse change >= 2 K), revised predictions (>= 314.5 K) and the few-similar fallback
SYNTHETIC_ESTARFM = dict(half_window=6, valid_max=314.5, min_coarse_change=2.0)


def estarfm_files(paths, out, **settings):
    """Run the fast ESTARFM on a scene of paths; return (prediction, result)."""
    result = run_estarfm(paths["FINE_REF"], paths["COARSE_REF"], paths["FINE_REF2"],
                         paths["COARSE_REF2"], paths["COARSE_TARGET"], str(out),
                         EstarfmParams(**settings))
    return read_array(str(out)), result


def starfm_files(paths, out, **settings):
    """Run the fast STARFM on FINE_REF, COARSE_REF, COARSE_TARGET; return (prediction, result)."""
    result = run_starfm(paths["FINE_REF"], paths["COARSE_REF"], paths["COARSE_TARGET"], str(out),
                        StarfmParams(**settings))
    return read_array(str(out)), result


def assert_matches(fast, reference):
    """Same no-data pattern, values within TOLERANCE_K."""
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference))
    assert np.isfinite(fast).any()
    assert np.nanmax(np.abs(fast - reference)) < TOLERANCE_K


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    arrays = synthetic_arrays()
    return arrays, write_scene(tmp_path_factory.mktemp("synthetic"), arrays, SYNTHETIC_GRID)


@pytest.mark.parametrize("bias_correction", [False, True])
def test_estarfm_matches_reference_on_synthetic_scene(synthetic, tmp_path, bias_correction):
    arrays, paths = synthetic
    settings = dict(SYNTHETIC_ESTARFM, bias_correction=bias_correction)
    fast, result = estarfm_files(paths, tmp_path / "out.tif", tile_size=16, **settings)
    reference = estarfm_reference(*arrays.values(), **settings)
    assert_matches(fast, reference)
    assert result["fallback"] > 0 and result["revised"] > 0
    if bias_correction:
        assert result["converted"] == 0
    else:
        assert result["converted"] > 100


def test_estarfm_output_is_nodata_exactly_where_an_input_is(synthetic, tmp_path):
    arrays, paths = synthetic
    fast, result = estarfm_files(paths, tmp_path / "out.tif", **SYNTHETIC_ESTARFM)
    inputs_valid = np.all([np.isfinite(a) for a in arrays.values()], axis=0)
    np.testing.assert_array_equal(np.isfinite(fast), inputs_valid)
    assert result["predicted"] == inputs_valid.sum()
    assert result["revised"] > 0 and result["dropped"] == 0  # the 314.5 K valid range revises, drops nothing
    # a pixel outside the physical range 150-400 K is no-data: never a similar pixel, nor in a window mean
    spiked = dict(arrays)
    spiked["FINE_REF"] = arrays["FINE_REF"].copy()
    spiked["FINE_REF"][12, 12] = 400.5
    holed = dict(arrays)
    holed["FINE_REF"] = arrays["FINE_REF"].copy()
    holed["FINE_REF"][12, 12] = np.nan
    outputs = []
    for name, scene in (("spiked", spiked), ("holed", holed)):
        scene_paths = write_scene(tmp_path, scene, SYNTHETIC_GRID, suffix=name)
        outputs.append(estarfm_files(scene_paths, tmp_path / f"{name}.tif", **SYNTHETIC_ESTARFM)[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert np.isnan(outputs[0][12, 12])


@pytest.mark.parametrize("bias_correction", [False, True])
def test_estarfm_matches_reference_on_real_yanco_crop(tmp_path, bias_correction):
    arrays, grid = yanco_crop(180, 200, 34)
    paths = write_scene(tmp_path, arrays, grid)
    settings = dict(half_window=25 if not bias_correction else 8, bias_correction=bias_correction)
    fast, _ = estarfm_files(paths, tmp_path / "out.tif", tile_size=20, **settings)
    assert_matches(fast, estarfm_reference(*arrays.values(), **settings))



@pytest.mark.parametrize("bias_correction", [False, True])
def test_estarfm_numba_and_numpy_paths_agree(synthetic, tmp_path, monkeypatch, bias_correction):
    """The compiled kernel and the numpy fallback give the same predictions and counters.

    On a Yanco crop with no-data (51 x 51 window, regression sums in play)
    and on the synthetic scene, whose settings reach every branch (V != 1,
    revision, fallback).
    """
    import numba  # noqa: F401 (pinned: a missing one is an error, not a skip)
    from lst_fusion_plugin.models.classical import estarfm_kernel
    arrays, grid = yanco_crop(150, 170, 60)
    (tmp_path / "yanco").mkdir()
    scenes = [(write_scene(tmp_path / "yanco", arrays, grid), dict(half_window=25)),
              (synthetic[1], SYNTHETIC_ESTARFM)]
    for index, (paths, settings) in enumerate(scenes):
        settings = dict(settings, bias_correction=bias_correction, tile_size=16)
        monkeypatch.delenv("LST_FUSION_NO_NUMBA", raising=False)
        assert estarfm_kernel.kernel() is not None
        compiled, compiled_info = estarfm_files(paths, tmp_path / f"numba{index}.tif", **settings)
        monkeypatch.setenv("LST_FUSION_NO_NUMBA", "1")
        assert estarfm_kernel.kernel() is None
        numpy_, numpy_info = estarfm_files(paths, tmp_path / f"numpy{index}.tif", **settings)
        np.testing.assert_array_equal(np.isnan(compiled), np.isnan(numpy_))
        assert np.isfinite(compiled).sum() > 1000
        assert np.nanmax(np.abs(compiled - numpy_)) < 1e-4
        assert compiled_info == numpy_info

def test_starfm_matches_reference_on_synthetic_and_real_scenes(synthetic, tmp_path):
    arrays, paths = synthetic
    fast, result = starfm_files(paths, tmp_path / "syn.tif", half_window=6, tile_size=16)
    reference = starfm_reference(arrays["FINE_REF"], arrays["COARSE_REF"], arrays["COARSE_TARGET"],
                                 half_window=6)
    assert_matches(fast, reference)
    assert result["valid_fraction"] == pytest.approx(np.isfinite(reference).mean())

    real, grid = yanco_crop(60, 300, 32)
    real_paths = write_scene(tmp_path, real, grid)
    settings = dict(half_window=15, distance_scale=10.0, fine_uncertainty=0.5, coarse_uncertainty=0.8)
    fast, _ = starfm_files(real_paths, tmp_path / "real.tif", tile_size=20, **settings)
    assert_matches(fast, starfm_reference(real["FINE_REF"], real["COARSE_REF"], real["COARSE_TARGET"],
                                          **settings))


def polar_scene():
    """The synthetic scene cooled by 75 K (220-245 K: a polar or winter-night scene), one pixel at 120 K."""
    arrays = {name: a - np.float32(75.0) for name, a in synthetic_arrays().items()}
    arrays["COARSE_REF"][0, 0] = 120.0
    return arrays


def test_polar_scene_keeps_its_pixels_and_revises_like_the_references(tmp_path):
    """Below 250 K nothing is dropped (only the 120 K pixel is); predictions there are revised."""
    arrays = polar_scene()
    paths = write_scene(tmp_path, arrays, SYNTHETIC_GRID, units="kelvin")
    messages = []
    progress = Progress(info=messages.append)
    result = run_estarfm(*(paths[n] for n in ("FINE_REF", "COARSE_REF", "FINE_REF2", "COARSE_REF2",
                                              "COARSE_TARGET")), str(tmp_path / "e.tif"),
                         EstarfmParams(half_window=6), progress=progress)
    fast = read_array(str(tmp_path / "e.tif"))
    valid = np.all([np.isfinite(a) for a in arrays.values()], axis=0)
    valid[0, 0] = False
    np.testing.assert_array_equal(np.isfinite(fast), valid)
    # every prediction is below 250 K: all but the few-similar fallbacks (never revised, as in the original)
    assert result["dropped"] == 1 and result["revised"] + result["fallback"] == valid.sum()
    assert result["revised"] > 1000
    assert_matches(fast, estarfm_reference(*arrays.values(), half_window=6))
    assert ("1 input pixel(s) outside the physically possible range 150-400 K were treated as no-data "
            "(FINE_REF 0, COARSE_REF 1, FINE_REF2 0, COARSE_REF2 0, COARSE_TARGET 0).") in messages
    starfm, info = starfm_files(paths, tmp_path / "s.tif", half_window=6)
    assert info["dropped"] == 1 and info["revised"] == np.isfinite(starfm).sum() > 1000
    assert_matches(starfm, starfm_reference(arrays["FINE_REF"], arrays["COARSE_REF"], arrays["COARSE_TARGET"],
                                            half_window=6))
    # revised = the candidates' weighted mean of the fine reference: inside the fine image's range
    assert np.nanmin(starfm) >= np.nanmin(arrays["FINE_REF"]) - 1e-3
    assert np.nanmax(starfm) <= np.nanmax(arrays["FINE_REF"]) + 1e-3


def test_starfm_revises_only_what_leaves_the_valid_range(synthetic, tmp_path):
    arrays, paths = synthetic
    settings = dict(half_window=6, valid_max=305.0)
    fast, result = starfm_files(paths, tmp_path / "r.tif", tile_size=16, **settings)
    plain = starfm_reference(arrays["FINE_REF"], arrays["COARSE_REF"], arrays["COARSE_TARGET"], half_window=6)
    assert_matches(fast, starfm_reference(arrays["FINE_REF"], arrays["COARSE_REF"], arrays["COARSE_TARGET"],
                                          **settings))
    changed = np.isfinite(plain) & (np.abs(fast - plain) > 1e-3)
    assert result["revised"] == changed.sum() == (plain >= 305.0).sum() > 0


@pytest.mark.parametrize("bias_correction", [False, True])
def test_tiled_processing_equals_whole_image_processing(synthetic, tmp_path, bias_correction):
    _, paths = synthetic
    settings = dict(SYNTHETIC_ESTARFM, bias_correction=bias_correction)
    whole, _ = estarfm_files(paths, tmp_path / "whole.tif", tile_size=1000, **settings)
    for tile_size in (16, 23):
        tiled, _ = estarfm_files(paths, tmp_path / f"t{tile_size}.tif", tile_size=tile_size, **settings)
        np.testing.assert_array_equal(tiled, whole)
    whole, _ = starfm_files(paths, tmp_path / "swhole.tif", half_window=6, tile_size=1000)
    tiled, _ = starfm_files(paths, tmp_path / "stiled.tif", half_window=6, tile_size=17)
    np.testing.assert_array_equal(tiled, whole)


def test_celsius_inputs_give_the_kelvin_result_in_celsius(synthetic, tmp_path):
    arrays, paths = synthetic
    kelvin, _ = estarfm_files(paths, tmp_path / "k.tif", **SYNTHETIC_ESTARFM)
    celsius_paths = write_scene(tmp_path, {k: a - 273.15 for k, a in arrays.items()}, SYNTHETIC_GRID,
                                units="celsius", suffix="_c")
    celsius, result = estarfm_files(celsius_paths, tmp_path / "c.tif", **SYNTHETIC_ESTARFM)
    assert result["units"] == "celsius" and read_units(str(tmp_path / "c.tif")) == "celsius"
    np.testing.assert_array_equal(np.isnan(celsius), np.isnan(kelvin))
    assert np.nanmax(np.abs(celsius + 273.15 - kelvin)) < TOLERANCE_K


def test_bias_correction_removes_the_fine_coarse_bias_of_the_reference_dates(synthetic, tmp_path):
    """The coarse images are biased against the fine ones by -0.3 K (pair 1) and +1 K (pair 2).
    Plain ESTARFM carries those biases into the prediction (about -(T1 (-0.3) + T2 1.0) K below
    the coarse target); the local bias correction makes the prediction unbiased against the
    coarse target. V is kept at 1 in both runs so that only the correction differs."""
    arrays, paths = synthetic
    target = arrays["COARSE_TARGET"]
    plain, _ = estarfm_files(paths, tmp_path / "plain.tif", half_window=6, min_coarse_change=100.0)
    corrected, _ = estarfm_files(paths, tmp_path / "ub.tif", half_window=6, min_coarse_change=100.0,
                                 bias_correction=True)
    assert np.nanmean(plain - target) < -0.4
    assert abs(np.nanmean(corrected - target)) < 0.1


def test_inputs_on_different_grids_are_refused_naming_the_mismatch(synthetic, tmp_path):
    arrays, paths = synthetic
    shifted = Grid(SYNTHETIC_GRID.crs_wkt, (500015.0, 30.0, 0.0, 6100000.0, 0.0, -30.0), 36, 36)
    moved = dict(paths, COARSE_TARGET=write_scene(tmp_path, {"moved": arrays["COARSE_TARGET"]},
                                                  shifted)["moved"])
    with pytest.raises(InputError, match=r"COARSE_TARGET.*origin x.*aligntofine"):
        estarfm_files(moved, tmp_path / "out.tif")
    with pytest.raises(InputError, match=r"COARSE_TARGET.*aligntofine"):
        starfm_files(moved, tmp_path / "out.tif")


def test_estarfm_needs_two_pairs(synthetic, tmp_path):
    _, paths = synthetic
    with pytest.raises(InputError, match="two reference pairs; FINE_REF2 and COARSE_REF2 are missing.*STARFM"):
        estarfm_files(dict(paths, FINE_REF2="", COARSE_REF2=""), tmp_path / "out.tif")
    with pytest.raises(InputError, match="COARSE_REF2 is missing"):
        estarfm_files(dict(paths, COARSE_REF2=""), tmp_path / "out.tif")


def test_target_date_outside_the_reference_dates_is_refused(synthetic, tmp_path):
    arrays, _ = synthetic
    names = {"FINE_REF": "L_20160205", "COARSE_REF": "M_20160205", "FINE_REF2": "L_2016-03-08",
             "COARSE_REF2": "M_2016-03-08", "COARSE_TARGET": "MOD11A1.A2016075.h29v12"}
    paths = {}
    for name, stem in names.items():
        paths[name] = str(tmp_path / f"{stem}.tif")
        write_array(paths[name], arrays[name], SYNTHETIC_GRID)
    with pytest.raises(InputError, match=r"2016-03-15 is outside the two reference dates \(2016-02-05 and 2016-03-08\)"):
        estarfm_files(paths, tmp_path / "out.tif")
    assert not os.path.exists(tmp_path / "out.tif")
    # dates given explicitly win over the file names
    result = run_estarfm(*paths.values(), str(tmp_path / "ok.tif"), EstarfmParams(half_window=3),
                         dates=(None, None, datetime.date(2016, 2, 18)))
    assert result["predicted"] > 0


def test_date_from_file_names():
    assert date_from_path("/x/Landsat_LST_cloudrm_20160205.tif") == datetime.date(2016, 2, 5)
    assert date_from_path("lst_2016-03-08_b10.tif") == datetime.date(2016, 3, 8)
    assert date_from_path("MOD11A1.A2016049.h29v12.061.tif") == datetime.date(2016, 2, 18)
    assert date_from_path("scene_123.tif") is None
    assert date_from_path("L_20161399.tif") is None  # not a calendar date


def test_no_data_inputs_are_refused(synthetic, tmp_path):
    arrays, paths = synthetic
    empty = write_scene(tmp_path, {"empty": np.full((36, 36), np.nan, np.float32)}, SYNTHETIC_GRID)["empty"]
    with pytest.raises(InputError, match=r"COARSE_REF2 \(.*empty.tif\) holds only no-data"):
        estarfm_files(dict(paths, COARSE_REF2=empty), tmp_path / "out.tif")
    frozen = write_scene(tmp_path, {"frozen": np.full((36, 36), 140.0, np.float32)}, SYNTHETIC_GRID,
                         units="kelvin")["frozen"]
    with pytest.raises(InputError, match="FINE_REF2 .* has no valid pixel inside the physically possible "
                                         r"range 150-400 K \(1296 outside it\)"):
        estarfm_files(dict(paths, FINE_REF2=frozen), tmp_path / "out.tif")
    left = arrays["FINE_REF"].copy()
    left[:, 18:] = np.nan
    right = arrays["COARSE_TARGET"].copy()
    right[:, :18] = np.nan
    disjoint = write_scene(tmp_path, {"left": left, "right": right}, SYNTHETIC_GRID)
    with pytest.raises(InputError, match="No pixel is valid in all the inputs"):
        starfm_files(dict(paths, FINE_REF=disjoint["left"], COARSE_TARGET=disjoint["right"]),
                     tmp_path / "out.tif")
    assert not os.path.exists(tmp_path / "out.tif")


def test_inputs_in_different_units_are_refused(synthetic, tmp_path):
    arrays, paths = synthetic
    celsius = write_scene(tmp_path, {"c": arrays["COARSE_REF"] - 273.15}, SYNTHETIC_GRID, units="celsius")["c"]
    with pytest.raises(InputError, match="not all in the same units.*COARSE_REF: celsius"):
        starfm_files(dict(paths, COARSE_REF=celsius), tmp_path / "out.tif")


def test_progress_is_reported_and_cancel_stops_within_a_second(synthetic, tmp_path):
    arrays, grid = yanco_crop(0, 0, 200, holes=False)
    paths = write_scene(tmp_path, arrays, grid)
    reports, state = [], {"cancel_at": None}

    def report(percent):
        reports.append(percent)
        if percent > 20 and state["cancel_at"] is None:
            state["cancel_at"] = time.perf_counter()

    progress = Progress(report=report, is_cancelled=lambda: state["cancel_at"] is not None)
    out = tmp_path / "cancelled.tif"
    with pytest.raises(Cancelled):
        run_estarfm(*paths.values(), str(out), EstarfmParams(tile_size=200), progress=progress)
    assert time.perf_counter() - state["cancel_at"] < 1.0
    assert not os.path.exists(out)
    assert len(reports) >= 2 and reports == sorted(reports)

    reports.clear()
    small = Progress(report=reports.append)
    run_starfm(paths["FINE_REF"], paths["COARSE_REF"], paths["COARSE_TARGET"], str(tmp_path / "s.tif"),
               StarfmParams(half_window=3, tile_size=64), small)
    assert reports[-1] == pytest.approx(100.0) and reports == sorted(reports)
