"""Accuracy metrics of a predicted LST image against a reference, exactly as the survey defines them.

Every metric is computed over the pixels valid in both images (NaN is no-data
and is never filled with zeros), optionally only inside a mask:

- RMSE = sqrt(mean((P - R)^2)), MAE = mean|P - R|, BIAS = mean(P - R),
  UBRMSE = sqrt(RMSE^2 - BIAS^2) (standard deviation of P - R), in the images' units;
- CC = Pearson correlation of P and R; R2 = 1 - sum((P - R)^2) / sum((R - mean R)^2)
  (coefficient of determination of R by P; negative when P is worse than mean(R));
- PSNR = 20 log10(L / RMSE) in dB, L = data range of R (max - min) unless given;
- SSIM (Wang et al. 2004): 11 x 11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03,
  the same L, averaged over the pixels whose whole window lies inside the image
  (a (11 - 1) / 2 = 5 pixel border is left out, as scikit-image does). With no-data,
  local statistics are weighted by the Gaussian over the valid pixels of the window
  only (normalised convolution) and the mean runs over the valid pixels, so that on
  fully valid images the value equals scikit-image's ``structural_similarity(
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L)``;
- SAM in degrees, for one band: the angle between P and R taken as two vectors of
  all valid pixels, arccos(<P,R> / (|P| |R|)) (depends on K vs °C);
- ERGAS = 100 (h / l) sqrt((RMSE / mean(R))^2) for one band, h / l = fine pixel
  size / coarse pixel size (``LANDSAT_MODIS_RATIO`` = 0.03 for Landsat 30 m / MODIS 1 km).

Files are read in row blocks (a halo of 5 rows for SSIM), so memory stays bounded
whatever the raster size: :func:`compute_metrics` for rasters,
:func:`metrics_from_arrays` for arrays in memory.
"""
import math
from contextlib import nullcontext
from typing import Dict, Optional, Tuple

import numpy as np
from scipy import ndimage

from ..common.errors import InputError
from ..common.grid import Grid, require_same_grid
from ..common.progress import Progress, ensure
from ..common.units import units_of
from ..common.raster_io import RasterWriter, band_description, open_raster, read_band, read_grid

LANDSAT_MODIS_RATIO = 0.03
"""The ERGAS ratio h / l for Landsat (30 m) over MODIS (1 km), as the STF-LST survey takes it: the one default."""

METRICS = ("RMSE", "SSIM", "PSNR", "SAM", "CC", "ERGAS", "MAE", "BIAS", "UBRMSE", "R2", "VALID_PIXELS")
"""Keys of a metrics dict, in report order."""

DEFINITIONS = {
    "RMSE": ("root-mean-square error", "units of the images",
             "sqrt(mean((P - R)²))"),
    "SSIM": ("structural similarity", "-",
             "Wang et al. 2004, 11 × 11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, data range L; "
             "mean over valid pixels at least 5 px from the image edge; no-data excluded from the "
             "local statistics (Gaussian weights renormalised over valid pixels)"),
    "PSNR": ("peak signal-to-noise ratio", "dB", "20 log10(L / RMSE), L = max(R) - min(R) unless given"),
    "SAM": ("spectral angle", "degrees",
            "arccos(<P, R> / (|P| |R|)), P and R as vectors of all valid pixels (one band)"),
    "CC": ("Pearson correlation coefficient", "-", "cov(P, R) / (σ_P σ_R)"),
    "ERGAS": ("relative global error", "-", "100 (h / l) sqrt((RMSE / mean(R))²), h / l = fine / coarse pixel size"),
    "MAE": ("mean absolute error", "units of the images", "mean(|P - R|)"),
    "BIAS": ("mean error", "units of the images", "mean(P - R)"),
    "UBRMSE": ("unbiased RMSE", "units of the images", "sqrt(RMSE² - BIAS²) = standard deviation of P - R"),
    "R2": ("coefficient of determination", "-", "1 - Σ(P - R)² / Σ(R - mean(R))²"),
    "VALID_PIXELS": ("pixels valid in both", "pixels", "count of pixels valid in P and R (and inside the mask)"),
}
"""Metric -> (name, unit, formula), P = prediction, R = reference, over pixels valid in both."""

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # int(3.5 * sigma + 0.5): scipy's truncation at 3.5 sigma, an 11-tap window
SSIM_K1, SSIM_K2 = 0.01, 0.03
BLOCK_PIXELS = 2 ** 19
"""Pixels per row block read from disk (about 4 MB per float64 array, some 20 arrays live)."""

