"""Realism statistics against direct numpy on arrays whose answers are known."""
import numpy as np
import pytest
from conftest import yanco
from osgeo import gdal

from lst_fusion_plugin.common.raster_io import read_array

from lst_fusion_plugin.evaluation.realism import (autocorrelation, autocorrelation_length, bias_change,
                                                  change_correlation, coarse_minus_fine, daily_change,
                                                  date_statistics, fine_minus_coarse_std, image_std,
                                                  pair_statistics, remove_plane,
                                                  unexplained_change_std)


@pytest.fixture(name="pair")
def pair_fixture():
    """Two fine and two coarse 40 x 50 images (K) with a few no-data pixels in each."""
    rng = np.random.default_rng(0)
    fine1 = 300.0 + 3.0 * rng.standard_normal((40, 50))
    coarse1 = 299.0 + rng.standard_normal((40, 50))
    coarse2 = coarse1 + 2.0 + rng.standard_normal((40, 50))
    fine2 = fine1 + 5.0 + 0.6 * (coarse2 - coarse1) + rng.standard_normal((40, 50))
    for k, image in enumerate((fine1, fine2, coarse1, coarse2)):
        image[k, :7] = np.nan
        image[10 + k, 20] = np.nan
    return fine1, fine2, coarse1, coarse2


def valid_vectors(*images):
    keep = np.all([np.isfinite(i) for i in images], axis=0)
    return [i[keep] for i in images]


def test_pair_statistics_match_direct_numpy_on_the_common_valid_pixels(pair):
    f1, f2, c1, c2 = valid_vectors(*pair)
    assert f1.size == 40 * 50 - 4 * 7 - 4
    expected_corr = np.corrcoef(f2 - f1, c2 - c1)[0, 1]
    assert change_correlation(*pair) == pytest.approx(expected_corr, abs=1e-12)
    assert unexplained_change_std(*pair) == pytest.approx(np.std((f2 - f1) - (c2 - c1)), abs=1e-12)
    assert bias_change(*pair) == pytest.approx(np.mean(f2 - c2) - np.mean(f1 - c1), abs=1e-12)
    # the construction: dF = 5 + 0.6 dC + noise, so the bias moves by about 5 + 0.6 * 2 - 2 = 4.2 K
    assert bias_change(*pair) == pytest.approx(4.2, abs=0.15)
    assert pair_statistics(*pair) == {"change_correlation": change_correlation(*pair),
                                      "unexplained_change_std": unexplained_change_std(*pair),
                                      "bias_change": bias_change(*pair)}


def test_identical_changes_correlate_perfectly_and_leave_nothing_unexplained():
    rng = np.random.default_rng(1)
    fine1, coarse1 = rng.normal(300, 2, (20, 20)), rng.normal(298, 1, (20, 20))
    change = rng.normal(0, 3, (20, 20))
    args = (fine1, fine1 + change + 1.5, coarse1, coarse1 + change)
    assert change_correlation(*args) == pytest.approx(1.0, abs=1e-12)
    assert unexplained_change_std(*args) == pytest.approx(0.0, abs=1e-9)
    assert bias_change(*args) == pytest.approx(1.5, abs=1e-9)
    assert change_correlation(args[0], args[1], args[2], coarse1 - change) == pytest.approx(-1.0, abs=1e-12)


def test_one_date_statistics_match_direct_numpy(pair):
    fine, _, coarse, _ = pair
    f, c = valid_vectors(fine, coarse)
    assert fine_minus_coarse_std(fine, coarse) == pytest.approx(np.std(f - c), abs=1e-12)
    assert coarse_minus_fine(fine, coarse) == pytest.approx(np.mean(c - f), abs=1e-12)
    assert coarse_minus_fine(fine, coarse) == pytest.approx(-1.0, abs=0.2)
    assert image_std(fine) == pytest.approx(np.nanstd(fine), abs=1e-12)
    stats = date_statistics(fine, coarse, 30.0)
    assert stats["fine_std"] == image_std(fine) and stats["coarse_std"] == image_std(coarse)
    assert stats["fine_autocorrelation_m"] == autocorrelation_length(fine, 30.0)
    # white noise: the autocorrelation at one pixel is already ~0, so the length is under a pixel
    assert 0 < stats["fine_autocorrelation_m"] < 30.0


def test_autocorrelation_against_a_direct_sum_with_gaps():
    rng = np.random.default_rng(2)
    image = rng.standard_normal((30, 40)).cumsum(axis=1)
    image[5:9, 10:14] = np.nan
    values, valid = np.nan_to_num(image - np.nanmean(image)), np.isfinite(image)
    variance = np.nanvar(image)
    for lag in (1, 3, 7):
        pairs = valid[:, :-lag] & valid[:, lag:]
        direct = (values[:, :-lag] * values[:, lag:])[pairs].sum() / pairs.sum() / variance
        assert autocorrelation(image, lag, axis=1) == pytest.approx(direct, abs=1e-12)
        pairs = valid[:-lag] & valid[lag:]
        direct = (values[:-lag] * values[lag:])[pairs].sum() / pairs.sum() / variance
        assert autocorrelation(image, lag, axis=0) == pytest.approx(direct, abs=1e-12)


