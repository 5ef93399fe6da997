"""The STAC download against a local STAC API and COG server (tests/stac_server.py): windows only."""
import math
import os
import time

import numpy as np
import pytest
from osgeo import gdal, osr

from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_grid
from lst_fusion_plugin.preprocessing.build_series import build_series
from lst_fusion_plugin.preprocessing.cog_window import Forbidden, with_retries
from lst_fusion_plugin.preprocessing.stac_download import DownloadRequest, download
from lst_fusion_plugin.preprocessing.stac_signing import Signer
import stac_fixtures
from stac_fixtures import D1, D2, LANDSAT_X0, LANDSAT_Y0, MODIS_PIXEL, ROW_027_Y0, SINUSOIDAL, tile_transform, utm31

catalogue, server = stac_fixtures.catalogue, stac_fixtures.server  # fixtures
AREA = (400000.0, 5320000.0, 412000.0, 5329000.0)  # 12 x 9 km in UTM 31N, inside path 198 row 026
FAST = {"GDAL_HTTP_RETRY_DELAY": "0.05"}
L8_D1 = "LC08_L2SP_198026_20200718_20200912_02_T1"
L8_D2 = "LC08_L2SP_198026_20200803_20200914_02_T1"
MOD_D1 = "MOD11A1.A2020200.h18v04.061.2020201095403"
MOD_D2 = "MOD11A1.A2020216.h18v04.061.2020217093011"


def request(catalogue, products=("modis_terra_day", "landsat_8"), area=AREA, crs=None, start=D1, end=D2,
            **kwargs):
    return DownloadRequest(area, utm31() if crs is None else crs, start, end, list(products),
                           kwargs.pop("max_cloud", 50.0), catalogue.url, retry_delay=0.05, http=FAST, **kwargs)


def local_band(path: str) -> np.ndarray:
    ds = gdal.Open(path)
    return ds.GetRasterBand(1).ReadAsArray()


def test_reads_only_the_area_windows_in_the_products_grids(catalogue, server, tmp_path):
    report = download(request(catalogue), str(tmp_path))
    assert (report.written, report.skipped, report.failed) == (4, 0, 0)
    assert sorted(os.listdir(report.modis_folder)) == [MOD_D1 + ".tif", MOD_D2 + ".tif"]  # no Aqua, no h17
    assert sorted(os.listdir(report.landsat_folder)) == [L8_D1, L8_D2]  # no 85 % cloud, no Landsat 7
    # Landsat: the area snapped outward onto the scene's 30 m lattice, DN as in the COG
    c0, c1 = math.floor((AREA[0] - LANDSAT_X0) / 30), math.ceil((AREA[2] - LANDSAT_X0) / 30)
    r0, r1 = math.floor((LANDSAT_Y0 - AREA[3]) / 30), math.ceil((LANDSAT_Y0 - AREA[1]) / 30)
    scene = os.path.join(report.landsat_folder, L8_D1, L8_D1)
    grid = read_grid(scene + "_ST_B10.TIF")
    assert (grid.width, grid.height) == (c1 - c0, r1 - r0) == (401, 301)
    assert grid.transform == (LANDSAT_X0 + 30 * c0, 30.0, 0.0, LANDSAT_Y0 - 30 * r0, 0.0, -30.0)
    item = catalogue.item("LC08_L2SP_198026_20200718_02_T1")
    for asset, suffix, nodata in (("lwir11", "_ST_B10.TIF", 0), ("qa_pixel", "_QA_PIXEL.TIF", 1)):
        ds = gdal.Open(scene + suffix)
        band = ds.GetRasterBand(1)
        assert band.DataType == gdal.GDT_UInt16 and band.GetNoDataValue() == nodata
        source = local_band(catalogue.local[catalogue.path_of(item, asset)])
        np.testing.assert_array_equal(band.ReadAsArray(), source[r0:r1, c0:c1])
    with open(scene + "_MTL.txt", encoding="utf-8") as f:
        assert "TEMPERATURE_MULT_BAND_ST_B10" in f.read()
    # MODIS: the area's sinusoidal bounds (from points along its edges) snapped onto the tile
    srs_utm, srs_sin = osr.SpatialReference(), osr.SpatialReference()
    srs_utm.ImportFromWkt(utm31())
    srs_sin.ImportFromWkt(SINUSOIDAL)
    for srs in (srs_utm, srs_sin):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    t = np.linspace(0, 1, 200)
    edges = [(AREA[0] + (AREA[2] - AREA[0]) * s, y) for s in t for y in (AREA[1], AREA[3])]
    edges += [(x, AREA[1] + (AREA[3] - AREA[1]) * s) for s in t for x in (AREA[0], AREA[2])]
    xs, ys, _ = zip(*osr.CoordinateTransformation(srs_utm, srs_sin).TransformPoints(edges))
    x0, _, _, y0, _, _ = tile_transform(18, 4)
    c0, c1 = math.floor((min(xs) - x0) / MODIS_PIXEL), math.ceil((max(xs) - x0) / MODIS_PIXEL)
    r0, r1 = math.floor((y0 - max(ys)) / MODIS_PIXEL), math.ceil((y0 - min(ys)) / MODIS_PIXEL)
    modis = os.path.join(report.modis_folder, MOD_D1 + ".tif")
    ds = gdal.Open(modis)
    assert (ds.RasterXSize, ds.RasterYSize) == (c1 - c0, r1 - r0) == (15, 10)
    np.testing.assert_allclose(ds.GetGeoTransform(), (x0 + c0 * MODIS_PIXEL, MODIS_PIXEL, 0, y0 - r0 * MODIS_PIXEL,
                                                      0, -MODIS_PIXEL), rtol=0, atol=1e-6)
    assert osr.SpatialReference(ds.GetProjection()).IsSame(srs_sin)
    item = catalogue.item("MOD11A1.A2020200.h18v04.061")
    assert [ds.GetRasterBand(i).GetDescription() for i in (1, 2)] == ["LST_Day_1km", "QC_Day"]
    assert ds.GetRasterBand(1).GetScale() == 0.02 and ds.GetRasterBand(1).GetNoDataValue() == 0
    for i, asset in ((1, "LST_Day_1km"), (2, "QC_Day")):
        source = local_band(catalogue.local[catalogue.path_of(item, asset)])
        np.testing.assert_array_equal(ds.GetRasterBand(i).ReadAsArray(), source[r0:r1, c0:c1])


