"""The map tool that plots the LST time series of the clicked pixel of a fused series (in a dock)."""
from qgis.core import QgsCoordinateTransform, QgsProject
from qgis.gui import QgsMapToolEmitPoint

from ..algorithms.series_layers import SERIES_PROPERTY
from ..common.errors import InputError
from ..workflows.pixel_series import read_pixel_series


def series_layer(canvas, active=None):
    """The layer of a fused series to sample: the active layer when it is one, else the first on the canvas."""
    candidates = ([active] if active is not None else []) + list(canvas.layers())
    return next((layer for layer in candidates if layer.customProperty(SERIES_PROPERTY)), None)


class PixelSeriesTool(QgsMapToolEmitPoint):
    """On click: read the pixel's series under the point and hand it to ``show``; errors go to ``warn``."""

    def __init__(self, canvas, show, warn, active_layer=lambda: None):
        super().__init__(canvas)
        self.show, self.warn, self.active_layer = show, warn, active_layer
        self.canvasClicked.connect(self.sample)

    def sample(self, point, button=None):
        """Read and show the series at ``point`` (map canvas CRS)."""
        layer = series_layer(self.canvas(), self.active_layer())
        if layer is None:
            self.warn("No fused series on the map: run 'Fuse a series' (lstfusion:fuseseries) first.")
            return
        transform = QgsCoordinateTransform(self.canvas().mapSettings().destinationCrs(), layer.crs(),
                                           QgsProject.instance())
        where = transform.transform(point)
        try:
            self.show(read_pixel_series(layer.customProperty(SERIES_PROPERTY), where.x(), where.y()))
        except InputError as err:
            self.warn(str(err))
