"""Grids and the coarse sensor of the LST simulator.

Three grids take part in a simulation:

* the *fine* grid: ``rows`` x ``cols`` pixels of 30 m in the UTM zone of the
  scene centre (what Landsat delivers and what the truth is written on);
* the *coarse* grid: MODIS's global sinusoidal grid (926.625 m pixels, aligned
  with the MODIS tiles), covering the fine extent plus one ring of pixels;
* the *world* grid: the fine grid grown by a margin, so that the footprint of
  every coarse pixel, edge ones included, lies on simulated land. The truth is
  computed on the world grid and the fine extent is cut out of it.

A coarse pixel is the point-spread-function (PSF) weighted mean of the world
truth around the pixel's centre: a Gaussian of standard deviation ``sigma``
metres in the UTM plane, truncated at 3 sigma and normalised to sum 1.
"""
import math
from typing import Tuple

import numpy as np
from osgeo import osr
from scipy import sparse
from scipy.ndimage import map_coordinates

from ..common.grid import Grid

osr.UseExceptions()

MODIS_PIXEL = 926.625433055833
"""MODIS 1 km sinusoidal pixel size (m)."""

MODIS_ORIGIN = (-20015109.354, 10007554.677)
"""Upper-left corner of the MODIS sinusoidal grid (m)."""

MODIS_SINUSOIDAL = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
"""The sinusoidal projection of MODIS land products."""

PSF_TRUNCATION = 3.0
"""The PSF is cut at this many standard deviations from the pixel centre."""

BLOCK = 3
"""The PSF is integrated over blocks of BLOCK x BLOCK world pixels (90 m): the
block mean weighted by the PSF at the block centre. Against weights evaluated
at every 30 m pixel this differs by far less than 0.05 K."""


