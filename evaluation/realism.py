"""Realism statistics: how fine (Landsat-like) and coarse (MODIS-like) LST relate in space and time.

Pure numpy. Every function takes float arrays in kelvin with NaN for no-data
and uses only the pixels valid in all of its inputs. ``fine`` arrays are
(rows, cols) on the fine grid; ``coarse`` arrays are the coarse images on that
same grid (what ``lstfusion:aligntofine`` makes of them). The same functions
measure real pairs and simulated ones, so that the two can be set side by side
(``benchmarks/bench_realism.py``).

For two fine dates 1 and 2, with the fine change dF = F2 - F1 and the coarse
change dC = C2 - C1 over the pixels valid in all four images:

* :func:`change_correlation`: Pearson correlation of dF and dC, how much of the
  fine change the coarse change announces;
* :func:`unexplained_change_std`: std of dF - dC (K), the part of the fine
  change the coarse change does not give (the spread of the naive prediction
  F1 + dC's error);
* :func:`bias_change`: mean(F2 - C2) - mean(F1 - C1) (K), how far the mean
  fine-minus-coarse bias moves between the dates (minus the naive prediction's
  mean error).
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np

E_FOLD = float(np.exp(-1.0))
"""The autocorrelation length is the lag where the autocorrelation first drops below 1/e."""

PixelSize = Union[float, Tuple[float, float]]


def common_valid(*arrays: np.ndarray) -> np.ndarray:
    """Boolean (rows, cols) mask of the pixels finite in every array; ValueError when shapes differ."""
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"the images differ in shape: {sorted(shapes)}")
    valid = np.ones(np.shape(arrays[0]), bool)
    for array in arrays:
        valid &= np.isfinite(array)
    return valid


def _valid_values(*arrays: np.ndarray, minimum: int = 2):
    """The arrays' values at their common valid pixels, float64 vectors; ValueError when too few."""
    valid = common_valid(*arrays)
    if int(valid.sum()) < minimum:
        raise ValueError(f"fewer than {minimum} pixels are valid in every image")
    return [np.asarray(a, np.float64)[valid] for a in arrays]


def _changes(fine1, fine2, coarse1, coarse2):
    f1, f2, c1, c2 = _valid_values(fine1, fine2, coarse1, coarse2)
    return f2 - f1, c2 - c1


def change_correlation(fine1, fine2, coarse1, coarse2) -> float:
    """Pearson correlation (-1 to 1) of the fine change F2 - F1 with the coarse change C2 - C1."""
    d_fine, d_coarse = _changes(fine1, fine2, coarse1, coarse2)
    d_fine -= d_fine.mean()
    d_coarse -= d_coarse.mean()
    return float((d_fine * d_coarse).sum() / np.sqrt((d_fine ** 2).sum() * (d_coarse ** 2).sum()))


def unexplained_change_std(fine1, fine2, coarse1, coarse2) -> float:
    """Std (K) of (F2 - F1) - (C2 - C1): the fine change that the coarse change does not give."""
    d_fine, d_coarse = _changes(fine1, fine2, coarse1, coarse2)
    return float(np.std(d_fine - d_coarse))


def bias_change(fine1, fine2, coarse1, coarse2) -> float:
    """mean(F2 - C2) - mean(F1 - C1) (K): the move of the mean fine-minus-coarse bias."""
    d_fine, d_coarse = _changes(fine1, fine2, coarse1, coarse2)
    return float(np.mean(d_fine - d_coarse))


def coarse_minus_fine(fine, coarse) -> float:
    """Mean of C - F (K): the date's MODIS-minus-Landsat bias."""
    f, c = _valid_values(fine, coarse, minimum=1)
    return float(np.mean(c - f))


def fine_minus_coarse_std(fine, coarse) -> float:
    """Std (K) of F - C on one date: the detail finer than the coarse pixel plus the sensors' disagreement."""
    f, c = _valid_values(fine, coarse)
    return float(np.std(f - c))


def image_std(image) -> float:
    """Std (K) of an image's valid pixels."""
    (values,) = _valid_values(image)
    return float(np.std(values))


def remove_plane(image) -> np.ndarray:
    """The image minus its least-squares plane a + b row + c col fitted on the valid pixels (NaN stays NaN)."""
    values = np.asarray(image, np.float64)
    valid = np.isfinite(values)
    rows, cols = np.nonzero(valid)
    design = np.column_stack([np.ones(rows.size), rows, cols])
    coef, *_ = np.linalg.lstsq(design, values[valid], rcond=None)
    grid_rows, grid_cols = np.indices(values.shape)
    return values - (coef[0] + coef[1] * grid_rows + coef[2] * grid_cols)