"""A raster without units metadata whose mean exceeds this is taken to be in Kelvin."""


def _gaussian_taps() -> np.ndarray:
    x = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return taps / taps.sum()


_TAPS = _gaussian_taps()


class _Sums:
    """Running float64 sums over valid pixel pairs, shifted by a constant for precision."""

    def __init__(self):
        self.n = 0
        self.shift = None
        self.sx = self.sy = self.sxx = self.syy = self.sxy = self.sabs = 0.0
        self.ref_min, self.ref_max = math.inf, -math.inf

    def add(self, p: np.ndarray, r: np.ndarray) -> None:
        """Add 1-D float64 arrays of valid prediction / reference values."""
        if p.size == 0:
            return
        if self.shift is None:
            self.shift = float(r.mean())
        x, y = p - self.shift, r - self.shift
        self.n += p.size
        self.sx += float(x.sum())
        self.sy += float(y.sum())
        self.sxx += float(np.dot(x, x))
        self.syy += float(np.dot(y, y))
        self.sxy += float(np.dot(x, y))
        self.sabs += float(np.abs(x - y).sum())
        self.ref_min = min(self.ref_min, float(r.min()))
        self.ref_max = max(self.ref_max, float(r.max()))

    def means(self) -> Tuple[float, float]:
        """(mean P, mean R)."""
        return self.shift + self.sx / self.n, self.shift + self.sy / self.n

    def metrics(self, data_range: float, ergas_ratio: Optional[float]) -> Dict[str, float]:
        """Every metric but SSIM."""
        n, c = self.n, self.shift
        mean_p, mean_r = self.means()
        mx, my = self.sx / n, self.sy / n
        var_p = max(self.sxx / n - mx * mx, 0.0)
        var_r = max(self.syy / n - my * my, 0.0)
        cov = self.sxy / n - mx * my
        sum_d2 = self.sxx - 2.0 * self.sxy + self.syy
        mse = max(sum_d2 / n, 0.0)
        rmse = math.sqrt(mse)
        bias = mx - my
        norm_p = math.sqrt(self.sxx + 2.0 * c * self.sx + n * c * c)
        norm_r = math.sqrt(self.syy + 2.0 * c * self.sy + n * c * c)
        # |P|^2 - |R|^2 = sum((P - R)(P + R)), computed without the large squares
        sum_dsum = self.sxx - self.syy + 2.0 * c * (self.sx - self.sy)
        return {
            "RMSE": rmse,
            "PSNR": _psnr(data_range, rmse),
            "SAM": _sam(sum_d2, sum_dsum, norm_p, norm_r),
            "CC": cov / math.sqrt(var_p * var_r) if var_p > 0 and var_r > 0 else math.nan,
            "ERGAS": (100.0 * ergas_ratio * abs(rmse / mean_r)
                      if ergas_ratio is not None and mean_r != 0 else math.nan),
            "MAE": self.sabs / n,
            "BIAS": bias,
            "UBRMSE": math.sqrt(max(mse - bias * bias, 0.0)),
            "R2": 1.0 - mse / var_r if var_r > 0 else math.nan,
            "VALID_PIXELS": n,
        }


def _psnr(data_range: float, rmse: float) -> float:
    if rmse == 0:
        return math.inf
    if data_range <= 0:
        return math.nan
    return 20.0 * math.log10(data_range / rmse)


