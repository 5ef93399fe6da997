"""Coarse images simulated from fine ones, and synthetic target dates, for training with few fine dates.

A simulated coarse image is the fine image averaged over blocks of
``factor`` x ``factor`` fine pixels (the coarse pixel), then interpolated
bilinearly back onto the fine grid (as ``aligntofine`` does with real coarse
images). Arrays are (bands, rows, cols) in K or °C, NaN = no-data.
"""
import numpy as np
from scipy import ndimage


def simulate_coarse(fine: np.ndarray, factor: int) -> np.ndarray:
    """Block mean over ``factor`` x ``factor`` pixels, bilinear back to the fine grid.

    Block means ignore no-data; a block without valid pixels is no-data, and so
    are the fine pixels under it. Blocks at the right/bottom edge may be partial.
    """
    factor = max(1, int(round(factor)))
    bands, rows, cols = fine.shape
    br, bc = -(-rows // factor), -(-cols // factor)
    padded = np.full((bands, br * factor, bc * factor), np.nan, np.float32)
    padded[:, :rows, :cols] = fine
    blocks = padded.reshape(bands, br, factor, bc, factor)
    valid = np.isfinite(blocks)
    counts = valid.sum(axis=(2, 4))
    sums = np.where(valid, blocks, 0).sum(axis=(2, 4), dtype=np.float64)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)
    # bilinear interpolation between block centres, block (i, j) centred at fine (i + 0.5) * factor - 0.5
    rr = (np.arange(rows) + 0.5) / factor - 0.5
    cc = (np.arange(cols) + 0.5) / factor - 0.5
    coords = np.meshgrid(rr, cc, indexing="ij")
    out = np.empty_like(fine, dtype=np.float32)
    for b in range(bands):
        filled = np.where(np.isfinite(means[b]), means[b], np.nanmean(means[b]) if counts[b].any() else 0)
        out[b] = ndimage.map_coordinates(filled, coords, order=1, mode="nearest")
        empty = np.repeat(np.repeat(counts[b] == 0, factor, 0), factor, 1)[:rows, :cols]
        out[b][empty] = np.nan
    return out


def synthetic_target(fine: np.ndarray, factor: int, rng: np.random.Generator,
                     offset: float = 6.0, gain: float = 0.3, field_std: float = 1.5) -> np.ndarray:
    """A plausible fine image of another date made from ``fine`` (same units, same no-data).

    F_t = F + a + g (F - coarse(F)) + s, with a uniform in +-``offset`` (a
    scene-wide warming or cooling), g uniform in +-``gain`` (fine-scale contrast
    growing or shrinking, as between a mild and a hot day) and s a smooth random
    field of standard deviation ``field_std`` varying over about 3 coarse
    pixels (weather and soil moisture patterns).
    """
    bands, rows, cols = fine.shape
    detail = fine - simulate_coarse(fine, factor)
    a = rng.uniform(-offset, offset)
    g = rng.uniform(-gain, gain)
    noise = rng.standard_normal((rows, cols)).astype(np.float32)
    field = ndimage.gaussian_filter(noise, sigma=max(1.0, 3.0 * factor), mode="reflect")
    field *= field_std / max(float(field.std()), 1e-6)
    return (fine + a + g * np.nan_to_num(detail) + field[None]).astype(np.float32)
