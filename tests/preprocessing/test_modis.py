"""lstfusion:modislst on the real MOD11A1 granule and on GeoTIFF exports written here."""
import json
import os
import subprocess

import numpy as np
import pytest
from osgeo import gdal, osr

from conftest import MODIS_HDF, REPO
from helpers import write_tif
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.preprocessing.modis import modis_to_lst, qc_keep
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units
from product_fixtures import MODIS_TRANSFORM, sinusoidal_wkt, write_modis_export

GRID = 'HDF4_EOS:EOS_GRID:"{}":MODIS_Grid_Daily_1km_LST:{}'


@pytest.fixture(scope="module")
def granule():
    if not os.path.exists(MODIS_HDF):
        pytest.skip(f"real data not available: {MODIS_HDF}")
    return MODIS_HDF


def raw(granule, name):
    """The raw integer array of a granule layer, read without our code."""
    ds = gdal.Open(GRID.format(granule, name))
    return ds.GetRasterBand(1).ReadAsArray().astype(np.int64)


def oracle_keep(qc, rule):
    """Independent decoding of QC bits with integer arithmetic."""
    mandatory, quality, lst_error = qc % 4, (qc // 4) % 4, qc // 64
    return {"survey": (mandatory <= 1) & (quality == 0) & (lst_error <= 2),
            "best": mandatory == 0, "any": mandatory <= 1}[rule]


@pytest.mark.parametrize("rule", ["survey", "best", "any"])
def test_qc_rules_match_an_independent_bit_decoding(rule):
    qc = np.arange(256)
    np.testing.assert_array_equal(qc_keep(qc.astype(np.uint8), rule), oracle_keep(qc, rule))


@pytest.mark.parametrize("rule,units", [("survey", "kelvin"), ("best", "celsius")])
def test_real_granule_values_mask_units_and_sinusoidal_grid(granule, tmp_path, rule, units):
    out = str(tmp_path / "lst.tif")
    result = modis_to_lst(granule, out, "day", None, rule, units)
    dn, qc = raw(granule, "LST_Day_1km"), raw(granule, "QC_Day")
    keep = (dn > 0) & oracle_keep(qc, rule)
    values = read_array(out)
    np.testing.assert_array_equal(np.isfinite(values), keep)
    expected = dn * 0.02 - (273.15 if units == "celsius" else 0.0)
    np.testing.assert_allclose(values[keep], expected[keep], atol=1e-3)
    assert result["valid_fraction"] == pytest.approx(keep.mean())
    assert read_units(out) == units
    if rule == "survey":  # the documented facts of this granule
        assert keep.mean() == pytest.approx(0.23, abs=0.01)
        assert np.nanmin(values) == pytest.approx(291.4, abs=0.1)
        assert np.nanmax(values) == pytest.approx(325.7, abs=0.1)
    else:
        assert result["qc_rejected"] == int(((dn > 0) & (qc % 4 != 0)).sum()) > 0
    sub = gdal.Open(GRID.format(granule, "LST_Day_1km"))
    grid = read_grid(out)
    assert grid.transform == pytest.approx(sub.GetGeoTransform())
    source_srs = osr.SpatialReference(wkt=sub.GetProjection())
    assert osr.SpatialReference(wkt=grid.crs_wkt).IsSame(source_srs)
    assert "+proj=sinu" in osr.SpatialReference(wkt=grid.crs_wkt).ExportToProj4()


def test_night_layer_and_subdataset_input(granule, tmp_path):
    out = str(tmp_path / "night.tif")
    modis_to_lst(GRID.format(granule, "LST_Night_1km"), out, quality="any")
    dn, qc = raw(granule, "LST_Night_1km"), raw(granule, "QC_Night")
    np.testing.assert_array_equal(np.isfinite(read_array(out)), (dn > 0) & (qc % 4 <= 1))


def test_a_qc_layer_given_as_input_is_refused(granule, tmp_path):
    with pytest.raises(InputError, match="is the QC_Day layer of a MODIS granule, not its LST"):
        modis_to_lst(GRID.format(granule, "QC_Day"), str(tmp_path / "x.tif"))


def test_processing_run_on_the_granule_file(processing, granule, tmp_path):
    out = str(tmp_path / "lst.tif")
    result = processing.run("lstfusion:modislst", {"INPUT": granule, "QUALITY": 1, "UNITS": 1, "OUTPUT": out})
    dn, qc = raw(granule, "LST_Day_1km"), raw(granule, "QC_Day")
    assert result["VALID_FRACTION"] == pytest.approx(((dn > 0) & (qc % 4 == 0)).mean())
    assert "0.02" in result["SCALING"]
    assert read_units(out) == "celsius"


def test_raw_geotiff_export_with_sibling_qc(tmp_path):
    rng = np.random.default_rng(1)
    kelvin = 300.0 + rng.normal(0, 3, (20, 20))
    kelvin[0, :5] = np.nan
    qc = np.zeros((20, 20), np.uint8)
    qc[5, 5], qc[6, 6], qc[7, 7] = 0b11000001, 0b00000100, 2  # LST error > 3 K, bad data, not produced
    files = write_modis_export(tmp_path, "2019305", kelvin, qc)
    out = str(tmp_path / "lst.tif")
    result = modis_to_lst(files["lst"], out)
    assert result["qc_layer"] == files["qc"]
    assert "raw DN" in result["assumption"]
    values = read_array(out)
    expected = files["dn"] * 0.02
    keep = np.isfinite(kelvin) & oracle_keep(qc.astype(np.int64), "survey")
    np.testing.assert_array_equal(np.isfinite(values), keep)
    np.testing.assert_allclose(values[keep], expected[keep], atol=1e-3)


def test_scaled_celsius_export_keeps_a_real_zero(tmp_path):
    celsius = np.full((10, 10), 21.5, np.float32)
    celsius[2, 3] = 0.0
    celsius[4, 4] = -9999.0
    path = write_tif(tmp_path / "MOD11A1_LST_2019-11-01.tif", celsius, MODIS_TRANSFORM, None, nodata=-9999.0)
    ds = gdal.Open(path, gdal.GA_Update)
    ds.SetProjection(sinusoidal_wkt())
    ds = None
    out = str(tmp_path / "lst.tif")
    result = modis_to_lst(path, out, units="kelvin")
    assert "Celsius" in result["assumption"]
    values = read_array(out)
    assert values[2, 3] == pytest.approx(273.15)
    assert np.isnan(values[4, 4]) and np.isfinite(values).sum() == 99


def test_bad_inputs_name_the_file(tmp_path):
    kelvin = np.full((20, 20), 300.0)
    files = write_modis_export(tmp_path / "a", "2019305", kelvin)
    landsat = write_tif(tmp_path / "LC08_L2SP_217065_20191101_20191231_02_T1_ST_B10.TIF",
                        np.full((5, 5), 45000, np.uint16), MODIS_TRANSFORM, None, dtype=gdal.GDT_UInt16)
    with pytest.raises(InputError, match="LC08_L2SP.*looks like a Landsat file"):
        modis_to_lst(landsat, str(tmp_path / "x.tif"))
    with pytest.raises(InputError, match="QC_Day.*is the QC_Day layer"):
        modis_to_lst(files["qc"], str(tmp_path / "x.tif"))
    byte = write_tif(tmp_path / "emissivity.tif", np.full((5, 5), 200, np.uint8), MODIS_TRANSFORM, None,
                     dtype=gdal.GDT_Byte)
    with pytest.raises(InputError, match="emissivity.tif holds 8-bit values"):
        modis_to_lst(byte, str(tmp_path / "x.tif"))
    ndvi = write_tif(tmp_path / "ndvi.tif", np.full((5, 5), 0.5e4, np.float32) * np.arange(5), MODIS_TRANSFORM,
                     None)
    with pytest.raises(InputError, match="ndvi.tif: values .* neither MODIS LST DN"):
        modis_to_lst(ndvi, str(tmp_path / "x.tif"))
    text = tmp_path / "notes.hdf"
    text.write_text("not a granule")
    with pytest.raises(InputError, match="Cannot read .*notes.hdf"):
        modis_to_lst(str(text), str(tmp_path / "x.tif"))


def test_qc_on_another_grid_is_refused(tmp_path):
    files = write_modis_export(tmp_path, "2019305", np.full((20, 20), 300.0))
    shifted = list(MODIS_TRANSFORM)
    shifted[0] += 926.625433
    qc = write_tif(tmp_path / "other_qc.tif", np.zeros((20, 20), np.uint8), tuple(shifted), None,
                   dtype=gdal.GDT_Byte)
    ds = gdal.Open(qc, gdal.GA_Update)
    ds.SetProjection(sinusoidal_wkt())
    ds = None
    with pytest.raises(InputError, match="The QC layer .*other_qc.tif is not on the grid of the LST layer "
                                         ".*LST_Day_1km.*origin x"):
        modis_to_lst(files["lst"], str(tmp_path / "x.tif"), qc_path=qc)


def test_scale_factor_in_metadata_means_raw_dn(tmp_path):
    files = write_modis_export(tmp_path, "2019305", np.full((20, 20), 300.0))
    ds = gdal.Open(files["lst"], gdal.GA_Update)
    ds.GetRasterBand(1).SetScale(0.02)
    ds.GetRasterBand(1).SetNoDataValue(0)
    ds = None
    out = str(tmp_path / "lst.tif")
    result = modis_to_lst(files["lst"], out)
    assert result["assumption"] == "raw DN, Kelvin = DN x 0.02 (scale factor from the file's metadata)"
    np.testing.assert_allclose(read_array(out), 300.0, atol=1e-3)


@pytest.mark.slow
def test_shell_entry_takes_the_granule_file(granule, tmp_path):
    out = tmp_path / "lst.tif"
    env = dict(os.environ, LST_FUSION_PROFILE=str(tmp_path / "profile"))
    done = subprocess.run([os.path.join(REPO, "scripts", "qgis-process"), "--json", "run", "lstfusion:modislst",
                           "--", f"INPUT={granule}", "QUALITY=2", f"OUTPUT={out}"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    dn, qc = raw(granule, "LST_Day_1km"), raw(granule, "QC_Day")
    assert results["VALID_FRACTION"] == pytest.approx(((dn > 0) & (qc % 4 <= 1)).mean())
    assert results["OUTPUT"] == str(out) and read_units(str(out)) == "kelvin"