def _srs(definition) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    if isinstance(definition, int):
        srs.ImportFromEPSG(definition)
    else:
        srs.ImportFromProj4(definition)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def utm_epsg(lat: float, lon: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding (lat, lon) in degrees."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def transform_points(src: osr.SpatialReference, dst: osr.SpatialReference,
                     x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays (any shape) from ``src`` to ``dst``."""
    points = np.column_stack([np.ravel(x), np.ravel(y)])
    out = np.array(osr.CoordinateTransformation(src, dst).TransformPoints(points))
    return out[:, 0].reshape(np.shape(x)), out[:, 1].reshape(np.shape(y))


def pixel_centres(grid: Grid) -> Tuple[np.ndarray, np.ndarray]:
    """(x, y) arrays of shape (rows, cols): pixel centres of a north-up grid in its CRS."""
    x0, dx, _, y0, _, dy = grid.transform
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    return x0 + cols * dx, y0 + rows * dy


class SceneGrids:
    """The fine, coarse and world grids of a scene centred on (lat, lon).

    ``fine_offset`` is the (row, col) of the fine grid's first pixel in the
    world grid. The world's size is a multiple of :data:`BLOCK`.
    """

    def __init__(self, rows: int, cols: int, pixel: float, lat: float, lon: float,
                 psf_sigma: float):
        geographic = _srs(4326)
        self.utm = _srs(utm_epsg(lat, lon))
        self.sinusoidal = _srs(MODIS_SINUSOIDAL)
        (xc,), (yc,) = transform_points(geographic, self.utm, np.array([lon]), np.array([lat]))
        x0 = round((xc - cols * pixel / 2) / pixel) * pixel
        y0 = round((yc + rows * pixel / 2) / pixel) * pixel
        self.fine = Grid(self.utm.ExportToWkt(), (x0, pixel, 0.0, y0, 0.0, -pixel), cols, rows)
        self.coarse = self._coarse_grid()
        self.coarse_centres_utm = transform_points(self.sinusoidal, self.utm,
                                                   *pixel_centres(self.coarse))
        self.world, self.fine_offset = self._world_grid(psf_sigma)

    def _coarse_grid(self) -> Grid:
        """MODIS pixels touching the fine extent, plus one ring."""
        xmin, ymin, xmax, ymax = self.fine.bounds
        to_sinu = osr.CoordinateTransformation(self.utm, self.sinusoidal)
        sx0, sy0, sx1, sy1 = to_sinu.TransformBounds(xmin, ymin, xmax, ymax, 21)
        ox, oy = MODIS_ORIGIN
        col0 = math.floor((sx0 - ox) / MODIS_PIXEL) - 1
        col1 = math.ceil((sx1 - ox) / MODIS_PIXEL) + 1
        row0 = math.floor((oy - sy1) / MODIS_PIXEL) - 1
        row1 = math.ceil((oy - sy0) / MODIS_PIXEL) + 1
        transform = (ox + col0 * MODIS_PIXEL, MODIS_PIXEL, 0.0, oy - row0 * MODIS_PIXEL, 0.0, -MODIS_PIXEL)
        return Grid(self.sinusoidal.ExportToWkt(), transform, col1 - col0, row1 - row0)

    def _world_grid(self, psf_sigma: float):
        """The fine grid grown to hold every coarse footprint; (grid, (row, col) of the fine grid in it)."""
        x0, pixel, _, y0, _, _ = self.fine.transform
        reach = PSF_TRUNCATION * psf_sigma
        cx, cy = self.coarse_centres_utm
        xmin, xmax = cx.min() - reach, cx.max() + reach
        ymin, ymax = cy.min() - reach, cy.max() + reach
        left = max(0, math.ceil((x0 - xmin) / pixel))
        top = max(0, math.ceil((ymax - y0) / pixel))
        right = max(0, math.ceil((xmax - (x0 + self.fine.width * pixel)) / pixel))
        bottom = max(0, math.ceil(((y0 - self.fine.height * pixel) - ymin) / pixel))
        width = self.fine.width + left + right
        height = self.fine.height + top + bottom
        width += -width % BLOCK
        height += -height % BLOCK
        transform = (x0 - left * pixel, pixel, 0.0, y0 + top * pixel, 0.0, -pixel)
        return Grid(self.fine.crs_wkt, transform, width, height), (top, left)

    def fine_window(self, world_array: np.ndarray) -> np.ndarray:
        """The fine extent (rows, cols) cut out of a world array (..., world rows, world cols)."""
        r, c = self.fine_offset
        return world_array[..., r:r + self.fine.height, c:c + self.fine.width]


class PointSpreadFunction:
    """Aggregates world arrays to the coarse grid with a truncated Gaussian PSF.

    ``apply(world)`` maps a (world rows, world cols) array to (coarse rows,
    coarse cols); weights are fixed, so the result is linear in the input.
    """

    def __init__(self, grids: SceneGrids, sigma: float):
        self.sigma = sigma
        self.shape = grids.coarse.shape
        world = grids.world
        wx0, pixel, _, wy0, _, _ = world.transform
        step = BLOCK * pixel
        self.blocks = (world.height // BLOCK, world.width // BLOCK)
        cx, cy = (a.ravel() for a in grids.coarse_centres_utm)
        # block (row, col) of each coarse centre, then a square of candidate blocks around it
        bcol = np.floor((cx - wx0) / step).astype(np.int64)
        brow = np.floor((wy0 - cy) / step).astype(np.int64)
        radius = int(math.ceil(PSF_TRUNCATION * sigma / step)) + 1
        offs = np.arange(-radius, radius + 1)
        orow, ocol = (a.ravel() for a in np.meshgrid(offs, offs, indexing="ij"))
        rows = brow[:, None] + orow[None, :]
        cols = bcol[:, None] + ocol[None, :]
        dx = wx0 + (cols + 0.5) * step - cx[:, None]
        dy = wy0 - (rows + 0.5) * step - cy[:, None]
        dist2 = dx * dx + dy * dy
        keep = ((dist2 <= (PSF_TRUNCATION * sigma) ** 2) & (rows >= 0) & (cols >= 0)
                & (rows < self.blocks[0]) & (cols < self.blocks[1]))
        weights = np.where(keep, np.exp(-dist2 / (2.0 * sigma * sigma)), 0.0)
        weights /= weights.sum(axis=1, keepdims=True)
        coarse_index = np.broadcast_to(np.arange(cx.size)[:, None], keep.shape)
        self.matrix = sparse.csr_matrix(
            (weights[keep], (coarse_index[keep], (rows * self.blocks[1] + cols)[keep])),
            shape=(cx.size, self.blocks[0] * self.blocks[1]))

    def block_mean(self, world_array: np.ndarray) -> np.ndarray:
        """Means of BLOCK x BLOCK pixel blocks, shape (world rows / BLOCK, world cols / BLOCK)."""
        hb, wb = self.blocks
        return world_array.reshape(hb, BLOCK, wb, BLOCK).mean(axis=(1, 3), dtype=np.float64)

    def apply_blocks(self, block_array: np.ndarray) -> np.ndarray:
        """PSF-weighted means of a block-resolution array, shape (coarse rows, coarse cols)."""
        return (self.matrix @ block_array.ravel()).reshape(self.shape)

    def apply(self, world_array: np.ndarray) -> np.ndarray:
        """PSF-weighted means of a world array, shape (coarse rows, coarse cols), float64."""
        return self.apply_blocks(self.block_mean(world_array))


class BilinearToFine:
    """Resamples coarse-grid arrays onto the fine grid, as ``lstfusion:aligntofine`` does with bilinear.

    Fine pixel centres are projected to the coarse grid once (exactly on a
    lattice of every :data:`LATTICE` th pixel, linearly in between, as GDAL's
    warper approximates too); a date then costs a few gathers. The value is the
    bilinear interpolation of the four surrounding coarse pixel centres, with
    no-data neighbours left out and the weights of the valid ones renormalised
    (as GDAL does); the pixel is no-data when the coarse pixel under its
    centre is no-data. Matches gdal.Warp's bilinear with an exact
    transformation (errorThreshold=0) to 1e-4 K, and ``align_to_grid(...,
    'bilinear')`` (GDAL's default 0.125-pixel approximation) to ~0.1 K.
    """

    LATTICE = 8

    def __init__(self, grids: SceneGrids):
        rows, cols = grids.fine.shape
        lattice_rows = np.unique(np.r_[np.arange(0, rows, self.LATTICE), rows - 1])
        lattice_cols = np.unique(np.r_[np.arange(0, cols, self.LATTICE), cols - 1])
        x0, px, _, y0, _, py = grids.fine.transform
        lx, ly = np.meshgrid(x0 + (lattice_cols + 0.5) * px, y0 + (lattice_rows + 0.5) * py)
        sx, sy = transform_points(grids.utm, grids.sinusoidal, lx, ly)
        cx0, cpx, _, cy0, _, cpy = grids.coarse.transform
        # coarse pixel coordinates (0 = centre of the first pixel) on the lattice, then everywhere
        lattice = ((sy - cy0) / cpy - 0.5, (sx - cx0) / cpx - 0.5)
        at_r = np.interp(np.arange(rows), lattice_rows, np.arange(lattice_rows.size))
        at_c = np.interp(np.arange(cols), lattice_cols, np.arange(lattice_cols.size))
        where = np.meshgrid(at_r, at_c, indexing="ij")
        row, col = (map_coordinates(grid, where, order=1) for grid in lattice)
        width = grids.coarse.width
        r0, c0 = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
        fr, fc = (row - r0).astype(np.float32), (col - c0).astype(np.float32)
        self.neighbours = [((r0 + dr) * width + c0 + dc).ravel().astype(np.int32)
                           for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1))]
        self.weights = [w.ravel() for w in ((1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc)]
        self.nearest = (np.floor(row + 0.5).astype(np.int64) * width
                        + np.floor(col + 0.5).astype(np.int64)).ravel().astype(np.int32)
        self.shape = (rows, cols)

    def apply(self, coarse: np.ndarray) -> np.ndarray:
        """A (coarse rows, coarse cols) array with NaN gaps -> float32 (fine rows, fine cols)."""
        flat = coarse.astype(np.float32).ravel()
        valid = np.isfinite(flat)
        if valid.all():
            out = sum(w * flat[i] for i, w in zip(self.neighbours, self.weights))
            return out.reshape(self.shape)
        values = np.where(valid, flat, np.float32(0))
        total = np.zeros(self.nearest.size, np.float32)
        weight = np.zeros(self.nearest.size, np.float32)
        for index, w in zip(self.neighbours, self.weights):
            w_valid = w * valid[index]
            total += w_valid * values[index]
            weight += w_valid
        usable = valid[self.nearest] & (weight > 0)
        out = np.full(self.nearest.size, np.nan, np.float32)
        out[usable] = total[usable] / weight[usable]
        return out.reshape(self.shape)
