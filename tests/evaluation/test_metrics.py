"""evaluation.metrics against hand-computed cases, independent formulas, scikit-image's SSIM and Yanco."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from conftest import yanco
from helpers import write_tif
from lst_fusion_plugin.evaluation import metrics
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.evaluation.metrics import compute_metrics, metrics_from_arrays, resolution_ratio
from lst_fusion_plugin.common.raster_io import read_array, read_decimated, read_units, write_array
from lst_fusion_plugin.evaluation.tables import text_table, write_metrics_table

UTM = (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0)


def smooth_field(shape, seed, mean=300.0, amplitude=5.0):
    """A spatially correlated random LST field (K)."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, amplitude, (shape[0] // 8 + 2, shape[1] // 8 + 2))
    rows = np.linspace(0, coarse.shape[0] - 1.001, shape[0])
    cols = np.linspace(0, coarse.shape[1] - 1.001, shape[1])
    r0, c0 = rows.astype(int), cols.astype(int)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    field = (coarse[r0][:, c0] * (1 - fr) * (1 - fc) + coarse[r0 + 1][:, c0] * fr * (1 - fc)
             + coarse[r0][:, c0 + 1] * (1 - fr) * fc + coarse[r0 + 1][:, c0 + 1] * fr * fc)
    return mean + field + rng.normal(0.0, 0.5, shape)


def skimage_ssim(p, r, data_range):
    return structural_similarity(p, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=data_range)


def oracle(p, r, ratio):
    """Every metric but SSIM on 1-D arrays of valid values, written with other numpy routes."""
    d = p - r
    rmse = np.sqrt(np.mean(np.square(d)))
    cos = np.dot(p, r) / (np.linalg.norm(p) * np.linalg.norm(r))
    return {
        "RMSE": rmse, "MAE": np.mean(np.abs(d)), "BIAS": np.mean(d), "UBRMSE": np.std(d),
        "CC": np.corrcoef(p, r)[0, 1], "R2": 1 - np.sum(d ** 2) / np.sum((r - r.mean()) ** 2),
        "PSNR": 10 * np.log10(np.ptp(r) ** 2 / np.mean(d ** 2)),
        "SAM": np.rad2deg(np.arccos(np.clip(cos, -1, 1))),
        "ERGAS": 100 * ratio * np.sqrt(np.mean(d ** 2) / r.mean() ** 2),
        "VALID_PIXELS": p.size,
    }


def test_identical_images_are_perfect():
    ref = smooth_field((40, 50), 1)
    m = metrics_from_arrays(ref, ref.copy(), ergas_ratio=0.03)
    assert m["RMSE"] == 0 and m["MAE"] == 0 and m["BIAS"] == 0 and m["ERGAS"] == 0
    assert m["SSIM"] == pytest.approx(1.0, abs=1e-12)
    assert m["CC"] == pytest.approx(1.0, abs=1e-12)
    assert m["SAM"] == 0.0
    assert m["R2"] == pytest.approx(1.0)
    assert m["PSNR"] == math.inf


def test_constant_offset():
    ref = smooth_field((40, 50), 2)
    m = metrics_from_arrays(ref + 2.0, ref, ergas_ratio=0.03)
    assert m["RMSE"] == pytest.approx(2.0)
    assert m["BIAS"] == pytest.approx(2.0)
    assert m["MAE"] == pytest.approx(2.0)
    assert m["UBRMSE"] == pytest.approx(0.0, abs=1e-6)
    assert m["CC"] == pytest.approx(1.0)
    assert m["PSNR"] == pytest.approx(20 * math.log10((ref.max() - ref.min()) / 2.0))
    assert m["R2"] == pytest.approx(1 - 4.0 / ref.var())
    assert m["ERGAS"] == pytest.approx(100 * 0.03 * 2.0 / ref.mean())
    # SAM of a constant offset: the angle between r + 2 and r, computed explicitly
    p, r = (ref + 2.0).ravel(), ref.ravel()
    angle = math.degrees(math.acos(p @ r / math.sqrt((p @ p) * (r @ r))))
    assert m["SAM"] == pytest.approx(angle, rel=1e-5)
    # luminance term only: SSIM = (2 ux uy + C1) / (ux^2 + uy^2 + C1) < 1
    assert 0.99 < m["SSIM"] < 1.0


def test_known_scaling_has_zero_angle_and_full_correlation():
    ref = smooth_field((40, 50), 3)
    m = metrics_from_arrays(1.1 * ref, ref)
    assert m["SAM"] == pytest.approx(0.0, abs=1e-6)
    assert m["CC"] == pytest.approx(1.0)
    assert m["RMSE"] == pytest.approx(0.1 * np.sqrt(np.mean(ref ** 2)))
    assert m["BIAS"] == pytest.approx(0.1 * ref.mean())
    assert math.isnan(m["ERGAS"])  # no ratio given


