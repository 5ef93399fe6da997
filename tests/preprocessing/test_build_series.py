"""lstfusion:buildseries on a folder of fixture scenes plus the real MOD11A1 granule."""
import os

import numpy as np
import pytest
from osgeo import osr
from qgis.core import (QgsFeature, QgsGeometry, QgsRasterLayer, QgsSingleBandPseudoColorRenderer,
                       QgsVectorLayer)

from conftest import MODIS_HDF, yanco
from lst_fusion_plugin.preprocessing.build_series import SeriesOptions, build_series
from lst_fusion_plugin.preprocessing.clip import clip_grid
from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units
from lst_fusion_plugin.common.pairs import read_pairs
from product_fixtures import QA_CLOUD, QA_SHADOW, kelvin_field, write_landsat_scene, write_modis_export

SIZE = 200  # 6 km of 30 m pixels: about 7 MODIS pixels across


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    """MODIS and Landsat folders as a user downloads them; returns (modis, landsat, kelvin by date)."""
    if not os.path.exists(MODIS_HDF):
        pytest.skip(f"real data not available: {MODIS_HDF}")
    root = tmp_path_factory.mktemp("downloads")
    modis, landsat = root / "modis", root / "landsat"
    modis.mkdir()
    os.symlink(MODIS_HDF, modis / os.path.basename(MODIS_HDF))  # 2019-11-01
    rng = np.random.default_rng(5)
    coarse = 300.0 + rng.normal(0, 2, (20, 20))
    gappy = coarse.copy()
    gappy[10, 10] = np.nan  # one 1 km pixel: about 2.4 % of the fine grid, under the 10 % limit
    write_modis_export(modis, "2019313", gappy)  # 2019-11-09: coarse only
    write_modis_export(modis, "2019321", coarse + 2)  # 2019-11-17: pair
    write_modis_export(modis, "2019329", coarse + 3)  # 2019-11-25: Landsat too cloudy
    cloudy_modis = coarse.copy()
    cloudy_modis[:, :] = np.nan
    cloudy_modis[0, 0] = 300.0
    write_modis_export(modis, "2019333", cloudy_modis)  # 2019-11-29: MODIS refused
    kelvin = {}
    for date, seed in (("20191101", 1), ("20191117", 2), ("20191125", 3), ("20191203", 4)):
        kelvin[date] = kelvin_field(SIZE, SIZE, seed)
        qa = np.full((SIZE, SIZE), 21824)
        if date == "20191101":
            qa[20:30, 20:40] = QA_SHADOW  # 0.5 %: filled
        if date == "20191125":
            qa[:120, :] = QA_CLOUD  # 60 %: refused
        scene = landsat / f"LC08_L2SP_217065_{date}_{date[:4]}1231_02_T1"
        write_landsat_scene(scene, date, kelvin[date], qa)
    return str(modis), str(landsat), kelvin


@pytest.fixture(scope="module")
def series(processing, downloads, tmp_path_factory):
    modis, landsat, _ = downloads
    out = str(tmp_path_factory.mktemp("series"))
    result = processing.run("lstfusion:buildseries", {
        "MODIS_FOLDER": modis, "LANDSAT_FOLDER": landsat, "OUTPUT_FOLDER": out, "FILL_METHOD": 2})
    return result, out


def test_pairs_table_lists_pairs_and_coarse_only_dates(series):
    result, out = series
    assert result["PAIRS"] == os.path.join(out, "pairs.csv")
    with open(result["PAIRS"]) as f:
        lines = f.read().splitlines()
    assert lines == ["date,fine,coarse",
                     "2019-11-01,fine/landsat_2019-11-01.tif,coarse/modis_2019-11-01.tif",
                     "2019-11-09,,coarse/modis_2019-11-09.tif",
                     "2019-11-17,fine/landsat_2019-11-17.tif,coarse/modis_2019-11-17.tif",
                     "2019-11-25,,coarse/modis_2019-11-25.tif"]
    assert (result["PAIR_COUNT"], result["COARSE_ONLY_COUNT"], result["REFUSED_COUNT"]) == (2, 2, 3)
    assert not os.path.exists(os.path.join(out, ".work"))


