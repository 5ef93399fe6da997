"""Reference-pair choice, resumption and the series VRT of fuseseries' engine."""
import datetime as dt
import os

import numpy as np
import pytest
from osgeo import gdal

from helpers import srs_wkt
from lst_fusion_plugin.common.errors import Cancelled
from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, write_array
from lst_fusion_plugin.common.pairs import PairRow

D = dt.date


def series():
    """Fine images on Jan 5 and Jan 21; coarse daily Jan 1-25 except Jan 10."""
    days = [D(2020, 1, d) for d in range(1, 26) if d != 10]
    return [PairRow(day, f"f{day.day}.tif" if day.day in (5, 21) else None, f"c{day.day}.tif") for day in days]


def test_one_pair_methods_take_the_nearest_reference_earlier_on_ties():
    plans = {p.date: p for p in plan_series(series(), 1)}
    assert [r.date for r in plans[D(2020, 1, 1)].references] == [D(2020, 1, 5)]
    assert [r.date for r in plans[D(2020, 1, 12)].references] == [D(2020, 1, 5)]
    assert [r.date for r in plans[D(2020, 1, 13)].references] == [D(2020, 1, 5)]  # tie: 8 days each
    assert [r.date for r in plans[D(2020, 1, 14)].references] == [D(2020, 1, 21)]
    # a date with a fine image is predicted from the other reference, never from itself
    assert [r.date for r in plans[D(2020, 1, 5)].references] == [D(2020, 1, 21)]
    assert D(2020, 1, 10) not in plans  # no coarse image, not asked for


def test_two_pair_methods_take_the_pairs_around_the_target_and_skip_the_edges():
    plans = {p.date: p for p in plan_series(series(), 2)}
    assert [r.date for r in plans[D(2020, 1, 12)].references] == [D(2020, 1, 5), D(2020, 1, 21)]
    assert plans[D(2020, 1, 3)].skip_reason == "no reference pair before this date (a two-pair method needs both)"
    assert "after" in plans[D(2020, 1, 24)].skip_reason
    assert plans[D(2020, 1, 5)].skipped and plans[D(2020, 1, 21)].skipped


def test_requested_dates_without_coarse_image_are_skipped_with_reason():
    plans = plan_series(series(), 1, targets=[D(2020, 1, 10), D(2020, 1, 11)])
    assert [p.date for p in plans] == [D(2020, 1, 10), D(2020, 1, 11)]
    assert plans[0].skip_reason == "no coarse image on that date"
    assert not plans[1].skipped


def test_no_reference_at_all():
    plans = plan_series([PairRow(D(2020, 1, 1), None, "c.tif")], 1)
    assert plans[0].skip_reason.startswith("no reference pair")


GRID = Grid(srs_wkt(32755), (0.0, 30.0, 0.0, 90.0, 0.0, -30.0), 3, 3)


class CountingPredictor:
    """Writes the target's day of month as a constant image; counts its calls."""

    def __init__(self, cancel_after=None):
        self.calls = []
        self.cancel_after = cancel_after

    def __call__(self, plan, out, progress):
        if self.cancel_after is not None and len(self.calls) >= self.cancel_after:
            raise Cancelled("stop")
        self.calls.append(plan.date)
        write_array(out, np.full(GRID.shape, plan.date.day, np.float32), GRID, units="kelvin")


def test_run_writes_one_file_per_date_an_index_and_a_dated_vrt(tmp_path):
    plans = plan_series(series(), 2, targets=[D(2020, 1, d) for d in (3, 8, 12, 15)])
    predictor = CountingPredictor()
    result = run_series(plans, predictor, str(tmp_path))
    assert predictor.calls == [D(2020, 1, 8), D(2020, 1, 12), D(2020, 1, 15)]
    assert result["skipped"] == [(D(2020, 1, 3), plans[0].skip_reason)]
    ds = gdal.Open(result["vrt"])
    assert ds.RasterCount == 3
    assert [ds.GetRasterBand(i).GetDescription() for i in (1, 2, 3)] == ["2020-01-08", "2020-01-12", "2020-01-15"]
    assert [ds.GetRasterBand(i).ReadAsArray()[0, 0] for i in (1, 2, 3)] == [8, 12, 15]
    index = (tmp_path / "series.csv").read_text().splitlines()
    assert index[0] == "date,prediction,status,detail"
    assert index[1].startswith("2020-01-03,,skipped,no reference pair before")
    assert index[2] == "2020-01-08,lst_2020-01-08.tif,predicted,references 2020-01-05 and 2020-01-21"


def test_resumption_skips_finished_dates_unless_overwrite(tmp_path):
    plans = plan_series(series(), 1, targets=[D(2020, 1, d) for d in (6, 7, 8)])
    cancelling = CountingPredictor(cancel_after=2)
    with pytest.raises(Cancelled):
        run_series(plans, cancelling, str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["lst_2020-01-06.tif", "lst_2020-01-07.tif", "series.csv"]
    again = CountingPredictor()
    result = run_series(plans, again, str(tmp_path))
    assert again.calls == [D(2020, 1, 8)]
    assert result["reused"] == [D(2020, 1, 6), D(2020, 1, 7)]
    fresh = CountingPredictor()
    run_series(plans, fresh, str(tmp_path), overwrite=True)
    assert fresh.calls == [D(2020, 1, 6), D(2020, 1, 7), D(2020, 1, 8)]
    assert read_array(str(tmp_path / "lst_2020-01-07.tif"))[0, 0] == 7


def test_progress_is_reported_across_dates(tmp_path):
    seen = []
    plans = plan_series(series(), 1, targets=[D(2020, 1, d) for d in (6, 7)])
    run_series(plans, CountingPredictor(), str(tmp_path), progress=Progress(report=seen.append))
    assert seen[-1] == 100.0 and 50.0 in seen
