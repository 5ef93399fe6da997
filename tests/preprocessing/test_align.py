"""lstfusion:aligntofine and the engine's alignment, on real Yanco data and written fixtures."""
import os

import numpy as np
import pytest
from osgeo import osr
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from conftest import yanco
from helpers import pixel_centres, srs_wkt, write_tif
from lst_fusion_plugin.preprocessing.align import align_to_grid
from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units

ALG = "lstfusion:aligntofine"


def run_align(processing, source, reference, out, resampling=1):
    return processing.run(ALG, {"INPUT": source, "REFERENCE": reference,
                                "RESAMPLING": resampling, "OUTPUT": str(out)})


def test_identity_on_yanco_keeps_values_and_grid(processing, tmp_path):
    modis = yanco("MOD11A1_LST_cloudrm_20160308.tif")
    landsat = yanco("Landsat_LST_cloudrm_20160308.tif")
    result = run_align(processing, modis, landsat, tmp_path / "aligned.tif")
    out = result["OUTPUT"]
    assert read_grid(out).difference(read_grid(landsat)) is None
    np.testing.assert_array_equal(read_array(out), read_array(modis))
    assert result["VALID_FRACTION"] == pytest.approx(1.0)


@pytest.fixture
def utm_reference(tmp_path):
    """A 30 m UTM 55S grid (EPSG:32755) of 120 x 100 pixels inside the Yanco area."""
    transform = (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0)
    return write_tif(tmp_path / "fine_utm.tif", np.zeros((100, 120), np.float32), transform, 32755)


@pytest.fixture
def geographic_ramp(tmp_path):
    """A 0.01 degree EPSG:4326 raster whose value is a linear ramp of lon and lat (K)."""
    transform = (145.8, 0.01, 0.0, -34.3, 0.0, -0.01)
    lon, lat = pixel_centres(transform, 80, 80)
    ramp = 300.0 + 20.0 * (lon - 146.0) + 10.0 * (lat + 34.5)
    return write_tif(tmp_path / "ramp_4326.tif", ramp.astype(np.float32), transform, 4326, -9999.0)


def ramp_at_centres(reference):
    grid = read_grid(reference)
    x, y = pixel_centres(grid.transform, grid.height, grid.width)
    to_geo = osr.CoordinateTransformation(
        grid.srs(), _geographic())
    points = np.array(to_geo.TransformPoints(np.column_stack([x.ravel(), y.ravel()])))
    lon, lat = points[:, 0].reshape(x.shape), points[:, 1].reshape(x.shape)
    return 300.0 + 20.0 * (lon - 146.0) + 10.0 * (lat + 34.5)


def _geographic():
    srs = osr.SpatialReference()
    srs.ImportFromWkt(srs_wkt(4326))
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def test_bilinear_reprojection_keeps_a_linear_ramp_linear(processing, tmp_path, utm_reference,
                                                          geographic_ramp):
    out = run_align(processing, geographic_ramp, utm_reference, tmp_path / "ramp_utm.tif")["OUTPUT"]
    grid, reference = read_grid(out), read_grid(utm_reference)
    assert grid.transform == reference.transform
    assert grid.same_crs(reference) and grid.shape == reference.shape
    values = read_array(out)
    assert np.isfinite(values).all()
    np.testing.assert_allclose(values, ramp_at_centres(utm_reference), atol=2e-3)


@pytest.mark.parametrize("method", ["nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average"])
def test_every_resampling_gives_the_reference_grid_and_plausible_values(tmp_path, utm_reference,
                                                                        geographic_ramp, method):
    out = str(tmp_path / f"{method}.tif")
    align_to_grid(geographic_ramp, read_grid(utm_reference), out, method)
    values = read_array(out)
    expected = ramp_at_centres(utm_reference)
    assert read_grid(out).transform == read_grid(utm_reference).transform
    # every method stays within the ramp's change across one source pixel (0.3 K)
    assert np.nanmax(np.abs(values - expected)) < 0.3