def test_every_image_is_on_the_first_scene_grid(series, downloads):
    _, landsat, kelvin = downloads
    result, _ = series
    first = os.path.join(landsat, "LC08_L2SP_217065_20191101_20191231_02_T1",
                         "LC08_L2SP_217065_20191101_20191231_02_T1_ST_B10.TIF")
    for row in read_pairs(result["PAIRS"]):
        for path in filter(None, (row.fine, row.coarse)):
            assert read_grid(path).difference(read_grid(first)) is None, path
            assert read_units(path) == "kelvin"
    fine = read_array(os.path.join(os.path.dirname(result["PAIRS"]), "fine", "landsat_2019-11-17.tif"))
    np.testing.assert_allclose(fine, kelvin["20191117"], atol=0.0018)  # clear scene: exact LST


def test_real_granule_is_aligned_and_gaps_are_left_when_asked(series):
    result, out = series
    coarse = read_array(os.path.join(out, "coarse", "modis_2019-11-01.tif"))
    assert np.isfinite(coarse).all()
    assert 300.0 < coarse.min() and coarse.max() < 325.7  # inside the granule's valid range here
    gappy = read_array(os.path.join(out, "coarse", "modis_2019-11-09.tif"))
    assert 0 < np.isnan(gappy).mean() <= 0.10  # FILL_METHOD 2: no filling
    fine = read_array(os.path.join(out, "fine", "landsat_2019-11-01.tif"))
    assert np.isnan(fine[20:30, 20:40]).all() and np.isfinite(fine).sum() == SIZE * SIZE - 200


def test_summary_says_what_was_refused_and_why(series):
    result, _ = series
    with open(result["SUMMARY"]) as f:
        text = f.read()
    assert "2 pair(s), 2 coarse-only date(s), 3 refused" in text
    assert "2019-12-03: refused Landsat LC08_L2SP_217065_20191203" in text
    assert "no MODIS image on this date" in text
    assert "2019-11-25: coarse only (Landsat LC08_L2SP_217065_20191125_20191231_02_T1_ST_B10.TIF: 60.0 % " \
           "no-data on the grid, above the maximum 20.0 %)" in text
    assert "2019-11-29: refused (MODIS MOD11A1.061_LST_Day_1km_doy2019333_aid0001.tif" in text


def test_the_next_algorithm_consumes_the_pairs_table(processing, series, tmp_path):
    result, out = series
    gappy = os.path.join(out, "coarse", "modis_2019-11-09.tif")
    filled = processing.run("lstfusion:fillgaps", {"INPUT": gappy, "METHOD": 2, "PAIRS": result["PAIRS"],
                                                   "SPATIAL_FALLBACK": False, "OUTPUT": str(tmp_path / "f.tif")})
    assert filled["FILLED_PIXELS"] == int(np.isnan(read_array(gappy)).sum()) > 0
    assert filled["VALID_FRACTION"] == 1.0


def test_extent_clips_the_grid_to_whole_pixels(processing, downloads, tmp_path):
    modis, landsat, _ = downloads
    result = processing.run("lstfusion:buildseries", {
        "MODIS_FOLDER": modis, "LANDSAT_FOLDER": landsat, "OUTPUT_FOLDER": str(tmp_path),
        "EXTENT": "547010,548500,9277000,9279995 [EPSG:32724]", "MAX_GAP_FINE": 100})
    fine = read_grid(read_pairs(result["PAIRS"])[0].fine)
    assert (fine.width, fine.height) == (51, 101)  # columns 23-73, rows 43-143
    assert fine.transform[0] == 546990.0 and fine.transform[3] == 9280020.0
    assert result["PAIR_COUNT"] == 3  # 2019-11-25 kept too: no gap limit on Landsat


def test_clip_outside_the_scene_and_empty_folders_are_refused(downloads, tmp_path):
    modis, landsat, _ = downloads
    grid = read_grid(os.path.join(landsat, "LC08_L2SP_217065_20191101_20191231_02_T1",
                                  "LC08_L2SP_217065_20191101_20191231_02_T1_ST_B10.TIF"))
    with pytest.raises(InputError, match="The clip extent does not overlap the first Landsat scene"):
        clip_grid(grid, (0.0, 0.0, 10.0, 10.0), grid.crs_wkt)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="No Landsat scene .* found in .*empty"):
        build_series(modis, str(empty), str(tmp_path / "out"), SeriesOptions())


