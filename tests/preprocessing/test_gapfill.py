"""lstfusion:fillgaps: progressive focal mean, inverse distance, temporal interpolation."""
import datetime as dt

import numpy as np
import pytest
from qgis.core import QgsProcessingException

import lst_fusion_plugin.preprocessing.gapfill as gapfill
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.preprocessing.gapfill import fill_gaps, focal_fill_array
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.raster_io import read_array, read_units, write_array
from lst_fusion_plugin.common.pairs import PairRow, write_pairs
from helpers import srs_wkt

GRID = Grid(srs_wkt(32724), (546300.0, 30.0, 0.0, 9281310.0, 0.0, -30.0), 90, 100)


def naive_progressive(values):
    """The survey's rule written plainly: window 3, 5, 7, ... NaN-mean until no gap is left."""
    out = values.astype(np.float64).copy()
    half = 1
    while np.isnan(out).any():
        current = out.copy()
        for r, c in zip(*np.nonzero(np.isnan(current))):
            window = current[max(0, r - half): r + half + 1, max(0, c - half): c + half + 1]
            if np.isfinite(window).any():
                out[r, c] = np.nanmean(window)
        half += 1
    return out


def celsius_with_gaps(seed=0):
    """(rows, cols) °C field with a big gap, scattered gaps and a real 0 °C pixel."""
    rng = np.random.default_rng(seed)
    values = (20.0 + rng.normal(0, 2, GRID.shape)).astype(np.float32)
    values[10:60, 20:70] = np.nan
    values[rng.random(GRID.shape) < 0.05] = np.nan
    values[80, 5] = 0.0
    return values


def test_focal_fill_matches_the_plain_definition():
    values = celsius_with_gaps()[:40, :40]
    filled, passes = focal_fill_array(values)
    np.testing.assert_allclose(filled, naive_progressive(values), rtol=0, atol=1e-4)
    assert passes >= 2


def test_tiled_focal_fill_equals_whole_image(monkeypatch, tmp_path):
    monkeypatch.setattr(gapfill, "TILE", 32)  # many tiles and halos on a small image
    monkeypatch.setattr(gapfill, "_FIRST_PASSES", 2)  # halos must grow (3, 10, 36 pixels)
    values = celsius_with_gaps()
    src = write_array(str(tmp_path / "gaps.tif"), values, GRID, units="celsius")
    out = str(tmp_path / "filled.tif")
    result = fill_gaps(src, out, "focal")
    filled = read_array(out)
    np.testing.assert_allclose(filled, naive_progressive(values), atol=1e-4)
    valid = np.isfinite(values)
    np.testing.assert_array_equal(filled[valid], values[valid])  # valid pixels untouched
    assert filled[80, 5] == 0.0  # a real 0 °C is data, not a gap
    assert result["remaining"] == 0 and result["valid_fraction"] == 1.0
    assert result["filled"] == int((~valid).sum())
    assert result["gap_fraction"] == pytest.approx((~valid).mean())
    assert read_units(out) == "celsius"


def test_idw_fills_everything_and_keeps_valid_pixels(tmp_path):
    values = celsius_with_gaps(1)
    src = write_array(str(tmp_path / "gaps.tif"), values, GRID, units="celsius")
    out = str(tmp_path / "filled.tif")
    result = fill_gaps(src, out, "idw", smoothing=2)
    filled = read_array(out)
    valid = np.isfinite(values)
    assert np.isfinite(filled).all() and result["remaining"] == 0
    np.testing.assert_array_equal(filled[valid], values[valid])
    assert filled[80, 5] == 0.0
    assert np.nanmin(values) <= filled.min() and filled.max() <= np.nanmax(values)


def test_idw_with_a_search_distance_leaves_far_gaps(tmp_path):
    values = celsius_with_gaps(2)
    src = write_array(str(tmp_path / "gaps.tif"), values, GRID)
    result = fill_gaps(src, str(tmp_path / "filled.tif"), "idw", max_distance=3)
    assert 0 < result["remaining"] < int(np.isnan(values).sum())
    assert np.isnan(read_array(str(tmp_path / "filled.tif"))[35, 45])  # centre of the 50 x 50 gap


def dated_series(tmp_path):
    """Three dated rasters (K) on GRID: day 0 and day 10 complete, day 4 with gaps."""
    rng = np.random.default_rng(3)
    first = (290 + rng.normal(0, 1, GRID.shape)).astype(np.float32)
    last = (300 + rng.normal(0, 1, GRID.shape)).astype(np.float32)
    first[0, :10] = np.nan  # no earlier value there: temporal cannot fill (0, 0:10)
    middle = ((first + last) / 2 + 1).astype(np.float32)
    middle[0, :20] = np.nan
    middle[30:40, 30:40] = np.nan
    dates = [dt.date(2019, 11, 1), dt.date(2019, 11, 5), dt.date(2019, 11, 11)]
    paths = [write_array(str(tmp_path / f"lst_{d:%Y%m%d}.tif"), a, GRID, units="kelvin")
             for d, a in zip(dates, (first, middle, last))]
    return dates, paths, (first, middle, last)