def test_only_part_of_each_cog_is_transferred(catalogue, server, tmp_path):
    download(request(catalogue), str(tmp_path))
    read = {path: server.served[path] for path in catalogue.local if server.served[path]}
    cogs = {p: n for p, n in read.items() if p.lower().endswith(".tif")}
    assert len(cogs) == 8  # LST + QC of two granules, ST_B10 + QA_PIXEL of two scenes
    sizes = {p: os.path.getsize(catalogue.local[p]) for p in cogs}
    for path, sent in cogs.items():
        assert 0 < sent < 0.5 * sizes[path], path
    big = [p for p in cogs if "_ST_B10" in p or "_LST_" in p]
    assert sum(cogs[p] for p in big) < 0.15 * sum(sizes[p] for p in big)
    ranges = [entry for entry in server.log if entry[0] == "GET" and entry[1] in cogs]
    assert ranges and all(entry[3] and entry[3].startswith("bytes=") for entry in ranges)


def test_buildseries_reads_the_download_folders_unchanged(catalogue, server, tmp_path):
    report = download(request(catalogue), str(tmp_path / "download"))
    series = build_series(report.modis_folder, report.landsat_folder, str(tmp_path / "series"))
    assert (series.pairs, series.coarse_only, series.refused) == (2, 0, 0)
    rows = read_pairs(series.pairs_path)
    assert [row.date for row in rows] == [D1, D2]
    landsat = os.path.join(report.landsat_folder, L8_D1, L8_D1 + "_ST_B10.TIF")
    assert series.grid.difference(read_grid(landsat)) is None  # the common grid is the window
    assert all(read_grid(row.coarse).difference(series.grid) is None for row in rows)
    same = build_series(str(tmp_path / "download"), str(tmp_path / "download"), str(tmp_path / "series2"))
    assert same.pairs == 2  # the download folder itself also serves as both folders


def test_a_second_run_skips_what_is_on_disk_without_reading(catalogue, server, tmp_path):
    download(request(catalogue), str(tmp_path))
    server.reset()
    again = download(request(catalogue), str(tmp_path))
    assert (again.written, again.skipped) == (0, 4)
    assert {entry[1] for entry in server.log} == {"/", "/search"}  # searches only: no file read
    with_night = download(request(catalogue, products=("modis_terra_day", "modis_terra_night")), str(tmp_path))
    assert (with_night.written, with_night.skipped) == (2, 0)  # other bands asked for: read again
    ds = gdal.Open(os.path.join(with_night.modis_folder, MOD_D1 + ".tif"))
    assert [ds.GetRasterBand(i).GetDescription() for i in (1, 2, 3, 4)] == [
        "LST_Day_1km", "QC_Day", "LST_Night_1km", "QC_Night"]
    assert not [name for _, _, files in os.walk(tmp_path) for name in files if "partial" in name]