def test_every_metric_matches_an_independent_computation_with_nodata():
    ref = smooth_field((60, 70), 4)
    rng = np.random.default_rng(5)
    pred = 0.9 * ref + 31.0 + rng.normal(0, 1.0, ref.shape)
    pred[10:20, 5:30] = np.nan
    ref[40:45, :] = np.nan
    ref[rng.random(ref.shape) < 0.05] = np.nan
    valid = np.isfinite(pred) & np.isfinite(ref)
    m = metrics_from_arrays(pred, ref, ergas_ratio=30 / 1000)
    expected = oracle(pred[valid], ref[valid], 30 / 1000)
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    assert m["DATA_RANGE"] == pytest.approx(np.ptp(ref[valid]))


def test_nodata_is_not_filled_with_zeros():
    ref = smooth_field((50, 50), 6)
    pred = ref + np.random.default_rng(7).normal(0, 1, ref.shape)
    holes = np.zeros(ref.shape, bool)
    holes[20:30, 15:35] = True
    results = []
    for fill in (np.nan, 0.0, 1e6):
        p = pred.copy()
        p[holes] = fill
        results.append(metrics_from_arrays(p, ref, mask=~holes, ergas_ratio=0.03))
    with_nan = metrics_from_arrays(np.where(holes, np.nan, pred), ref, ergas_ratio=0.03)
    for m in results:
        for name in metrics.METRICS:
            assert m[name] == pytest.approx(with_nan[name], rel=1e-12), name
    assert with_nan["VALID_PIXELS"] == 2500 - 200


def brute_force_ssim(p, r, valid, data_range):
    """Mean SSIM over valid pixels >= 5 px from the edge, windows weighted over valid pixels only."""
    x = np.arange(-5, 6)
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5 ** 2))
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(5, p.shape[0] - 5):
        for j in range(5, p.shape[1] - 5):
            if not valid[i, j]:
                continue
            w = g * valid[i - 5:i + 6, j - 5:j + 6]
            w = w / w.sum()
            a, b = p[i - 5:i + 6, j - 5:j + 6], r[i - 5:i + 6, j - 5:j + 6]
            a, b = np.where(w > 0, a, 0), np.where(w > 0, b, 0)
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            values.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return np.mean(values)


def test_ssim_with_nodata_matches_a_brute_force_window_computation():
    ref = smooth_field((30, 34), 8)
    pred = ref + np.random.default_rng(9).normal(0.3, 1.2, ref.shape)
    pred[8:14, 10:16] = np.nan
    ref[20, :] = np.nan
    valid = np.isfinite(pred) & np.isfinite(ref)
    m = metrics_from_arrays(pred, ref)
    expected = brute_force_ssim(pred, ref, valid, np.nanmax(ref[valid]) - np.nanmin(ref[valid]))
    assert m["SSIM"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("data_range", [None, 40.0])
def test_ssim_equals_scikit_image_on_fully_valid_images(data_range):
    ref = smooth_field((64, 80), 10)
    pred = 0.8 * ref + 60 + np.random.default_rng(11).normal(0, 1.5, ref.shape)
    m = metrics_from_arrays(pred, ref, data_range=data_range)
    expected = skimage_ssim(pred, ref, data_range or np.ptp(ref))
    assert m["SSIM"] == pytest.approx(expected, abs=1e-10)


def test_yanco_modis_against_landsat(tmp_path):
    modis = yanco("MOD11A1_LST_cloudrm_20160308.tif")
    landsat = yanco("Landsat_LST_cloudrm_20160308.tif")
    m = compute_metrics(modis, landsat, ergas_ratio=30 / 1000)
    assert m["RMSE"] == pytest.approx(5.17, abs=0.01)
    assert m["BIAS"] == pytest.approx(-4.5, abs=0.05)
    assert m["UNITS"] == "kelvin"
    p, r = read_array(modis).astype(float), read_array(landsat).astype(float)
    assert m["SSIM"] == pytest.approx(skimage_ssim(p, r, np.ptp(r)), abs=1e-9)
    expected = oracle(p.ravel(), r.ravel(), 30 / 1000)
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, rel=1e-9), name


def test_files_in_small_blocks_equal_arrays(tmp_path, monkeypatch):
    ref = smooth_field((103, 40), 12).astype(np.float32)
    pred = (ref + np.random.default_rng(13).normal(0, 1, ref.shape)).astype(np.float32)
    pred[30:50, 10:20] = np.nan
    mask = np.ones(ref.shape, np.float32)
    mask[:, :4] = 0
    grid = Grid("", UTM, 40, 103)
    paths = [write_array(str(tmp_path / f"{n}.tif"), a, grid, units="kelvin")
             for n, a in (("p", pred), ("r", ref), ("m", mask))]
    monkeypatch.setattr(metrics, "BLOCK_PIXELS", 40 * 21)  # 21-row blocks: halos cross blocks
    m = compute_metrics(*paths, ergas_ratio=0.03, error_path=str(tmp_path / "err.tif"))
    expected = metrics_from_arrays(pred, ref, mask=mask > 0, ergas_ratio=0.03)
    for name in metrics.METRICS:
        assert m[name] == pytest.approx(expected[name], rel=1e-9), name
    error = read_array(str(tmp_path / "err.tif"))
    np.testing.assert_allclose(error, np.where(mask > 0, pred - ref, np.nan), atol=1e-5)
    assert read_units(str(tmp_path / "err.tif")) == "kelvin"


