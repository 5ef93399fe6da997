"""Raster grids: CRS, geotransform and size, with equality and alignment checks."""
from dataclasses import dataclass
from typing import Optional, Tuple

from osgeo import osr

from .errors import InputError

osr.UseExceptions()

Transform = Tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class Grid:
    """The pixel grid of a raster.

    ``transform`` is GDAL's geotransform (x0, dx, rx, y0, ry, dy) in CRS units;
    ``crs_wkt`` is the CRS as WKT ('' when the raster has none).
    """

    crs_wkt: str
    transform: Transform
    width: int
    height: int

    @property
    def shape(self) -> Tuple[int, int]:
        """(rows, cols)."""
        return self.height, self.width

    @property
    def pixel_size(self) -> Tuple[float, float]:
        """(x size, y size) of a pixel, both positive, in CRS units."""
        return abs(self.transform[1]), abs(self.transform[5])

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in CRS units (north-up grids)."""
        x0, dx, _, y0, _, dy = self.transform
        xs = (x0, x0 + dx * self.width)
        ys = (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)

    def srs(self) -> osr.SpatialReference:
        """The CRS as an ``osr.SpatialReference``; InputError when there is none."""
        if not self.crs_wkt:
            raise InputError("The raster has no coordinate reference system.")
        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.crs_wkt)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        return srs

    def same_crs(self, other: "Grid") -> bool:
        """True when both grids have a CRS and it is the same one."""
        if not self.crs_wkt or not other.crs_wkt:
            return False
        return bool(self.srs().IsSame(other.srs()))

    def window(self, row: int, col: int, rows: int, cols: int) -> "Grid":
        """The grid of a sub-window starting at (row, col)."""
        x0, dx, rx, y0, ry, dy = self.transform
        transform = (x0 + col * dx + row * rx, dx, rx, y0 + col * ry + row * dy, ry, dy)
        return Grid(self.crs_wkt, transform, cols, rows)

    def difference(self, other: "Grid", tolerance: float = 1e-6) -> Optional[str]:
        """None when the grids match, else a sentence naming the first mismatch.

        ``tolerance`` is relative to the pixel size for origins and sizes.
        """
        if (self.width, self.height) != (other.width, other.height):
            return (f"size {self.width} x {self.height} pixels vs "
                    f"{other.width} x {other.height}")
        if bool(self.crs_wkt) != bool(other.crs_wkt) or (self.crs_wkt and not self.same_crs(other)):
            return f"CRS {crs_name(self.crs_wkt)} vs {crs_name(other.crs_wkt)}"
        px = max(self.pixel_size)
        for name, i in (("pixel width", 1), ("pixel height", 5), ("rotation", 2), ("rotation", 4)):
            if abs(self.transform[i] - other.transform[i]) > tolerance * px:
                return f"{name} {self.transform[i]:g} vs {other.transform[i]:g}"
        for name, i in (("origin x", 0), ("origin y", 3)):
            if abs(self.transform[i] - other.transform[i]) > tolerance * px:
                return (f"{name} {self.transform[i]:.6f} vs {other.transform[i]:.6f} "
                        "(grids are not aligned)")
        return None


def crs_name(wkt: str) -> str:
    """A short human name of a CRS, e.g. 'EPSG:32755' or 'none'."""
    if not wkt:
        return "none"
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    auth, code = srs.GetAuthorityName(None), srs.GetAuthorityCode(None)
    if auth and code:
        return f"{auth}:{code}"
    return srs.GetName() or "unnamed CRS"


def require_same_grid(grids: dict) -> Grid:
    """Check that named grids are identical; return the common grid.

    ``grids`` maps a user-facing name (a parameter or file) to its Grid. The
    error names both rasters and the mismatch, and tells how to fix it.
    """
    items = list(grids.items())
    first_name, first = items[0]
    for name, grid in items[1:]:
        diff = first.difference(grid)
        if diff:
            raise InputError(
                f"{name} is not on the grid of {first_name}: {diff}. "
                "Run 'Align raster to fine grid' (lstfusion:aligntofine) first.")
    return first