def test_gaps_propagate_and_are_never_averaged_in(tmp_path):
    transform = (0.0, 1000.0, 0.0, 10000.0, 0.0, -1000.0)
    coarse = np.full((10, 10), 300.0, np.float32)
    coarse[4:6, 4:6] = -9999.0
    src = write_tif(tmp_path / "coarse.tif", coarse, transform, 32755, -9999.0)
    ref = write_tif(tmp_path / "fine.tif", np.zeros((100, 100), np.float32),
                    (0.0, 100.0, 0.0, 10000.0, 0.0, -100.0), 32755)
    for method in ("bilinear", "cubic", "average"):
        out = str(tmp_path / f"{method}.tif")
        align_to_grid(src, read_grid(ref), out, method)
        values = read_array(out)
        hole = np.isnan(values)
        assert hole[40:60, 40:60].all(), method  # the gap stays a gap
        assert not hole[:35].any() and not hole[65:].any(), method
        # a -9999 would drag neighbours far below 300 K if it were averaged in
        np.testing.assert_allclose(values[~hole], 300.0, atol=1e-3)


def test_zero_is_a_value_not_a_gap(tmp_path):
    transform = (0.0, 1000.0, 0.0, 4000.0, 0.0, -1000.0)
    src = write_tif(tmp_path / "zero_c.tif", np.zeros((4, 4), np.float32), transform, 32755, -9999.0)
    ref = write_tif(tmp_path / "fine.tif", np.ones((40, 40), np.float32),
                    (0.0, 100.0, 0.0, 4000.0, 0.0, -100.0), 32755)
    out = str(tmp_path / "out.tif")
    result = align_to_grid(src, read_grid(ref), out, "cubic")
    assert result["valid_fraction"] == 1.0
    np.testing.assert_allclose(read_array(out), 0.0, atol=1e-6)


def test_units_metadata_is_carried_over(tmp_path, utm_reference):
    from lst_fusion_plugin.common.raster_io import write_array
    src = str(tmp_path / "celsius.tif")
    grid = read_grid(utm_reference)
    write_array(src, np.full(grid.shape, 21.5, np.float32), grid, units="celsius")
    out = str(tmp_path / "out.tif")
    align_to_grid(src, grid, out, "bilinear")
    assert read_units(out) == "celsius"


def test_missing_crs_is_a_clear_error(processing, tmp_path, utm_reference):
    src = write_tif(tmp_path / "nocrs.tif", np.ones((5, 5), np.float32),
                    (400000.0, 1000.0, 0.0, 6150000.0, 0.0, -1000.0), epsg=None)
    with pytest.raises(QgsProcessingException, match="has no coordinate reference system"):
        run_align(processing, src, utm_reference, tmp_path / "out.tif")
    assert not os.path.exists(tmp_path / "out.tif")


def test_no_overlap_is_a_clear_error(processing, tmp_path, utm_reference):
    far = write_tif(tmp_path / "far.tif", np.ones((5, 5), np.float32),
                    (10.0, 0.01, 0.0, 50.0, 0.0, -0.01), 4326)
    with pytest.raises(QgsProcessingException, match="does not overlap the reference"):
        run_align(processing, far, utm_reference, tmp_path / "out.tif")


def test_all_nodata_input_is_a_clear_error(processing, tmp_path, utm_reference):
    empty = write_tif(tmp_path / "empty.tif", np.full((5, 5), -9999.0, np.float32),
                      (399000.0, 1000.0, 0.0, 6151000.0, 0.0, -1000.0), 32755, -9999.0)
    with pytest.raises(QgsProcessingException, match="entirely no-data"):
        run_align(processing, empty, utm_reference, tmp_path / "out.tif")


def test_cancel_leaves_no_output_and_no_temporary_files(processing, tmp_path, utm_reference,
                                                        geographic_ramp):
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    out = tmp_path / "out" / "cancelled.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(ALG, {"INPUT": geographic_ramp, "REFERENCE": utm_reference,
                             "RESAMPLING": 1, "OUTPUT": str(out)}, feedback=feedback)
    assert not out.exists()
    assert os.listdir(out.parent) == []


def test_engine_cancel_raises_cancelled(tmp_path, utm_reference, geographic_ramp):
    progress = Progress(is_cancelled=lambda: True)
    with pytest.raises(Cancelled):
        align_to_grid(geographic_ramp, read_grid(utm_reference), str(tmp_path / "x.tif"),
                      "bilinear", progress=progress)


def test_unknown_resampling_is_rejected(tmp_path, utm_reference, geographic_ramp):
    with pytest.raises(InputError, match="Unknown resampling"):
        align_to_grid(geographic_ramp, read_grid(utm_reference), str(tmp_path / "x.tif"), "sinc")