def ar1_field(rng, shape, phi):
    """A separable AR(1) random field: autocorrelation phi ** lag along both axes."""
    field = rng.standard_normal(shape)
    scale = np.sqrt(1 - phi * phi)
    for axis in (0, 1):
        field = np.moveaxis(field, axis, 0)
        for i in range(1, field.shape[0]):
            field[i] = phi * field[i - 1] + scale * field[i]
        field = np.moveaxis(field, 0, axis)
    return field


def test_autocorrelation_length_of_an_ar1_field_is_its_e_folding_distance():
    field = ar1_field(np.random.default_rng(3), (300, 300), 0.8)
    expected = -1.0 / np.log(0.8)  # 4.48 pixels
    assert autocorrelation_length(field, 30.0) == pytest.approx(30.0 * expected, rel=0.15)
    # (row height, column width): each axis in its own metres
    assert autocorrelation_length(field, (100.0, 0.0)) == pytest.approx(0.5 * 100.0 * expected, rel=0.2)
    # a strong plane would otherwise dominate: removing it gives the texture's length back
    rows, cols = np.indices(field.shape)
    tilted = field + 0.05 * rows + 0.03 * cols
    assert np.isnan(autocorrelation_length(tilted, 30.0, detrend=False))  # above 1/e to half the side
    assert autocorrelation_length(tilted, 30.0) == pytest.approx(autocorrelation_length(field, 30.0), rel=0.1)


def test_remove_plane_leaves_zero_from_a_plane_and_keeps_gaps():
    rows, cols = np.indices((12, 9))
    plane = 290.0 + 0.5 * rows - 0.25 * cols
    plane[3, 4] = np.nan
    out = remove_plane(plane)
    assert np.isnan(out[3, 4])
    np.testing.assert_allclose(np.nan_to_num(out), 0.0, atol=1e-9)


def test_daily_change_of_known_steps():
    base = np.random.default_rng(4).normal(300, 2, (10, 10))
    steps = [0.0, 1.0, -2.0, 4.0]
    spread = np.zeros((10, 10))
    spread[:, :5] = 1.0  # every change also adds 1 K on half of the scene: std 0.5 K
    series, level = [], base.copy()
    for step in steps:
        level = level + step + (spread if series else 0.0)
        series.append(level.copy())
    series[2][0, 0] = np.nan
    out = daily_change(series)
    means = [step + 0.5 for step in steps[1:]]
    assert out["mean_change_std"] == pytest.approx(np.std(means), abs=0.02)
    assert out["spatial_change_std"] == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError, match="fewer than 3"):
        daily_change(series[:2])


def test_inputs_of_different_shapes_or_without_valid_pixels_are_refused(pair):
    fine1, fine2, coarse1, coarse2 = pair
    with pytest.raises(ValueError, match="differ in shape"):
        change_correlation(fine1, fine2, coarse1, coarse2[:-1])
    with pytest.raises(ValueError, match="valid"):
        fine_minus_coarse_std(np.full((4, 4), np.nan), coarse1[:4, :4])


def raw_yanco(name):
    """A Yanco raster read with GDAL alone, its -3.4e38 no-data made NaN (independent of the plugin's reader)."""
    ds = gdal.Open(yanco(name))
    band = ds.GetRasterBand(1)
    values = band.ReadAsArray().astype(np.float64)
    values[values == band.GetNoDataValue()] = np.nan
    return values


def test_yanco_figures_of_the_issue_are_reproduced():
    names = ["Landsat_LST_cloudrm_20160205.tif", "Landsat_LST_cloudrm_20160308.tif",
             "MOD11A1_LST_cloudrm_20160205.tif", "MOD11A1_LST_cloudrm_20160308.tif"]
    images = [read_array(yanco(name)) for name in names]
    assert np.isnan(images[0]).sum() == 1  # the one no-data pixel of Landsat 2016-02-05
    f1, f2, c1, c2 = valid_vectors(*[raw_yanco(name) for name in names])
    assert change_correlation(*images) == pytest.approx(np.corrcoef(f2 - f1, c2 - c1)[0, 1], abs=1e-9)
    assert change_correlation(*images) == pytest.approx(0.39, abs=0.005)
    assert unexplained_change_std(*images) == pytest.approx(2.29, abs=0.005)
    assert bias_change(*images) == pytest.approx(4.42, abs=0.005)
    assert fine_minus_coarse_std(images[0], images[2]) == pytest.approx(1.94, abs=0.005)
    assert image_std(images[0]) == pytest.approx(2.56, abs=0.005)
    assert coarse_minus_fine(images[1], images[3]) == pytest.approx(-4.5, abs=0.05)  # the data's README