def test_units_mismatch_is_an_error(tmp_path):
    ref = smooth_field((20, 20), 14)
    grid = Grid("", UTM, 20, 20)
    kelvin = write_tif(tmp_path / "k.tif", ref, UTM)  # no metadata: inferred from values
    celsius = write_array(str(tmp_path / "c.tif"), ref - 273.15, grid, units="celsius")
    with pytest.raises(InputError, match=r"Units differ.*Celsius \(from its metadata\).*Kelvin "
                                         r"\(inferred from its mean value 30"):
        compute_metrics(celsius, kelvin)


def test_grid_mismatch_names_the_difference(tmp_path):
    ref = smooth_field((20, 20), 15)
    a = write_tif(tmp_path / "a.tif", ref, UTM, 32755)
    b = write_tif(tmp_path / "b.tif", ref, (UTM[0] + 15.0,) + UTM[1:], 32755)
    with pytest.raises(InputError, match=r"REFERENCE .*b\.tif.* is not on the grid of PREDICTION.*origin x"):
        compute_metrics(a, b)
    c = write_tif(tmp_path / "c.tif", ref[:10], UTM, 32755)
    with pytest.raises(InputError, match=r"size 20 x 20 pixels vs 20 x 10"):
        compute_metrics(a, c)


def test_no_common_valid_pixel_is_an_error(tmp_path):
    ref = smooth_field((20, 20), 16)
    pred = ref.copy()
    pred[:] = np.nan
    with pytest.raises(InputError, match="No pixel is valid in both"):
        metrics_from_arrays(pred, ref)


def test_resolution_ratio_converts_degrees_and_metres(tmp_path):
    fine = write_tif(tmp_path / "fine.tif", np.zeros((4, 4)), UTM, 32755)
    coarse = write_tif(tmp_path / "coarse.tif", np.zeros((4, 4)), (0, 926.625433, 0, 0, 0, -926.625433), 32755)
    assert resolution_ratio(fine, coarse) == pytest.approx(30 / 926.625433)
    geographic = write_tif(tmp_path / "geo.tif", np.zeros((4, 4)), (146.0, 0.01, 0, -34.8, 0, -0.01), 4326)
    # metres per degree on WGS 84 by the usual series in the latitude (centre -34.82)
    phi = math.radians(-34.82)
    per_lat = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    expected = 30 / math.sqrt(0.01 * per_lat * 0.01 * per_lon)
    assert resolution_ratio(fine, geographic) == pytest.approx(expected, rel=1e-4)


def test_read_decimated_bounds_the_size_and_keeps_nodata(tmp_path):
    data = np.arange(60 * 2000, dtype=np.float32).reshape(60, 2000)
    data[:, 1000:] = -9999.0
    path = write_tif(tmp_path / "wide.tif", data, UTM, 32755, nodata=-9999.0)
    view = read_decimated(path, max_size=500)
    assert view.shape == (15, 500)
    assert np.isnan(view[:, 250:]).all() and np.isfinite(view[:, :250]).all()
    assert set(view[0, :250].astype(int)) <= set(data[:, :1000].ravel().astype(int))  # samples, not means


def test_tables_write_infinity_and_missing_values(tmp_path):
    ref = smooth_field((30, 30), 17)
    result = metrics_from_arrays(ref, ref.copy())  # PSNR inf, ERGAS NaN (no ratio)
    result["UNITS"] = "kelvin"
    csv_path = write_metrics_table(str(tmp_path / "m.csv"), result, {})
    rows = {line.split(",")[0]: line.split(",")[1] for line in Path(csv_path).read_text().splitlines()[1:]}
    assert rows["PSNR"] == "inf" and rows["ERGAS"] == "" and rows["RMSE"] == "0"
    document = json.loads(Path(write_metrics_table(str(tmp_path / "m.json"), result, {"units": "kelvin"})).read_text())
    assert document["metrics"]["PSNR"] == "inf" and document["metrics"]["ERGAS"] is None
    assert "PSNR" in text_table(result) and "inf dB" in text_table(result)
    with pytest.raises(InputError, match=r"use a \.csv or \.json file name"):
        write_metrics_table(str(tmp_path / "m.txt"), result, {})
