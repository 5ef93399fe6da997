"""One scene split in strips over a real Dask cluster (tests/dask_cluster.py): identical to the in-process run."""
import glob
import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import REPO
from lst_fusion_plugin.common.errors import Cancelled
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.common.tiling import Part, iter_tiles, part_tiles
from lst_fusion_plugin.models.classical.estarfm import EstarfmParams, run_estarfm
from lst_fusion_plugin.models.classical.starfm import StarfmParams, run_starfm
from lst_fusion_plugin.models.deep.predict import fuse_paths
from lst_fusion_plugin.simulation.simulate import simulate_series
from lst_fusion_plugin.workflows import cluster
from lst_fusion_plugin.workflows.cluster import DaskRunner
from lst_fusion_plugin.workflows.scene_parts import run_scene

SHIPPED = os.path.join(REPO, "resources", "models", "edcstfn_default.pt")


def test_parts_cover_every_tile_once_in_strips_of_whole_tile_rows():
    tiles = list(iter_tiles(250, 90, 40, 5))
    for count in (1, 3, 7, 9):
        windows, seen = [], []
        for i in range(count):
            window, part = part_tiles(250, 90, 40, 5, Part(i, count))
            windows.append(window)
            seen += part
            assert window[0] % 40 == 0 and (window[1], window[3]) == (0, 90)
        assert seen == tiles
        assert sum(w[2] for w in windows) == 250 and [w[0] for w in windows] == sorted(w[0] for w in windows)
    assert part_tiles(250, 90, 40, 5, Part(8, 9))[0][2] > 0 and part_tiles(250, 90, 40, 5, Part(0, 9))[0][2] == 0
    assert part_tiles(250, 90, 40, 5) == ((0, 0, 250, 90), tiles)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """150 x 170 pixels: pairs on days 0 and 16, targets between."""
    sim = simulate_series(str(tmp_path_factory.mktemp("sim")), rows=150, cols=170, days=17,
                          seed=3, cloud_fraction=0.05, write_truth=False)
    return {"fine_ref": sim.fine["2023-06-01"], "coarse_ref": sim.coarse_on_fine["2023-06-01"],
            "fine_ref2": sim.fine["2023-06-17"], "coarse_ref2": sim.coarse_on_fine["2023-06-17"],
            "coarse_target": sim.coarse_on_fine["2023-06-09"]}


@pytest.fixture(scope="module")
def runner(dask_cluster):
    client = dask_cluster.client()
    cluster.ship_engine(client)
    yield DaskRunner(client)
    client.close()


def same_file(a, b, atol=0.0):
    """Same grid, no-data, units and metadata; values equal (or within ``atol``)."""
    da, db = gdal.Open(a), gdal.Open(b)
    assert (da.RasterXSize, da.RasterYSize, da.GetGeoTransform(), da.GetProjection()) == \
        (db.RasterXSize, db.RasterYSize, db.GetGeoTransform(), db.GetProjection())
    assert da.GetMetadata() == db.GetMetadata()
    ba, bb = da.GetRasterBand(1), db.GetRasterBand(1)
    assert (ba.GetNoDataValue(), ba.GetUnitType(), ba.DataType) == (bb.GetNoDataValue(), bb.GetUnitType(), bb.DataType)
    va, vb = read_array(a), read_array(b)
    if atol == 0.0:
        np.testing.assert_array_equal(va, vb)
    else:
        assert np.array_equal(np.isnan(va), np.isnan(vb)) and np.nanmax(np.abs(va - vb)) <= atol
    assert np.isfinite(va).mean() > 0.5


@pytest.mark.slow
def test_classical_scenes_in_strips_are_bit_identical(scene, runner, tmp_path):
    estarfm = dict(scene, params=EstarfmParams(half_window=12, tile_size=48))
    starfm = {k: scene[k] for k in ("fine_ref", "coarse_ref", "coarse_target")}
    starfm["params"] = StarfmParams(half_window=10, tile_size=40)
    for name, func, kwargs, parts in (("estarfm", run_estarfm, estarfm, 0), ("starfm", run_starfm, starfm, 9)):
        here = run_scene(func, kwargs, str(tmp_path / f"{name}_here.tif"))
        seen = []
        there = run_scene(func, kwargs, str(tmp_path / f"{name}_there.tif"), runner,
                          Progress(report=seen.append), parts=parts)
        same_file(str(tmp_path / f"{name}_here.tif"), str(tmp_path / f"{name}_there.tif"))
        assert there["predicted"] == here["predicted"]
        assert there["valid_fraction"] == pytest.approx(here["valid_fraction"], abs=1e-12)
        assert seen[-1] == 100.0
    assert sorted(os.listdir(tmp_path)) == ["estarfm_here.tif", "estarfm_there.tif", "starfm_here.tif",
                                            "starfm_there.tif"]


@pytest.mark.slow
def test_deep_scene_in_strips_is_within_1e_4_kelvin(scene, runner, tmp_path):
    kwargs = {"model_path": SHIPPED, "fine_ref": scene["fine_ref"], "coarse_ref": scene["coarse_ref"],
              "coarse_target": scene["coarse_target"], "device": "cpu", "tile_size": 64}
    here = run_scene(fuse_paths, kwargs, str(tmp_path / "here.tif"))
    there = run_scene(fuse_paths, kwargs, str(tmp_path / "there.tif"), runner)
    same_file(str(tmp_path / "here.tif"), str(tmp_path / "there.tif"), atol=1e-4)
    assert there["tiles"] == here["tiles"] and there["valid_fraction"] == pytest.approx(here["valid_fraction"])


@pytest.mark.slow
def test_a_cancelled_scene_leaves_neither_output_nor_strips(scene, runner, tmp_path):
    seen = []
    cancelling = Progress(report=seen.append, is_cancelled=lambda: bool(seen))
    with pytest.raises(Cancelled):
        run_scene(run_estarfm, dict(scene, params=EstarfmParams(half_window=12, tile_size=32)),
                  str(tmp_path / "out.tif"), runner, cancelling, parts=12)
    assert glob.glob(str(tmp_path / "*")) + glob.glob(str(tmp_path / ".*")) == []