def autocorrelation(image, lag: int, axis: int) -> float:
    """Autocorrelation coefficient of an image at ``lag`` pixels along ``axis`` (0: down rows, 1: along columns).

    Mean and variance come from all valid pixels, the products from the pairs
    of valid pixels ``lag`` apart; NaN when no such pair exists.
    """
    values = np.asarray(image, np.float64)
    valid = np.isfinite(values)
    anomaly = np.where(valid, values - values[valid].mean(), 0.0)
    variance = float(np.mean(anomaly[valid] ** 2))
    n = values.shape[axis]
    head, tail = [slice(None)] * 2, [slice(None)] * 2
    head[axis], tail[axis] = slice(0, n - lag), slice(lag, n)
    pairs = int((valid[tuple(head)] & valid[tuple(tail)]).sum())
    if pairs == 0 or variance == 0.0:
        return float("nan")
    return float((anomaly[tuple(head)] * anomaly[tuple(tail)]).sum() / pairs / variance)


def autocorrelation_length(image, pixel_size: PixelSize, detrend: bool = True,
                           max_fraction: float = 0.5) -> float:
    """Distance (m) at which the autocorrelation first drops below 1/e: the mean over rows and columns.

    ``pixel_size``: metres, or (row height, column width) in metres;
    ``detrend``: remove the image's least-squares plane first (a regional
    gradient would otherwise set the length). The lag is interpolated linearly
    between whole pixels; lags up to ``max_fraction`` of the side are tried;
    NaN when the autocorrelation stays above 1/e that far along either axis.
    """
    values = remove_plane(image) if detrend else np.asarray(image, np.float64)
    sizes = (pixel_size, pixel_size) if np.isscalar(pixel_size) else tuple(pixel_size)
    lengths = []
    for axis in (0, 1):
        previous, length = 1.0, float("nan")
        for lag in range(1, int(values.shape[axis] * max_fraction) + 1):
            value = autocorrelation(values, lag, axis)
            if value < E_FOLD:
                length = (lag - 1 + (previous - E_FOLD) / (previous - value)) * sizes[axis]
                break
            previous = value
        lengths.append(length)
    return float(np.mean(lengths))


def daily_change(coarse_series: Sequence[np.ndarray]) -> Dict[str, float]:
    """Day-to-day change of consecutive daily coarse images (any common grid), in K.

    ``mean_change_std``: std over the days of the scene-mean change;
    ``spatial_change_std``: mean over the days of the std of the change over
    the pixels. Days with fewer than 2 pixels valid on both dates are skipped.
    """
    means, spreads = [], []
    for before, after in zip(coarse_series, coarse_series[1:]):
        valid = common_valid(before, after)
        if valid.sum() < 2:
            continue
        change = np.asarray(after, np.float64)[valid] - np.asarray(before, np.float64)[valid]
        means.append(change.mean())
        spreads.append(change.std())
    if len(means) < 2:
        raise ValueError("fewer than 3 consecutive coarse images share valid pixels")
    return {"mean_change_std": float(np.std(means)), "spatial_change_std": float(np.mean(spreads))}


def pair_statistics(fine1, fine2, coarse1, coarse2) -> Dict[str, float]:
    """The three two-date statistics of the module's text for one pair of fine dates."""
    return {"change_correlation": change_correlation(fine1, fine2, coarse1, coarse2),
            "unexplained_change_std": unexplained_change_std(fine1, fine2, coarse1, coarse2),
            "bias_change": bias_change(fine1, fine2, coarse1, coarse2)}


def date_statistics(fine, coarse, pixel_size: PixelSize) -> Dict[str, float]:
    """One date's statistics: stds of F, C and F - C, the C - F bias and both autocorrelation lengths."""
    return {"fine_std": image_std(fine), "coarse_std": image_std(coarse),
            "fine_minus_coarse_std": fine_minus_coarse_std(fine, coarse),
            "coarse_minus_fine": coarse_minus_fine(fine, coarse),
            "fine_autocorrelation_m": autocorrelation_length(fine, pixel_size),
            "coarse_autocorrelation_m": autocorrelation_length(coarse, pixel_size)}