def test_real_yanco_folder_used_as_both_folders(tmp_path):
    folder = os.path.dirname(yanco("Landsat_LST_cloudrm_20160205.tif"))
    report = build_series(folder, folder, str(tmp_path))
    rows = read_pairs(report.pairs_path)
    assert [(str(r.date), bool(r.fine)) for r in rows] == [
        ("2016-02-05", True), ("2016-02-18", False), ("2016-03-08", True)]
    landsat = read_array(rows[0].fine)
    source = read_array(yanco("Landsat_LST_cloudrm_20160205.tif"))
    assert np.isfinite(landsat).all() and np.isnan(source).sum() == 1  # the one no-data pixel is filled
    np.testing.assert_array_equal(landsat[np.isfinite(source)], source[np.isfinite(source)])
    modis = read_array(rows[2].coarse)
    np.testing.assert_allclose(modis, read_array(yanco("MOD11A1_LST_cloudrm_20160308.tif")), atol=1e-4)
    with open(report.summary_path) as f:
        assert "MOD11A1_LST_cloudrm_20160205.tif has no QC layer: only fill is masked" in f.read()


def test_cancel_between_files_writes_no_table(downloads, tmp_path):
    modis, landsat, _ = downloads
    messages = []
    progress = Progress(info=messages.append, is_cancelled=lambda: len(messages) >= 1)
    with pytest.raises(Cancelled):
        build_series(modis, landsat, str(tmp_path), SeriesOptions(), progress)
    assert messages[0].startswith("2019-11-01: pair kept")
    assert sorted(os.listdir(tmp_path)) == ["coarse", "fine"]  # no pairs.csv, no .work


def test_tiles_of_one_date_are_mosaicked_and_terra_is_preferred(tmp_path):
    kelvin = 300.0 + np.arange(400, dtype=float).reshape(20, 20) / 100.0
    west, east = kelvin.copy(), kelvin.copy()
    west[:, 10:] = np.nan  # each export covers half of the area
    east[:, :10] = np.nan
    modis = tmp_path / "modis"
    first = write_modis_export(modis, "2019305", west)
    second = write_modis_export(tmp_path / "other", "2019305", east)
    os.rename(second["lst"], modis / "MOD11A1.061_LST_Day_1km_doy2019305_aid0002.tif")
    os.rename(second["qc"], modis / "MOD11A1.061_QC_Day_doy2019305_aid0002.tif")
    aqua = write_modis_export(tmp_path / "aqua", "2019305", kelvin + 10)
    os.rename(aqua["lst"], modis / "MYD11A1.061_LST_Day_1km_doy2019305_aid0003.tif")
    write_landsat_scene(tmp_path / "landsat", "20191101", kelvin_field(SIZE, SIZE))
    report = build_series(str(modis), str(tmp_path / "landsat"), str(tmp_path / "out"),
                          SeriesOptions(fill="none", resampling="nearest"))
    coarse = read_array(read_pairs(report.pairs_path)[0].coarse)
    assert np.isfinite(coarse).all() and coarse.max() < 305.0  # both halves, none of Aqua's +10 K
    exported = np.unique(np.round(kelvin / 0.02) * 0.02)
    distance = np.abs(np.unique(coarse)[:, None] - exported[None, :]).min(axis=1)
    assert (distance < 1e-3).all()  # nearest resampling: only the Terra exports' values
    with open(report.summary_path) as f:
        text = f.read()
    assert "MYD11A1.061_LST_Day_1km_doy2019305_aid0003.tif (Aqua) not used: Terra preferred" in text
    assert os.path.basename(first["lst"]) in text


def test_temporary_output_folder(processing, downloads):
    modis, landsat, _ = downloads
    result = processing.run("lstfusion:buildseries", {"MODIS_FOLDER": modis, "LANDSAT_FOLDER": landsat,
                                                      "OUTPUT_FOLDER": "TEMPORARY_OUTPUT"})
    assert os.path.isdir(result["OUTPUT_FOLDER"]) and result["OUTPUT_FOLDER"] != "TEMPORARY_OUTPUT"
    assert result["PAIRS"] == os.path.join(result["OUTPUT_FOLDER"], "pairs.csv")
    assert len(read_pairs(result["PAIRS"])) == 4


