"""Engine base: grids, raster I/O, tiles with a halo, progress, lazy torch."""
import builtins
import os

import numpy as np
import pytest

from conftest import yanco
from helpers import write_tif
from lst_fusion_plugin.common import deps
from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.grid import Grid, require_same_grid
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import (NODATA, RasterWriter, has_valid_pixel, read_array,
                                              read_grid, read_units, write_array)
from lst_fusion_plugin.common.tiling import count_tiles, iter_tiles
from helpers import srs_wkt

UTM = srs_wkt(32755)


def test_grid_difference_names_the_mismatch():
    a = Grid(UTM, (0.0, 30.0, 0.0, 100.0, 0.0, -30.0), 10, 8)
    assert a.difference(a) is None
    assert "size" in a.difference(Grid(UTM, a.transform, 11, 8))
    assert "pixel width" in a.difference(Grid(UTM, (0.0, 31.0, 0.0, 100.0, 0.0, -30.0), 10, 8))
    assert "not aligned" in a.difference(Grid(UTM, (15.0, 30.0, 0.0, 100.0, 0.0, -30.0), 10, 8))
    assert "CRS EPSG:32755 vs EPSG:4326" in a.difference(Grid(srs_wkt(4326), a.transform, 10, 8))
    with pytest.raises(InputError, match="COARSE is not on the grid of FINE: size .*lstfusion:aligntofine"):
        require_same_grid({"FINE": a, "COARSE": Grid(UTM, a.transform, 11, 8)})


def test_grid_bounds_and_window():
    g = Grid(UTM, (100.0, 30.0, 0.0, 1000.0, 0.0, -30.0), 10, 8)
    assert g.bounds == (100.0, 760.0, 400.0, 1000.0)
    w = g.window(2, 3, 4, 5)
    assert w.transform[0] == 190.0 and w.transform[3] == 940.0 and w.shape == (4, 5)


def test_read_yanco_nodata_becomes_nan_and_grid_is_geographic():
    path = yanco("Landsat_LST_cloudrm_20160205.tif")
    values = read_array(path)
    assert values.shape == (400, 400) and values.dtype == np.float32
    assert np.isnan(values).sum() == 1  # the one -3.4e38 pixel
    assert 295.0 < np.nanmin(values) and np.nanmax(values) < 319.0
    grid = read_grid(path)
    assert grid.srs().IsGeographic() and grid.pixel_size == pytest.approx((0.001, 0.001))
    window = read_array(path, window=(10, 20, 5, 6))
    np.testing.assert_array_equal(window, values[10:15, 20:26])


def test_write_keeps_zero_nan_georeference_and_units(tmp_path):
    grid = Grid(UTM, (0.0, 30.0, 0.0, 300.0, 0.0, -30.0), 4, 3)
    data = np.array([[0.0, 1.5, np.nan, -2.0]] * 3, np.float32)
    path = write_array(str(tmp_path / "a.tif"), data, grid, units="celsius")
    back = read_array(path)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(data))
    np.testing.assert_array_equal(back[~np.isnan(back)], data[~np.isnan(data)])
    assert read_grid(path).difference(grid) is None
    assert read_units(path) == "celsius"
    from osgeo import gdal
    ds = gdal.Open(path)
    assert ds.GetRasterBand(1).GetNoDataValue() == NODATA
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Float32


def test_writer_is_atomic_on_failure(tmp_path):
    grid = Grid(UTM, (0.0, 30.0, 0.0, 300.0, 0.0, -30.0), 4, 3)
    target = tmp_path / "out.tif"
    with pytest.raises(RuntimeError):
        with RasterWriter(str(target), grid) as writer:
            writer.write(np.ones((3, 4), np.float32))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_writer_replaces_existing_output_only_on_success(tmp_path):
    grid = Grid(UTM, (0.0, 30.0, 0.0, 300.0, 0.0, -30.0), 4, 3)
    target = str(tmp_path / "out.tif")
    write_array(target, np.full((3, 4), 1.0, np.float32), grid)
    with pytest.raises(Cancelled):
        with RasterWriter(target, grid) as writer:
            writer.write(np.full((3, 4), 2.0, np.float32))
            raise Cancelled("stop")
    np.testing.assert_array_equal(read_array(target), 1.0)


def test_has_valid_pixel(tmp_path):
    t = (0.0, 1.0, 0.0, 5.0, 0.0, -1.0)
    assert not has_valid_pixel(write_tif(tmp_path / "e.tif", np.full((5, 5), -1.0), t, 32755, -1.0))
    data = np.full((5, 5), -1.0)
    data[4, 4] = 0.0
    assert has_valid_pixel(write_tif(tmp_path / "v.tif", data, t, 32755, -1.0))


def test_unreadable_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_grid(str(tmp_path / "missing.tif"))
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(InputError, match="Cannot read .*bad.tif"):
        read_grid(str(bad))


@pytest.mark.parametrize("rows,cols,size,halo", [(10, 10, 3, 2), (7, 13, 5, 0), (1, 1, 4, 3), (64, 33, 16, 8)])
def test_tiles_cover_every_pixel_once_with_clipped_halo(rows, cols, size, halo):
    hits = np.zeros((rows, cols), int)
    tiles = list(iter_tiles(rows, cols, size, halo))
    assert len(tiles) == count_tiles(rows, cols, size)
    for tile in tiles:
        r, c, nr, nc = tile.core
        hits[r:r + nr, c:c + nc] += 1
        rr, rc, rnr, rnc = tile.read
        assert rr == max(0, r - halo) and rc == max(0, c - halo)
        assert rr + rnr == min(rows, r + nr + halo) and rc + rnc == min(cols, c + nc + halo)
        block = np.arange(rows * cols).reshape(rows, cols)[rr:rr + rnr, rc:rc + rnc]
        np.testing.assert_array_equal(block[tile.core_in_read],
                                      np.arange(rows * cols).reshape(rows, cols)[r:r + nr, c:c + nc])
    assert (hits == 1).all()


def test_tiled_neighbourhood_filter_equals_whole_image():
    from scipy.ndimage import uniform_filter
    image = np.random.default_rng(0).normal(size=(50, 70))
    whole = uniform_filter(image, size=7, mode="nearest")
    out = np.empty_like(image)
    for tile in iter_tiles(50, 70, 16, halo=3):
        r, c, nr, nc = tile.read
        block = uniform_filter(image[r:r + nr, c:c + nc], size=7, mode="nearest")
        cr, cc, cnr, cnc = tile.core
        out[cr:cr + cnr, cc:cc + cnc] = block[tile.core_in_read]
    np.testing.assert_allclose(out, whole)


def test_progress_maps_sub_ranges_and_cancels():
    seen = []
    progress = Progress(report=seen.append)
    progress.sub(50, 100).step(1, 2)
    assert seen == [75.0]
    cancelled = Progress(is_cancelled=lambda: True)
    with pytest.raises(Cancelled):
        cancelled.step(1, 10)


def test_missing_torch_gives_install_instructions(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    monkeypatch.setenv("LST_FUSION_DEPS", str(tmp_path / "deps"))
    with pytest.raises(InputError) as err:
        deps.require_torch()
    message = str(err.value)
    assert "PyTorch is not installed" in message
    assert f"--target \"{tmp_path / 'deps'}\" torch=={deps.TORCH_VERSION}" in message


def test_deps_folder_is_added_to_sys_path(monkeypatch, tmp_path):
    import sys
    monkeypatch.setenv("LST_FUSION_DEPS", str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))
    deps.add_deps_to_path()
    assert sys.path[-1] == str(tmp_path)
