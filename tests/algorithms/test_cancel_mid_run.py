"""Cancel in the middle of a run, once the first tile is written: STARFM and deep `fuse`.

The feedback is cancelled from inside the first tile write (as a user pressing Cancel
while the run is under way); the algorithm must stop before writing the next tile,
raise the 'Cancelled' Processing error and leave nothing in the output folder (no
partial GeoTIFF, no temporary file).
"""
import os

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from lst_fusion_plugin.common import raster_io
from synthetic_series import write_series


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """(fine_ref, coarse_ref, coarse_target) of a 96 x 96 synthetic series."""
    folder = tmp_path_factory.mktemp("scene")
    write_series(str(folder), rows=96, cols=96, dates=2)
    fine = sorted(str(folder / n) for n in os.listdir(folder) if n.startswith("fine_"))
    coarse = sorted(str(folder / n) for n in os.listdir(folder) if n.startswith("coarse_"))
    return fine[0], coarse[0], coarse[1]


@pytest.fixture
def cancel_after_first_tile(monkeypatch):
    """A feedback that is cancelled as the first tile is written; returns (feedback, tile writes)."""
    feedback, writes = QgsProcessingFeedback(), []
    original = raster_io.RasterWriter.write

    def write(self, array, row=0, col=0):
        writes.append((row, col))
        original(self, array, row, col)
        feedback.cancel()

    monkeypatch.setattr(raster_io.RasterWriter, "write", write)
    return feedback, writes


RUNS = [("lstfusion:starfm", {"HALF_WINDOW": 3}),
        ("lstfusion:fuse", {"DEVICE": 0})]  # fuse without MODEL_FILE runs the shipped model
"""(algorithm, its own parameters) of the runs, each on 36 tiles of 16 x 16 pixels."""


def run_parameters(scene, out: str, options: dict) -> dict:
    fine, coarse, target = scene
    return {"FINE_REF": fine, "COARSE_REF": coarse, "COARSE_TARGET": target, "TILE_SIZE": 16, "OUTPUT": out,
            **options}


@pytest.mark.parametrize("algorithm, options", RUNS)
def test_cancelled_after_the_first_tile_leaves_nothing(processing, scene, cancel_after_first_tile, tmp_path,
                                                       algorithm, options):
    feedback, writes = cancel_after_first_tile
    out = str(tmp_path / "out" / "prediction.tif")
    os.makedirs(os.path.dirname(out))
    with pytest.raises(QgsProcessingException, match="Cancelled by the user; no output was written"):
        processing.run(algorithm, run_parameters(scene, out, options), feedback=feedback)
    assert writes == [(0, 0)]  # stopped right after the first tile, long before the last
    assert os.listdir(os.path.dirname(out)) == []  # no output, no temporary file


@pytest.mark.parametrize("algorithm, options", RUNS)
def test_without_cancel_the_same_runs_write_every_tile(processing, scene, monkeypatch, tmp_path, algorithm,
                                                      options):
    """The counterpart: the runs above do have many tiles to write."""
    writes = []
    original = raster_io.RasterWriter.write
    monkeypatch.setattr(raster_io.RasterWriter, "write",
                        lambda self, array, row=0, col=0: writes.append((row, col)) or original(self, array, row, col))
    out = str(tmp_path / "prediction.tif")
    processing.run(algorithm, run_parameters(scene, out, options))
    assert len(writes) == 36 and os.path.exists(out)