def _sam(sum_d2: float, sum_dsum: float, norm_p: float, norm_r: float) -> float:
    """Angle in degrees between P and R from |P - R|^2, |P|^2 - |R|^2 and the norms.

    1 - cos = (|P - R|^2 - (|P| - |R|)^2) / (2 |P| |R|), with |P| - |R| taken from
    (|P|^2 - |R|^2) / (|P| + |R|): exact for identical or proportional images,
    where arccos of a ratio near 1 would lose half of the digits.
    """
    if norm_p == 0 or norm_r == 0:
        return math.nan
    diff_norm = sum_dsum / (norm_p + norm_r)
    one_minus_cos = max(sum_d2 - diff_norm * diff_norm, 0.0) / (2.0 * norm_p * norm_r)
    return math.degrees(2.0 * math.asin(min(math.sqrt(one_minus_cos / 2.0), 1.0)))


def _ssim_block(p: np.ndarray, r: np.ndarray, valid: np.ndarray, shift: float,
                c1: float, c2: float) -> Tuple[float, int]:
    """(sum of SSIM, count) over the valid pixels whose full window lies in the block.

    ``p``, ``r``: (rows, cols) float arrays; ``valid``: bool, same shape. The
    result covers rows/cols ``SSIM_RADIUS`` .. size - ``SSIM_RADIUS``.
    """
    h = SSIM_RADIUS
    rows, cols = p.shape
    if rows <= 2 * h or cols <= 2 * h:
        return 0.0, 0
    centre = valid[h:rows - h, h:cols - h]
    if not centre.any():
        return 0.0, 0
    x = np.where(valid, p - shift, 0.0)
    y = np.where(valid, r - shift, 0.0)
    full = bool(valid.all())

    def local_mean(a):
        a = ndimage.correlate1d(a, _TAPS, axis=0, mode="constant")[h:rows - h]
        return ndimage.correlate1d(a, _TAPS, axis=1, mode="constant")[:, h:cols - h]

    weight = 1.0 if full else local_mean(valid.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        ux, uy = local_mean(x) / weight, local_mean(y) / weight
        # only vx + vy enters SSIM: one filter of x^2 + y^2 instead of two
        vx_plus_vy = local_mean(x * x + y * y) / weight - ux * ux - uy * uy
        vxy = local_mean(x * y) / weight - ux * uy
        ux += shift
        uy += shift
        ssim = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx_plus_vy + c2))
    values = ssim[centre]
    return float(values.sum()), int(values.size)


def metrics_from_arrays(pred: np.ndarray, ref: np.ndarray, mask: Optional[np.ndarray] = None,
                        data_range: Optional[float] = None,
                        ergas_ratio: Optional[float] = None) -> Dict[str, float]:
    """Metrics of a (rows, cols) prediction against a (rows, cols) reference held in memory.

    NaN in either is no-data; ``mask`` (bool, True = evaluate) restricts the pixels
    further (pixels outside it count as no-data, also inside SSIM windows).
    ``data_range`` is L for PSNR and SSIM (default: max - min of the valid reference);
    ``ergas_ratio`` is h / l (ERGAS is NaN without it). Values keep the images' units
    (K or °C). Returns a dict keyed by :data:`METRICS`; raises InputError when no
    pixel is valid in both.
    """
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape or pred.ndim != 2:
        raise InputError(f"Prediction and reference must be two (rows, cols) arrays of the same "
                         f"shape, got {pred.shape} and {ref.shape}.")
    valid = np.isfinite(pred) & np.isfinite(ref)
    if mask is not None:
        valid &= np.asarray(mask, dtype=bool)
    sums = _Sums()
    sums.add(pred[valid], ref[valid])
    if sums.n == 0:
        raise InputError("No pixel is valid in both the prediction and the reference.")
    data_range = _data_range(sums, data_range)
    result = sums.metrics(data_range, ergas_ratio)
    total, count = _ssim_block(pred, ref, valid, sums.shift, *_ssim_constants(data_range))
    result["SSIM"] = total / count if count else math.nan
    return _ordered(result, data_range)