def test_a_window_of_fill_only_is_not_written(catalogue, server, tmp_path):
    fill = (LANDSAT_X0 + 30, 5320000.0, LANDSAT_X0 + 900, 5321000.0)  # the scene's 40 columns of fill
    report = download(request(catalogue, products=("landsat_8",), area=fill), str(tmp_path))
    assert (report.written, report.empty) == (0, 2)
    assert os.listdir(report.landsat_folder) == []
    assert all("no valid pixel in the area" in line for line in report.lines)


def test_cancel_between_items_keeps_the_finished_ones(catalogue, server, tmp_path):
    done = []
    progress = Progress(info=done.append, is_cancelled=lambda: len([d for d in done if "written" in d]) >= 1)
    with pytest.raises(Cancelled):
        download(request(catalogue), str(tmp_path), progress)
    again = download(request(catalogue), str(tmp_path))
    assert (again.written, again.skipped) == (3, 1)


def test_paging_follows_next_links(catalogue, server, tmp_path):
    server.page_size = 1
    report = download(request(catalogue), str(tmp_path))
    assert report.written == 4 and report.found == 6
    searches = [entry for entry in server.log if entry[1] == "/search"]
    assert len(searches) >= 6  # one item per page, both collections


def test_cloud_limit_checked_on_items_when_the_api_has_no_query_extension(catalogue, server, tmp_path):
    server.conformance.remove("https://api.stacspec.org/v1.0.0/item-search#query")
    report = download(request(catalogue, products=("landsat_8",), end=D2.replace(day=31)), str(tmp_path))
    assert report.found == 3  # the 85 % scene is dropped here, not by the API
    assert sorted(os.listdir(report.landsat_folder)) == [L8_D1, L8_D2]
    assert all(entry[2] == "" or "query" not in entry[2] for entry in server.log)


def test_backoff_doubles_and_forbidden_renews_once():
    waits, renewals, answers = [], [], [RuntimeError("HTTP response code: 503"),
                                       RuntimeError("HTTP error code: 429"), "done"]

    def read():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_retries(read, 3, 0.5, lambda: renewals.append(1), sleep=waits.append) == "done"
    assert waits == [0.5, 1.0] and not renewals
    answers[:] = [Forbidden("HTTP response code: 403"), Forbidden("HTTP response code: 403")]
    with pytest.raises(Forbidden):
        with_retries(read, 3, 0.5, lambda: renewals.append(1), sleep=waits.append)
    assert renewals == [1]
    answers[:] = [RuntimeError("HTTP response code: 404")]
    with pytest.raises(RuntimeError, match="404"):
        with_retries(read, 3, 0.5, lambda: renewals.append(1), sleep=waits.append)
    assert waits == [0.5, 1.0]  # a 404 is not retried


def test_transient_errors_are_retried_with_backoff(catalogue, server, tmp_path):
    item = catalogue.item("LC08_L2SP_198026_20200718_02_T1")
    st = catalogue.path_of(item, "lwir11")
    server.fail["/search"] = [503, 502]
    server.fail[st] = [503] * 5  # more than GDAL's own 3 retries: the item is read again
    report = download(request(catalogue), str(tmp_path))
    assert (report.written, report.failed) == (4, 0)
    assert len([e for e in server.log if e[1] == st]) >= 6
    scene = os.path.join(report.landsat_folder, L8_D1, L8_D1 + "_ST_B10.TIF")
    assert read_grid(scene).shape == (301, 401)


def test_an_item_failing_every_try_is_reported_and_the_rest_kept(catalogue, server, tmp_path):
    item = catalogue.item("MOD11A1.A2020216.h18v04.061")
    server.fail[catalogue.path_of(item, "LST_Day_1km")] = [500] * 40
    report = download(request(catalogue, retries=2), str(tmp_path))
    assert (report.written, report.failed) == (3, 1)
    line = next(line for line in report.lines if MOD_D2 in line)
    assert "failed after 2 tries" in line and "500" in line and "run again to resume" in line
    server.fail.clear()
    again = download(request(catalogue), str(tmp_path))
    assert (again.written, again.skipped) == (1, 3)


