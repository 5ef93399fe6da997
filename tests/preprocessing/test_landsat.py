"""lstfusion:landsatlst on Collection 2 Level-2 scenes written here (ST_B10, QA_PIXEL, MTL)."""
import os

import numpy as np
import pytest
from osgeo import gdal

from helpers import write_tif
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.preprocessing.landsat import landsat_to_lst
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units
from product_fixtures import (QA_CIRRUS, QA_CLEAR, QA_CLOUD, QA_DILATED, QA_FILL, QA_SHADOW, QA_SNOW,
                              UTM_24S, kelvin_field, write_landsat_scene)


def scene_with_every_class(folder, **kwargs):
    """A 40 x 50 scene with a block of each QA class and one fill row."""
    kelvin = kelvin_field(40, 50)
    qa = np.full((40, 50), QA_CLEAR, np.int64)
    for i, value in enumerate([QA_DILATED, QA_CIRRUS, QA_CLOUD, QA_SHADOW, QA_SNOW]):
        qa[5:10, 2 + 8 * i: 8 + 8 * i] = value
    kelvin[39, :] = np.nan
    qa[39, :] = QA_FILL
    return kelvin, qa, write_landsat_scene(folder, "20191101", kelvin, qa, **kwargs)


def masked_by_bits(qa, bits):
    """Independent QA decoding: any of the given bit numbers set."""
    return np.any([(qa >> b) & 1 for b in bits], axis=0).astype(bool)


def test_default_mask_is_fill_dilated_cloud_cloud_and_shadow(tmp_path):
    kelvin, qa, files = scene_with_every_class(tmp_path)
    out = str(tmp_path / "lst.tif")
    result = landsat_to_lst(files["st"], out)
    assert result["qa_layer"] == files["qa"]
    values = read_array(out)
    masked = masked_by_bits(qa, [0, 1, 3, 4])
    np.testing.assert_array_equal(np.isnan(values), masked)
    assert not masked[5:10, 10:16].any() and not masked[5:10, 34:40].any()  # cirrus, snow kept
    assert masked[5:10, 26:32].all()  # cloud shadow masked
    assert result["masked"] == {"dilated_cloud": 30, "cloud": 30, "cloud_shadow": 30}
    np.testing.assert_allclose(values[~masked], kelvin[~masked], atol=0.0018)  # half a DN
    assert result["valid_fraction"] == pytest.approx((~masked).mean())
    assert read_grid(out).difference(read_grid(files["st"])) is None
    assert read_units(out) == "kelvin"


def test_chosen_classes_and_celsius_with_a_real_zero(tmp_path):
    kelvin, qa, files = scene_with_every_class(tmp_path)
    kelvin_zero = kelvin.copy()
    kelvin_zero[20, 20] = 273.15
    files = write_landsat_scene(tmp_path, "20191101", kelvin_zero, qa)
    out = str(tmp_path / "lst.tif")
    landsat_to_lst(files["st"], out, mask=["fill", "cirrus", "snow"], units="celsius")
    values = read_array(out)
    np.testing.assert_array_equal(np.isnan(values), masked_by_bits(qa, [0, 2, 5]))
    assert values[20, 20] == pytest.approx(0.0, abs=0.002)
    assert read_units(out) == "celsius"


def test_scale_comes_from_the_mtl_file_beside_the_band(tmp_path):
    kelvin = kelvin_field(30, 30)
    files = write_landsat_scene(tmp_path, "20191101", kelvin, mtl_scale=(0.004, 140.0))
    out = str(tmp_path / "lst.tif")
    result = landsat_to_lst(files["st"], out)
    assert os.path.basename(files["mtl"]) in result["scaling"]
    np.testing.assert_allclose(read_array(out), files["dn"] * 0.004 + 140.0, atol=1e-3)
    os.remove(files["mtl"])
    result = landsat_to_lst(files["st"], out)
    assert "Collection 2 constants" in result["scaling"]
    np.testing.assert_allclose(read_array(out), files["dn"] * 0.00341802 + 149.0, atol=1e-3)


def test_processing_run_with_mask_list(processing, tmp_path):
    kelvin, qa, files = scene_with_every_class(tmp_path)
    out = str(tmp_path / "lst.tif")
    result = processing.run("lstfusion:landsatlst", {"INPUT": files["st"], "MASK": [0, 3], "UNITS": 1,
                                                     "OUTPUT": out})
    masked = masked_by_bits(qa, [0, 3])
    assert result["VALID_FRACTION"] == pytest.approx((~masked).mean())
    np.testing.assert_allclose(read_array(out)[~masked], kelvin[~masked] - 273.15, atol=0.0018)