def _data_range(sums: _Sums, data_range: Optional[float]) -> float:
    if data_range is not None and data_range > 0:
        return float(data_range)
    return sums.ref_max - sums.ref_min


def _ssim_constants(data_range: float) -> Tuple[float, float]:
    return (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2


def _ordered(result: dict, data_range: float) -> Dict[str, float]:
    out = {name: result[name] for name in METRICS}
    out["DATA_RANGE"] = data_range
    return out


def compute_metrics(pred_path: str, ref_path: str, mask_path: Optional[str] = None,
                    data_range: Optional[float] = None, ergas_ratio: Optional[float] = None,
                    error_path: Optional[str] = None, band: int = 1,
                    progress: Optional[Progress] = None) -> Dict[str, float]:
    """Metrics of band ``band`` of a prediction raster against the same band of a reference raster.

    Both must share one grid (InputError naming the difference otherwise) and the
    same units (:func:`common_units`: a Celsius/Kelvin mismatch is an InputError).
    ``mask_path`` is a raster on the same grid: pixels that are no-data or 0 in it
    are left out. ``error_path``, when given, receives P - R as a Float32 GeoTIFF
    (no-data where a pixel is not evaluated). Reads row blocks in two passes
    (sums, then SSIM with a 5-row halo). Returns the dict of
    :func:`metrics_from_arrays` plus 'UNITS' ('kelvin', 'celsius' or None when
    unknown), 'MEAN_PREDICTION' and 'MEAN_REFERENCE'.
    """
    progress = ensure(progress)
    named = {f"PREDICTION ({pred_path})": pred_path, f"REFERENCE ({ref_path})": ref_path}
    if mask_path:
        named[f"MASK ({mask_path})"] = mask_path
    grid = require_same_grid({name: read_grid(path) for name, path in named.items()})
    datasets = [open_raster(path) for path in (pred_path, ref_path)]
    for path, ds in zip((pred_path, ref_path), datasets):
        if band > ds.RasterCount:
            raise InputError(f"{path} has {ds.RasterCount} band(s); band {band} was asked for.")
    units = common_units(pred_path, ref_path, band)
    mask_ds = open_raster(mask_path) if mask_path else None
    rows_per_block = _rows_per_block(datasets[0].GetRasterBand(band).GetBlockSize()[1], grid.width)
    blocks = -(-grid.height // rows_per_block)

    def read(row, rows):
        window = (row, 0, rows, grid.width)
        p, r = (read_band(ds, band, window).astype(np.float64) for ds in datasets)
        valid = np.isfinite(p) & np.isfinite(r)
        if mask_ds is not None:
            m = read_band(mask_ds, 1, window)
            valid &= np.isfinite(m) & (m != 0)
        return p, r, valid

    sums = _Sums()
    with RasterWriter(error_path, grid, units=units, descriptions=[band_description("error P - R", units)],
                      metadata={"CONTENT": "prediction - reference"}) if error_path else nullcontext() as writer:
        for i, row in enumerate(range(0, grid.height, rows_per_block)):
            p, r, valid = read(row, min(rows_per_block, grid.height - row))
            sums.add(p[valid], r[valid])
            if writer:
                writer.write(np.where(valid, p - r, np.nan), row, 0)
            progress.step(i + 1, 2 * blocks)
        if sums.n == 0:
            raise InputError(f"No pixel is valid in both {pred_path} and {ref_path}"
                             + (" inside the mask." if mask_path else "."))

    data_range = _data_range(sums, data_range)
    c1, c2 = _ssim_constants(data_range)
    total, count = 0.0, 0
    for i, row in enumerate(range(0, grid.height, rows_per_block)):
        # rows of this block whose window lies inside the image, read with a halo
        top = max(row, SSIM_RADIUS)
        bottom = min(row + rows_per_block, grid.height - SSIM_RADIUS)
        if bottom > top:
            p, r, valid = read(top - SSIM_RADIUS, bottom - top + 2 * SSIM_RADIUS)
            block_total, block_count = _ssim_block(p, r, valid, sums.shift, c1, c2)
            total += block_total
            count += block_count
        progress.step(blocks + i + 1, 2 * blocks)
    result = sums.metrics(data_range, ergas_ratio)
    result["SSIM"] = total / count if count else math.nan
    out = _ordered(result, data_range)
    mean_p, mean_r = sums.means()
    out.update(UNITS=units, MEAN_PREDICTION=mean_p, MEAN_REFERENCE=mean_r)
    return out


def _rows_per_block(file_block_rows: int, width: int) -> int:
    """Rows per block: about BLOCK_PIXELS pixels, a multiple of the file's block height when
    that is small (each compressed tile is then decoded once per pass), never under 20."""
    rows = max(4 * SSIM_RADIUS, BLOCK_PIXELS // max(width, 1))
    if 1 < file_block_rows <= rows:
        rows -= rows % file_block_rows
    return rows


def common_units(pred_path: str, ref_path: str, band: int = 1) -> Optional[str]:
    """The common units of prediction and reference, or InputError when they differ."""
    pred_units, pred_how = units_of(pred_path, band)
    ref_units, ref_how = units_of(ref_path, band)
    if pred_units and ref_units and pred_units != ref_units:
        raise InputError(
            f"Units differ: PREDICTION {pred_path} is in {pred_units.capitalize()} ({pred_how}) but "
            f"REFERENCE {ref_path} is in {ref_units.capitalize()} ({ref_how}). Convert one of them "
            "(K = °C + 273.15, e.g. with the Raster calculator) before evaluating.")
    return pred_units or ref_units


def pixel_size_m(grid: Grid) -> float:
    """Pixel size in metres: the geometric mean of the x and y sizes.

    Geographic grids are converted at their centre latitude on their ellipsoid.
    """
    dx, dy = grid.pixel_size
    if not grid.crs_wkt:
        raise InputError("A raster without a coordinate reference system has no pixel size in "
                         "metres; give the ERGAS resolution ratio (RATIO) instead.")
    srs = grid.srs()
    if srs.IsGeographic():
        lat = math.radians((grid.bounds[1] + grid.bounds[3]) / 2.0)
        a = srs.GetSemiMajor()
        e2 = 1.0 - (srs.GetSemiMinor() / a) ** 2
        w = math.sqrt(1.0 - e2 * math.sin(lat) ** 2)
        per_rad = srs.GetAngularUnits()  # radians per CRS unit (degree)
        dx *= a * math.cos(lat) / w * per_rad  # parallel radius of curvature
        dy *= a * (1.0 - e2) / w ** 3 * per_rad  # meridional radius of curvature
    else:
        dx *= srs.GetLinearUnits()
        dy *= srs.GetLinearUnits()
    return math.sqrt(dx * dy)


def checked_ratio(ratio: float) -> float:
    """``ratio`` when it is a plausible ERGAS h / l (in (0, 1]), else InputError."""
    if not 0 < ratio <= 1:
        raise InputError(f"RATIO must be the fine / coarse pixel size ratio h / l, in (0, 1] (got {ratio:g}; "
                         f"{LANDSAT_MODIS_RATIO:g} for Landsat 30 m / MODIS 1 km).")
    return ratio


def resolution_ratio(fine_path: str, coarse_path: str) -> float:
    """ERGAS h / l: fine pixel size / coarse pixel size, both in metres (any CRSs)."""
    return pixel_size_m(read_grid(fine_path)) / pixel_size_m(read_grid(coarse_path))