def test_several_modis_tiles_apart_and_landsat_rows_mosaicked(catalogue, server, tmp_path):
    # across lon 0 (tiles h17v04 | h18v04) and across rows 026 | 027 of path 198
    modis = download(request(catalogue, products=("modis_terra_day",), area=(-0.05, 47.9, 0.05, 48.0),
                             crs=osr.SRS_WKT_WGS84_LAT_LONG, end=D1), str(tmp_path))
    assert sorted(os.listdir(modis.modis_folder)) == ["MOD11A1.A2020200.h17v04.061.2020201095327.tif", MOD_D1 + ".tif"]
    west = read_grid(os.path.join(modis.modis_folder, "MOD11A1.A2020200.h17v04.061.2020201095327.tif"))
    east = read_grid(os.path.join(modis.modis_folder, MOD_D1 + ".tif"))
    assert west.bounds[2] == pytest.approx(east.bounds[0], abs=1e-3)  # the tiles' shared edge
    assert east.bounds[0] == pytest.approx(tile_transform(18, 4)[0], abs=1e-3)
    area = (400000.0, 5285000.0, 406000.0, 5300000.0)
    landsat = download(request(catalogue, products=("landsat_8",), area=area, end=D1), str(tmp_path / "l"))
    assert os.listdir(landsat.landsat_folder) == [L8_D1]
    assert "mosaic of LC08_L2SP_198026_20200718_02_T1, LC08_L2SP_198027_20200718_02_T1" in landsat.lines[0]
    st = local_band(os.path.join(landsat.landsat_folder, L8_D1, L8_D1 + "_ST_B10.TIF"))
    c0 = math.floor((area[0] - LANDSAT_X0) / 30)
    r0, r1 = math.floor((LANDSAT_Y0 - area[3]) / 30), math.ceil((LANDSAT_Y0 - area[1]) / 30)
    row_026 = local_band(catalogue.local[catalogue.path_of(catalogue.item("LC08_L2SP_198026_20200718_02_T1"),
                                                           "lwir11")])
    row_027 = local_band(catalogue.local[catalogue.path_of(catalogue.item("LC08_L2SP_198027_20200718_02_T1"),
                                                           "lwir11")])
    inside_026 = 1600 - r0  # rows of the window still in row 026's scene
    np.testing.assert_array_equal(st[:inside_026], row_026[r0:, c0:c0 + st.shape[1]])
    shift = int(round((LANDSAT_Y0 - ROW_027_Y0) / 30))  # row 027 starts 1500 rows lower
    np.testing.assert_array_equal(st[inside_026:], row_027[1600 - shift:r1 - shift, c0:c0 + st.shape[1]])


def test_assets_are_signed_and_tokens_renewed(catalogue, server, tmp_path):
    server.token_ttl = 3600.0  # file reads need a token from the token service
    now = [time.time()]

    def clock():  # each look at the clock: 20 minutes later, so tokens run out during the run
        now[0] += 1200.0
        return now[0]

    signer = Signer(catalogue.url + "/api/sas/v1/token/{collection}", clock=clock)
    signer.tokens["landsat-c2-l2"] = ("sig=revoked", 1e12)  # refused by the storage: renewed once
    report = download(request(catalogue), str(tmp_path), signer=signer)
    assert (report.written, report.failed) == (4, 0)
    assert signer.fetched >= 3
    assert len(server.requests_to("/api/sas/v1/token/landsat-c2-l2")) >= 1
    reads = [e for e in server.log if e[1] in catalogue.local and e[0] == "GET"]
    assert reads and all("sig=t" in e[2] or "sig=revoked" in e[2] for e in reads)
    assert any(e[2] == "sig=revoked" for e in server.log if e[1] in catalogue.local)


def test_unsigned_reads_refused_by_the_storage_fail_clearly(catalogue, server, tmp_path):
    server.token_ttl = 3600.0
    with pytest.raises(InputError, match="Every item failed.*access token"):
        download(request(catalogue, token_url=None), str(tmp_path))


def test_nothing_found_says_so(catalogue, server, tmp_path):
    with pytest.raises(InputError, match="No item found .* between 2019-01-01 and 2019-01-31"):
        download(request(catalogue, start=D1.replace(year=2019, month=1, day=1),
                         end=D1.replace(year=2019, month=1, day=31)), str(tmp_path))
    assert not os.listdir(tmp_path)


def test_unreachable_catalogue_says_so(catalogue, server, tmp_path):
    closed = request(catalogue)
    closed.api_url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(InputError, match=r"Cannot reach the STAC API at http://127.0.0.1:9"):
        download(closed, str(tmp_path))


def test_catalogue_answering_errors_says_so(catalogue, server, tmp_path):
    server.fail["/search"] = [503] * 10
    with pytest.raises(InputError, match="kept answering HTTP 503"):
        download(request(catalogue, products=("landsat_8",)), str(tmp_path))


@pytest.mark.parametrize("change,message", [
    ({"area": (5.0, 5.0, 5.0, 6.0)}, "area is empty"),
    ({"start": D2, "end": D1}, "before the start date"),
    ({"products": ("landsat_6",)}, "Unknown product 'landsat_6'"),
    ({"max_cloud": 120.0}, "0-100"),
])
def test_bad_requests_are_refused(catalogue, server, tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        download(request(catalogue, **change), str(tmp_path))
    assert not server.log