def test_temporal_interpolation_between_nearest_dates(tmp_path):
    dates, paths, (first, middle, last) = dated_series(tmp_path)
    out = str(tmp_path / "filled.tif")
    result = fill_gaps(paths[1], out, "temporal", series=list(zip(dates, paths)), date=dates[1],
                       spatial_fallback=False)
    filled = read_array(out)
    expected = first + (last - first) * 4.0 / 10.0
    gaps = np.isnan(middle)
    both = gaps & np.isfinite(first)
    np.testing.assert_allclose(filled[both], expected[both], atol=1e-4)
    np.testing.assert_array_equal(filled[~gaps], middle[~gaps])
    assert np.isnan(filled[0, :10]).all() and result["remaining"] == 10
    fallback = str(tmp_path / "fallback.tif")
    assert fill_gaps(paths[1], fallback, "temporal", series=list(zip(dates, paths)),
                     date=dates[1])["remaining"] == 0


def test_temporal_from_a_pairs_table_through_processing(processing, tmp_path):
    dates, paths, (first, middle, last) = dated_series(tmp_path)
    table = write_pairs(str(tmp_path / "pairs.csv"), [PairRow(d, None, p) for d, p in zip(dates, paths)])
    out = str(tmp_path / "filled.tif")
    result = processing.run("lstfusion:fillgaps", {"INPUT": paths[1], "METHOD": 2, "PAIRS": table,
                                                   "OUTPUT": out})
    assert result["FILLED_PIXELS"] == int(np.isnan(middle).sum()) and result["VALID_FRACTION"] == 1.0
    filled = read_array(out)
    assert filled[35, 35] == pytest.approx(first[35, 35] + (last[35, 35] - first[35, 35]) * 0.4, abs=1e-4)


def test_refusal_above_the_maximum_gap_fraction(processing, tmp_path):
    values = celsius_with_gaps()
    src = write_array(str(tmp_path / "gaps.tif"), values, GRID)
    share = 100 * np.isnan(values).mean()
    with pytest.raises(InputError, match=f"gaps.tif has {share:.1f} % no-data pixels, above the maximum "
                                         "of 20.0 %: scene refused"):
        fill_gaps(src, str(tmp_path / "x.tif"), "focal", max_gap=0.2)
    with pytest.raises(QgsProcessingException, match="scene refused"):
        processing.run("lstfusion:fillgaps", {"INPUT": src, "MAX_GAP": 20, "OUTPUT": str(tmp_path / "y.tif")})
    empty = write_array(str(tmp_path / "empty.tif"), np.full(GRID.shape, np.nan, np.float32), GRID)
    with pytest.raises(InputError, match="empty.tif is entirely no-data"):
        fill_gaps(empty, str(tmp_path / "z.tif"))


def test_temporal_needs_dates_and_one_grid(tmp_path):
    dates, paths, _ = dated_series(tmp_path)
    other = write_array(str(tmp_path / "lst_20191120.tif"), np.ones((5, 5), np.float32),
                        GRID.window(0, 0, 5, 5), units="kelvin")
    with pytest.raises(InputError, match="lst_20191120.tif is not on the grid of .*lst_20191105.tif"):
        fill_gaps(paths[1], str(tmp_path / "x.tif"), "temporal",
                  series=[(dates[0], paths[0]), (dt.date(2019, 11, 20), other)], date=dates[1])
    with pytest.raises(InputError, match="needs a series of other dates"):
        fill_gaps(paths[1], str(tmp_path / "x.tif"), "temporal", series=[(dates[1], paths[1])], date=dates[1])


def test_temporal_from_dated_layers_and_a_date_parameter(processing, tmp_path):
    dates, paths, (first, middle, last) = dated_series(tmp_path)
    renamed = str(tmp_path / "middle_without_date.tif")
    write_array(renamed, middle, GRID, units="kelvin")
    out = str(tmp_path / "filled.tif")
    result = processing.run("lstfusion:fillgaps", {
        "INPUT": renamed, "METHOD": 2, "SERIES": [paths[0], paths[2]], "DATE": "2019-11-05",
        "SPATIAL_FALLBACK": False, "OUTPUT": out})
    assert result["FILLED_PIXELS"] == int(np.isnan(middle).sum()) - 10
    assert read_array(out)[35, 35] == pytest.approx(first[35, 35] + (last[35, 35] - first[35, 35]) * 0.4,
                                                    abs=1e-4)
    with pytest.raises(QgsProcessingException, match="Cannot find an acquisition date in the file name "
                                                     ".*middle_without_date.tif"):
        processing.run("lstfusion:fillgaps", {"INPUT": renamed, "METHOD": 2, "SERIES": [paths[0], paths[2]],
                                              "OUTPUT": str(tmp_path / "x.tif")})
