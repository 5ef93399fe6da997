"""A pixel's time series through a fused series: values against direct reads, uncertainty, CSV, plot."""
import csv
import datetime as dt
import os

import numpy as np
import pytest
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.raster_io import read_array, read_grid, write_array
from lst_fusion_plugin.workflows.fuse_series import read_series
from lst_fusion_plugin.workflows.pixel_series import (
    plot_pixel_series,
    read_pixel_series,
    uncertainty_path,
    write_pixel_csv,
)
from matplotlib.figure import Figure
from series_fixture import fused_series


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return fused_series(tmp_path_factory.mktemp("pixel"))


def centre(grid, row, col):
    x0, dx, _, y0, _, dy = grid.transform
    return x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy


def test_values_are_the_rasters_values_at_the_pixel(series):
    sim, folder = series
    index = read_series(folder)
    grid = read_grid(index.paths[0])
    x, y = centre(grid, 17, 30)
    pixel = read_pixel_series(folder, x, y)
    assert pixel.dates == index.dates and len(pixel.dates) == 6  # every day (STARFM: one pair, any side)
    np.testing.assert_allclose(pixel.fused, [read_array(p)[17, 30] for p in index.paths])
    pairs = read_pairs(sim.pairs)
    assert [d for d, _ in pixel.fine] == [p.date for p in pairs if p.fine]
    assert [d for d, _ in pixel.coarse] == [p.date for p in pairs if p.coarse]
    np.testing.assert_allclose([v for _, v in pixel.fine], [read_array(p.fine)[17, 30] for p in pairs if p.fine])
    np.testing.assert_allclose([v for _, v in pixel.coarse],
                               [read_array(p.coarse)[17, 30] for p in pairs if p.coarse])
    assert pixel.uncertainty is None and pixel.units == "kelvin"


def test_uncertainty_band_is_read_when_the_rasters_exist(series, tmp_path):
    _, folder = series
    index = read_series(folder)
    grid = read_grid(index.paths[0])
    half_width = np.full(grid.shape, 1.5, np.float32)
    write_array(uncertainty_path(index.paths[1]), half_width, grid, units="kelvin")
    try:
        pixel = read_pixel_series(folder, *centre(grid, 3, 4))
        assert np.isnan(pixel.uncertainty[0]) and pixel.uncertainty[1] == pytest.approx(1.5)
        figure = Figure()
        plot_pixel_series(pixel, figure)
        axes = figure.axes[0]
        labels = axes.get_legend_handles_labels()[1]
        assert labels == ["uncertainty interval", "fused (fine)", "coarse observation", "fine observation"]
        assert axes.get_ylabel() == "LST (K)"
        figure.savefig(tmp_path / "plot.png")
        assert (tmp_path / "plot.png").stat().st_size > 5000
    finally:
        os.remove(uncertainty_path(index.paths[1]))


def test_csv_has_one_row_per_date_of_any_kind(series, tmp_path):
    sim, folder = series
    grid = read_grid(read_series(folder).paths[0])
    pixel = read_pixel_series(folder, *centre(grid, 5, 6))
    write_pixel_csv(pixel, str(tmp_path / "p.csv"))
    with open(tmp_path / "p.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    dates = sorted(set(pixel.dates) | {d for d, _ in pixel.fine} | {d for d, _ in pixel.coarse})
    assert [dt.date.fromisoformat(r["date"]) for r in rows] == dates
    first = {dt.date.fromisoformat(r["date"]): r for r in rows}[pixel.dates[0]]
    assert float(first["fused"]) == pytest.approx(pixel.fused[0], abs=1e-4)
    assert first["uncertainty"] == ""


def test_a_point_outside_the_series_is_refused(series):
    _, folder = series
    with pytest.raises(InputError, match="outside the fused series"):
        read_pixel_series(folder, 0.0, 0.0)
    with pytest.raises(InputError, match="has no series.csv"):
        read_pixel_series(str(series[0].folder), 0.0, 0.0)
