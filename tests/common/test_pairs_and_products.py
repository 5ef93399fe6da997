"""Dates from product names, discovery of scenes in folders, and the pairs table."""
import datetime as dt
import os

import pytest

from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.common.pairs import PairRow, read_pairs, write_pairs
from lst_fusion_plugin.preprocessing.discovery import find_landsat, find_modis, group_by_date
from lst_fusion_plugin.common.products import date_from_filename


@pytest.mark.parametrize("name,expected", [
    ("LC08_L2SP_217065_20191101_20191231_02_T1_ST_B10.TIF", dt.date(2019, 11, 1)),
    ("/data/LC09_L2SP_199026_20220315_20220317_02_T1/LC09_L2SP_199026_20220315_20220317_02_T1_ST_B10.TIF",
     dt.date(2022, 3, 15)),
    ("LE07_L2SP_092084_20160205_20200903_02_T1_ST_B6.TIF", dt.date(2016, 2, 5)),
    ("MOD11A1.A2019305.h14v09.006.2019306084028.hdf", dt.date(2019, 11, 1)),
    ("MYD11A1.A2020366.h18v04.061.2021005101010.hdf", dt.date(2020, 12, 31)),
    ("MOD11A1.A2019001.h14v09.061.hdf", dt.date(2019, 1, 1)),
    ("MOD11A1.061_LST_Day_1km_doy2016036_aid0001.tif", dt.date(2016, 2, 5)),
    ("Landsat_LST_cloudrm_20160205.tif", dt.date(2016, 2, 5)),
    ("modis_2016-03-08.tif", dt.date(2016, 3, 8)),
    ("lst_2016_03_08_v2.tif", dt.date(2016, 3, 8)),
])
def test_dates_from_product_names(name, expected):
    assert date_from_filename(name) == expected


@pytest.mark.parametrize("name,message", [
    ("scene_final.tif", "Cannot find an acquisition date in the file name scene_final.tif"),
    ("lst_20191301.tif", "Cannot find an acquisition date in the file name lst_20191301.tif"),
    ("lst_20160205_to_20160308.tif", "lst_20160205_to_20160308.tif: the file name holds several dates"),
    ("MOD11A1.A2019366.h14v09.hdf", "MOD11A1.A2019366.h14v09.hdf: day of year 366 does not exist in 2019"),
    ("LC08_L2SP_217065_20191131_20191231_02_T1_ST_B10.TIF", "2019-11-31 is not a valid date"),
])
def test_unparsable_dates_name_the_file(name, message):
    with pytest.raises(InputError, match=message):
        date_from_filename(name)


def touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
    return str(path)


def test_discovery_keeps_thermal_bands_and_lst_layers(tmp_path):
    landsat = tmp_path / "landsat"
    scene = "LC08_L2SP_217065_20191117_20191231_02_T1"
    for suffix in ("ST_B10.TIF", "QA_PIXEL.TIF", "SR_B4.TIF", "MTL.txt"):
        touch(landsat / scene / f"{scene}_{suffix}")
    touch(landsat / "LC08_L2SP_217065_20191101_20191231_02_T1_ST_B10.TIF")
    touch(landsat / "LC08_L2SP_217065_20191203_20191231_02_T1.tar")
    found, archives = find_landsat(str(landsat))
    assert [d for d, _ in found] == [dt.date(2019, 11, 1), dt.date(2019, 11, 17)]
    assert all(p.endswith("_ST_B10.TIF") for _, p in found)
    assert [os.path.basename(a) for a in archives] == ["LC08_L2SP_217065_20191203_20191231_02_T1.tar"]
    modis = tmp_path / "modis"
    touch(modis / "MOD11A1.A2019305.h14v09.061.hdf")
    touch(modis / "MYD11A1.A2019305.h14v09.061.hdf")
    touch(modis / "MOD11A1.061_LST_Day_1km_doy2019313_aid0001.tif")
    touch(modis / "MOD11A1.061_QC_Day_doy2019313_aid0001.tif")
    found, _ = find_modis(str(modis))
    groups = group_by_date(found)
    assert list(groups) == [dt.date(2019, 11, 1), dt.date(2019, 11, 9)]
    assert len(groups[dt.date(2019, 11, 1)]) == 2
    assert groups[dt.date(2019, 11, 9)] == [str(modis / "MOD11A1.061_LST_Day_1km_doy2019313_aid0001.tif")]


def test_a_raster_without_a_date_in_a_folder_is_named(tmp_path):
    touch(tmp_path / "MOD11A1.A2019305.h14v09.061.hdf")
    touch(tmp_path / "mosaic.tif")
    with pytest.raises(InputError, match="mosaic.tif"):
        find_modis(str(tmp_path))
    with pytest.raises(InputError, match="Folder not found: .*nowhere"):
        find_modis(str(tmp_path / "nowhere"))


def test_pairs_table_round_trip_with_relative_paths(tmp_path):
    fine = touch(tmp_path / "series" / "fine" / "landsat_2019-11-01.tif")
    coarse1 = touch(tmp_path / "series" / "coarse" / "modis_2019-11-01.tif")
    coarse2 = touch(tmp_path / "elsewhere" / "modis_2019-11-09.tif")
    table = str(tmp_path / "series" / "pairs.csv")
    write_pairs(table, [PairRow(dt.date(2019, 11, 9), None, coarse2),
                        PairRow(dt.date(2019, 11, 1), fine, coarse1)])
    with open(table) as f:
        assert f.read().splitlines() == ["date,fine,coarse",
                                         "2019-11-01,fine/landsat_2019-11-01.tif,coarse/modis_2019-11-01.tif",
                                         "2019-11-09,,../elsewhere/modis_2019-11-09.tif"]
    rows = read_pairs(table)
    assert rows == [PairRow(dt.date(2019, 11, 1), fine, coarse1), PairRow(dt.date(2019, 11, 9), None, coarse2)]


@pytest.mark.parametrize("content,message", [
    ("day,fine,coarse\n", "is not a pairs table: the header must hold the columns date,fine,coarse \\(missing: date\\)"),
    ("date,fine,coarse\n01/11/2019,,c.tif\n", "line 2: '01/11/2019' is not a date"),
    ("date,fine,coarse\n2019-11-01,,c.tif\n2019-11-01,,c.tif\n", "line 3: the date 2019-11-01 appears twice"),
    ("date,fine,coarse\n2019-11-01,,\n", "line 2: 2019-11-01 has neither a fine nor a coarse raster"),
    ("date,fine,coarse\n2019-11-01,missing.tif,c.tif\n", "line 2: file not found: .*missing.tif"),
])
def test_bad_pairs_tables_name_the_line(tmp_path, content, message):
    touch(tmp_path / "c.tif")
    table = tmp_path / "pairs.csv"
    table.write_text(content)
    with pytest.raises(InputError, match=message):
        read_pairs(str(table))