def test_wrong_band_other_product_and_bad_mtl_are_named(tmp_path):
    kelvin = kelvin_field(10, 10)
    files = write_landsat_scene(tmp_path / "a", "20191101", kelvin)
    sr = files["st"].replace("ST_B10", "SR_B4")
    os.rename(files["st"], sr)
    with pytest.raises(InputError, match="SR_B4.TIF is the SR_B4 band of a Landsat scene"):
        landsat_to_lst(sr, str(tmp_path / "x.tif"))
    with pytest.raises(InputError, match="QA_PIXEL.TIF is the QA_PIXEL band"):
        landsat_to_lst(files["qa"], str(tmp_path / "x.tif"))
    modis = write_tif(tmp_path / "MOD11A1.A2019305.h14v09.tif", np.full((5, 5), 15000, np.uint16),
                      files["transform"], UTM_24S, dtype=gdal.GDT_UInt16)
    with pytest.raises(InputError, match="MOD11A1.A2019305.h14v09.tif looks like a MODIS product"):
        landsat_to_lst(modis, str(tmp_path / "x.tif"))
    no_scale = write_landsat_scene(tmp_path / "b", "20191101", kelvin, mtl_scale=None)
    with pytest.raises(InputError, match="The MTL file .*_MTL.txt has no TEMPERATURE_MULT_BAND_ST_B10"):
        landsat_to_lst(no_scale["st"], str(tmp_path / "x.tif"))
    byte = write_tif(tmp_path / "thermal.tif", np.full((5, 5), 9, np.uint8), files["transform"], UTM_24S,
                     dtype=gdal.GDT_Byte)
    with pytest.raises(InputError, match="thermal.tif holds Byte values"):
        landsat_to_lst(byte, str(tmp_path / "x.tif"))
    assert not os.path.exists(tmp_path / "x.tif")


def test_qa_pixel_on_another_grid_is_refused(tmp_path):
    files = write_landsat_scene(tmp_path, "20191101", kelvin_field(10, 10))
    other = write_tif(tmp_path / "qa_other.tif", np.full((12, 10), QA_CLEAR, np.uint16), files["transform"],
                      UTM_24S, dtype=gdal.GDT_UInt16)
    with pytest.raises(InputError, match="The QA_PIXEL layer .*qa_other.tif is not on the grid of "
                                         ".*ST_B10.TIF: size"):
        landsat_to_lst(files["st"], str(tmp_path / "x.tif"), qa_path=other)


def test_float_lst_is_accepted_as_already_scaled(tmp_path):
    kelvin = kelvin_field(10, 10).astype(np.float32)
    kelvin[3, 3] = -9999.0
    path = write_tif(tmp_path / "Landsat_LST_20191101.tif", kelvin, (546300.0, 30, 0, 9281310.0, 0, -30),
                     UTM_24S, nodata=-9999.0)
    out = str(tmp_path / "lst.tif")
    result = landsat_to_lst(path, out, units="celsius")
    assert "already LST in Kelvin" in result["scaling"] and result["qa_layer"] is None
    values = read_array(out)
    assert np.isnan(values[3, 3]) and np.isfinite(values).sum() == 99
    np.testing.assert_allclose(values[0, 0], kelvin[0, 0] - 273.15, atol=1e-4)


def test_scene_archive_is_read_in_place(tmp_path):
    import tarfile
    from lst_fusion_plugin.preprocessing.discovery import find_landsat
    kelvin = kelvin_field(30, 40)
    qa = np.full((30, 40), QA_CLEAR)
    qa[:5, :5] = QA_CLOUD
    files = write_landsat_scene(tmp_path / "scene", "20191117", kelvin, qa, mtl_scale=(0.004, 140.0))
    archive = tmp_path / "downloads" / f"{files['pid']}.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w") as tar:  # members at the archive's root, as USGS delivers them
        for key in ("st", "qa", "mtl"):
            tar.add(files[key], arcname=os.path.basename(files[key]))
    found, unusable = find_landsat(str(tmp_path / "downloads"))
    assert unusable == [] and len(found) == 1
    date, band = found[0]
    assert str(date) == "2019-11-17" and band.startswith("/vsitar/") and band.endswith("_ST_B10.TIF")
    out = str(tmp_path / "lst.tif")
    result = landsat_to_lst(band, out)
    assert "_MTL.txt" in result["scaling"] and result["qa_layer"].endswith("_QA_PIXEL.TIF")
    values = read_array(out)
    assert np.isnan(values[:5, :5]).all() and np.isfinite(values).sum() == 30 * 40 - 25
    np.testing.assert_allclose(values[10:, 10:], (files["dn"] * 0.004 + 140.0)[10:, 10:], atol=1e-3)


def test_landsat_7_thermal_band_st_b6_reads_its_own_mtl_keys(tmp_path):
    kelvin = kelvin_field(20, 20)
    files = write_landsat_scene(tmp_path, "20191101", kelvin, mtl_scale=(0.004, 140.0))
    renamed = {}
    for key in ("st", "qa", "mtl"):
        renamed[key] = files[key].replace("LC08", "LE07").replace("_ST_B10", "_ST_B6")
        os.rename(files[key], renamed[key])
    with open(renamed["mtl"]) as f:
        text = f.read().replace("ST_B10", "ST_B6")
    with open(renamed["mtl"], "w") as f:
        f.write(text)
    out = str(tmp_path / "lst.tif")
    result = landsat_to_lst(renamed["st"], out)
    assert "LE07" in result["scaling"] and result["qa_layer"] == renamed["qa"]
    np.testing.assert_allclose(read_array(out), files["dn"] * 0.004 + 140.0, atol=1e-3)