def test_series_rasters_open_styled_in_qgis(series):
    result, out = series
    path = os.path.join(out, "fine", "landsat_2019-11-17.tif")
    assert os.path.exists(os.path.join(out, "fine", "landsat_2019-11-17.qml"))
    layer = QgsRasterLayer(path, "fine")
    assert isinstance(layer.renderer(), QgsSingleBandPseudoColorRenderer)
    labels = [i.label for i in layer.renderer().shader().rasterShaderFunction().colorRampItemList()]
    assert labels[0].endswith(" K")


def test_polygon_layer_masks_outside_and_counts_gaps_inside_only(processing, downloads, tmp_path):
    modis, landsat, _ = downloads
    utm, wgs84 = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32724)
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_wgs84 = osr.CoordinateTransformation(utm, wgs84)
    # a right triangle over the scene's north-west half, given in WGS 84
    corners = [to_wgs84.TransformPoint(x, y)[:2] for x, y in
               ((546400.0, 9281200.0), (549200.0, 9281200.0), (546400.0, 9278400.0))]
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "area", "memory")
    feature = QgsFeature()
    ring = ", ".join(f"{x!r} {y!r}" for x, y in corners + corners[:1])
    feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({ring}))"))
    layer.dataProvider().addFeatures([feature])
    result = processing.run("lstfusion:buildseries", {
        "MODIS_FOLDER": modis, "LANDSAT_FOLDER": landsat, "OUTPUT_FOLDER": str(tmp_path),
        "CLIP_LAYER": layer, "FILL_METHOD": 2})
    rows = read_pairs(result["PAIRS"])
    inside = np.isfinite(read_array(rows[0].coarse))  # the real granule has no gap here
    assert abs(inside.shape[0] - 94) <= 1 and abs(inside.shape[1] - 94) <= 1  # the triangle's bounding box
    assert inside[5, 5] and not inside[-5, -5] and 0.45 < inside.mean() < 0.55
    fine = read_array(rows[0].fine)
    assert not np.isfinite(fine[~inside]).any()
    assert int(np.isnan(fine[inside]).sum()) == 200  # the cloud shadow, inside: a gap (left unfilled)
    for row in rows:
        for path in filter(None, (row.fine, row.coarse)):
            assert read_grid(path).difference(read_grid(rows[0].coarse)) is None
    with open(result["SUMMARY"]) as f:
        assert f"; {int(inside.sum())} pixels inside the clip polygons" in f.read()


def test_temporal_filling_from_neighbour_dates(downloads, tmp_path):
    modis, landsat, _ = downloads
    kept = build_series(modis, landsat, str(tmp_path / "kept"), SeriesOptions(fill="none", resampling="nearest"))
    timed = build_series(modis, landsat, str(tmp_path / "timed"), SeriesOptions(fill="temporal",
                                                                                 resampling="nearest"))
    rows = {str(r.date): r for r in read_pairs(kept.pairs_path)}
    before, gappy, after = (read_array(rows[d].coarse) for d in ("2019-11-01", "2019-11-09", "2019-11-17"))
    filled = read_array(os.path.join(str(tmp_path / "timed"), "coarse", "modis_2019-11-09.tif"))
    gaps = np.isnan(gappy)
    assert gaps.any() and np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[~gaps], gappy[~gaps])
    # 2019-11-09 lies 8 of the 16 days from 2019-11-01 to 2019-11-17
    np.testing.assert_allclose(filled[gaps], (before + (after - before) * 0.5)[gaps], atol=1e-4)
    fine = read_array(os.path.join(str(tmp_path / "timed"), "fine", "landsat_2019-11-01.tif"))
    assert np.isfinite(fine).all()  # the shadow: no earlier Landsat date, so the focal mean
    with open(timed.summary_path) as f:
        text = f.read()
    assert "2019-11-09: coarse gaps filled in time from the nearest dates, the rest by the focal mean" in text
    assert "2019-11-01: fine gaps filled in time" in text
