"""ESTARFM (Zhu et al. 2010) with the optional local bias correction of ubESTARFM (Yu et al. 2023).

Two pairs (F1, C1) and (F2, C2) bracket the target date, C0 is the coarse
target. For each fine pixel (the centre), within a (2h + 1) x (2h + 1) window,
following the original code (IDL, and its Python port):

1. Similar pixels: ``|F1_k - F1_c| < 2 sigma_1 / n_classes`` and
   ``|F2_k - F2_c| < 2 sigma_2 / n_classes`` (sigma_i: standard deviation of
   the valid pixels of F_i over the whole image, so that tiling does not
   change the result), among pixels valid in all five inputs.
2. With more than 5 similar pixels:
   - similarity ``S_k = 1 - (|(F1-C1)/(F1+C1)| + |(F2-C2)/(F2+C2)|) / 2`` and
     distance ``D_k = 1 + d_k / h``; weight ``w_k ∝ 1 / ((1 - S_k) D_k + 1e-7)``;
   - conversion coefficient V: slope of the least-squares line of the similar
     pixels' fine values on their coarse values, both dates pooled (2n points),
     used only when the mean coarse change of the similar pixels between the
     two dates is at least ``min_coarse_change`` (the original's 2 % of the
     upper valid value: 7 K for 350 K), the slope is significant (F test of
     the regression, p <= 0.05, F(1, 2n - 2); the original's ``1 - F_PDF`` in
     IDL is this p-value) and 0 < V <= 5; else V = 1;
   - temporal weights ``T_i ∝ 1 / |mean_win(C0) - mean_win(C_i)|`` (means over
     the valid pixels of the whole window, + 1e-10 K);
   - prediction ``T1 (F1_c + sum w V (C0 - C1)) + T2 (F2_c + sum w V (C0 - C2))``;
     when it is <= valid_min or >= valid_max it is replaced, as in the
     original, by ``T1 sum w F1 + T2 sum w F2``.
3. With 5 similar pixels or fewer (the original's fallback): ``T1 (F1_c +
   m1) + T2 (F2_c + m2)`` with ``m_i = mean_win(C0 - C_i)`` over the valid
   pixels of the window.

Bias correction (ubESTARFM, ``bias_correction=True``): in each window the fine
values of both pairs are shifted by ``b_i = mean(C_i) - mean(F_i)`` over the
similar pixels (over all valid window pixels in the fallback) before fusing:
the centre value, the similarity S and the revision use the shifted values,
and V = 1. (ubESTARFM's R code also uses thresholds of one standard
deviation computed per 200-pixel patch; here the thresholds stay
2 sigma / n_classes over the whole image, so n_classes = 2 matches its
threshold and tiling never changes the result.)

Values are Kelvin. The output is no-data where any of the five inputs is
no-data or outside the physically possible range ``tiled.PHYSICAL_RANGE_K``
(150-400 K); the valid range (250-350 K by default) only revises predictions,
as in the original code, so that polar or winter-night scenes keep their pixels.
"""
from dataclasses import asdict, dataclass
import datetime as _dt
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage
from scipy import special

from ...common.errors import InputError
from ...common.progress import Progress, ensure
from ...common.tiling import Part
from .tiled import (WindowParams, check_target_between, date_from_path, input_stats, open_inputs, run_tiled,
                        window_sum)
from . import estarfm_kernel
from .window import Offsets, Sums, ceil_float32

MIN_SIMILAR = 5
"""More than this many similar pixels are needed for the weighted prediction."""
WEIGHT_EPSILON = 1e-7
TEMPORAL_EPSILON = 1e-10
FILL_K = 300.0


@dataclass
class EstarfmParams(WindowParams):
    """ESTARFM settings (a 51 x 51 window by default); temperatures in K."""

    half_window: int = 25
    bias_correction: bool = False
    """ubESTARFM's local bias correction (then V = 1)."""
    min_coarse_change: float = 7.0
    """Mean coarse change (K) of the similar pixels below which V = 1."""
    significance: float = 0.05
    """p-value of the regression's F test at or below which V is used."""
    max_conversion: float = 5.0
    """V is used only when 0 < V <= this."""

    def check(self) -> None:
        """InputError for settings that cannot work."""
        super().check()
        if not 0 < self.significance < 1:
            raise InputError("The significance level must be between 0 and 1.")
        if self.max_conversion <= 0 or self.min_coarse_change < 0:
            raise InputError("The conversion coefficient limit must be positive and the minimum "
                             "coarse change not negative.")


def estarfm_tile(blocks: Sequence[np.ndarray], params: EstarfmParams, thresholds: Sequence[float],
                 offset: float, progress: Optional[Progress] = None):
    """ESTARFM on one padded tile.

    ``blocks``: fine_ref, coarse_ref, fine_ref2, coarse_ref2, coarse_target
    as float32 Kelvin arrays (rows + 2h, cols + 2h), NaN = no-data;
    ``thresholds``: similarity thresholds of F1 and F2 (K); ``offset``: a
    constant (K) subtracted before summing, for float32 accuracy. Returns
    (prediction (rows, cols) float64 K with NaN where not predicted, counters
    'fallback', 'revised', 'converted' (pixels with V != 1)).
    """
    progress = ensure(progress)
    h = params.half_window
    f1, c1, f2, c2, c0 = (np.array(b, np.float32) for b in blocks)
    win = Offsets(h, f1.shape[0] - 2 * h, f1.shape[1] - 2 * h)
    valid = np.isfinite(f1) & np.isfinite(c1) & np.isfinite(f2) & np.isfinite(c2) & np.isfinite(c0)
    for array in (f1, c1, f2, c2, c0):
        array[~valid] = np.nan
    th = (ceil_float32(thresholds[0]), ceil_float32(thresholds[1]))
    off = np.float32(offset)
    # centred copies that are 0 where invalid, for sums (NaN * 0 would poison them)
    x1, y1, x2, y2, x0 = (np.where(valid, a - off, np.float32(0)) for a in (c1, f1, c2, f2, c0))

    n_valid = window_sum(valid, h, win.rows, win.cols)
    mean_change1 = window_sum(x0 - x1, h, win.rows, win.cols) / np.maximum(n_valid, 1)
    mean_change2 = window_sum(x0 - x2, h, win.rows, win.cols) / np.maximum(n_valid, 1)
    t1, t2 = _temporal_weights(mean_change1, mean_change2)

    images = (x1, y1, x2, y2, x0)
    compiled = estarfm_kernel.kernel()
    if compiled is None:
        sums = _numpy_sums(_Similar(win, f1, f2, th), c1, c2, images, valid, params, progress)
    else:
        sums = _numba_sums(compiled, win, f1, f2, th, c1, c2, images, valid, params, progress)
    n = sums["n"]
    conversion = np.ones((win.rows, win.cols))
    if params.bias_correction:
        bias1, bias2 = sums["b1"], sums["b2"]
    else:
        bias1 = bias2 = np.zeros((win.rows, win.cols))
        if sums["box"] is not None:
            conversion[sums["box"]] = _conversion(sums, n[sums["box"]], params)
    weighted = {name: sums[name] for name in ("w", "wd1", "wd2")}

    f1_c, f2_c = (win.core(win.centre(f)).astype(np.float64) for f in (f1, f2))
    valid_c = win.core(win.centre(valid))
    enough = valid_c & (n > MIN_SIMILAR)
    with np.errstate(invalid="ignore", divide="ignore"):
        change1 = weighted["wd1"] / weighted["w"]
        change2 = weighted["wd2"] / weighted["w"]
        prediction = (t1 * (f1_c + bias1 + conversion * change1)
                      + t2 * (f2_c + bias2 + conversion * change2))
    abnormal = enough & ((prediction <= params.valid_min) | (prediction >= params.valid_max))
    if abnormal.any():
        centres = np.flatnonzero(abnormal)
        shift = None if not params.bias_correction else (
            sums["shift"][0].ravel()[centres], sums["shift"][1].ravel()[centres])
        revision = _Similar(Offsets(h, win.rows, win.cols, centres), f1, f2, th).weighted_sums(
            c1, c2, y1, y2, shift, params, None)
        mean_fine1 = revision["wd1"] / revision["w"] + offset + bias1.ravel()[centres]
        mean_fine2 = revision["wd2"] / revision["w"] + offset + bias2.ravel()[centres]
        prediction.ravel()[centres] = (t1.ravel()[centres] * mean_fine1
                                       + t2.ravel()[centres] * mean_fine2)

    fallback = valid_c & ~enough
    if fallback.any():
        if params.bias_correction:
            window_bias1 = window_sum(x1 - y1, h, win.rows, win.cols) / np.maximum(n_valid, 1)
            window_bias2 = window_sum(x2 - y2, h, win.rows, win.cols) / np.maximum(n_valid, 1)
        else:
            window_bias1 = window_bias2 = 0.0
        simple = (t1 * (f1_c + window_bias1 + mean_change1)
                  + t2 * (f2_c + window_bias2 + mean_change2))
        prediction[fallback] = simple[fallback]
    prediction[~valid_c] = np.nan
    return prediction, {"fallback": int(fallback.sum()), "revised": int(abnormal.sum()),
                        "converted": int((enough & (conversion != 1.0)).sum())}


def _temporal_weights(mean_change1: np.ndarray, mean_change2: np.ndarray):
    """(T1, T2) from the window mean coarse changes to each reference date (K)."""
    inverse1 = 1.0 / (np.abs(mean_change1) + TEMPORAL_EPSILON)
    inverse2 = 1.0 / (np.abs(mean_change2) + TEMPORAL_EPSILON)
    return inverse1 / (inverse1 + inverse2), inverse2 / (inverse1 + inverse2)


def _numpy_sums(similar: "_Similar", c1, c2, images, valid, params: EstarfmParams,
                progress: Progress) -> Dict:
    """The window sums over similar pixels with numpy (see ``_numba_sums`` for what they are)."""
    win = similar.win
    x1, y1, x2, y2, x0 = images
    if params.bias_correction:
        first = similar.sums(("n", "b1", "b2"), {"b1": x1 - y1, "b2": x2 - y2}, progress.sub(0, 35))
        count = np.maximum(first["n"], 1)
        u_shift = ((first["b1"] / count).astype(np.float32), (first["b2"] / count).astype(np.float32))
        weighted = similar.weighted_sums(c1, c2, x0 - x1, x0 - x2, u_shift, params,
                                         progress.sub(35, 100))
        sums = {name: win.core(first[name] / count) for name in ("b1", "b2")}
        sums["shift"], box = tuple(win.core(shift) for shift in u_shift), None
    else:
        box = _regression_box(x1, x2, valid, win, params)
        weighted = similar.weighted_sums(c1, c2, x0 - x1, x0 - x2, None, params, progress,
                                         regression=None if box is None else (x1, y1, x2, y2, box))
        sums = {name: weighted[name] for name in _pooled(x1, y1, x2, y2)} if box is not None else {}
    sums.update({name: win.core(weighted[name]) for name in ("n", "w", "wd1", "wd2")})
    sums["box"] = box
    return sums


def _numba_sums(compiled, win: Offsets, f1, f2, thresholds, c1, c2, images, valid,
                params: EstarfmParams, progress: Progress) -> Dict:
    """The window sums over similar pixels with the compiled kernel (models/estarfm_kernel.py).

    Returns (rows, cols) float64 arrays: 'n' (count), 'w' (sum of weights),
    'wd1', 'wd2' (weighted coarse changes C0 - C1, C0 - C2); with bias
    correction 'b1', 'b2' (mean C_i - F_i over the similar pixels) and
    'shift' (the same as float32); otherwise 'box' (core slices or None) and
    the regression sums 'x1', 'x2', 'y', 'xy', 'xx', 'yy' of its centres
    (centred K, shaped as the box).
    """
    h = params.half_window
    x1, y1, x2, y2, x0 = images
    changes = (x0 - x1, x0 - x2)
    if params.bias_correction:
        everywhere = (slice(0, win.rows), slice(0, win.cols))
        first, means = estarfm_kernel.similar_sums(
            compiled, h, f1, f2, thresholds, (), plain_values=(x1 - y1, x2 - y2), box=everywhere,
            progress=progress.sub(0, 35))
        count = np.maximum(first[0], 1)
        shift = (means / count).astype(np.float32)
        sums_, _ = estarfm_kernel.similar_sums(
            compiled, h, f1, f2, thresholds, changes, mode=2, pairs=np.stack(_shift_pairs(f1, c1, f2, c2)),
            shift=shift, progress=progress.sub(35, 100))
        sums = {"b1": means[0] / count, "b2": means[1] / count, "shift": (shift[0], shift[1]), "box": None}
    else:
        box = _regression_box(x1, x2, valid, win, params)
        pooled = _pooled(x1, y1, x2, y2)
        sums_, plain = estarfm_kernel.similar_sums(
            compiled, h, f1, f2, thresholds, changes, mode=1, dissimilarity=_dissimilarity(f1, c1, f2, c2),
            plain_values=tuple(pooled.values()) if box is not None else (), box=box, progress=progress)
        sums = dict(zip(pooled, plain)) if box is not None else {}
        sums["box"] = box
    sums.update(zip(("n", "w", "wd1", "wd2"), sums_))
    return sums


def _pooled(x1, y1, x2, y2) -> Dict[str, np.ndarray]:
    """The images whose sums over similar pixels give the regression of F on C, both dates pooled."""
    return {"y": y1 + y2, "xy": x1 * y1 + x2 * y2, "xx": x1 * x1 + x2 * x2,
            "yy": y1 * y1 + y2 * y2, "x1": x1, "x2": x2}


def _regression_box(x1: np.ndarray, x2: np.ndarray, valid: np.ndarray, win: Offsets,
                    params: EstarfmParams) -> Optional[Tuple[slice, slice]]:
    """Bounding box (core slices) of the centres whose V may differ from 1, or None.

    The mean coarse change of a centre's similar pixels cannot exceed the
    largest |C1 - C2| of its window, so centres whose window holds no change
    of ``min_coarse_change`` (less a 1e-3 K margin for rounding) keep V = 1
    and need no regression sums.
    """
    change = np.where(valid, np.abs(x1 - x2), np.float32(0))
    largest = ndimage.maximum_filter(change, size=2 * win.halo + 1, mode="constant")
    need = win.core(win.centre(largest)) >= params.min_coarse_change - 1e-3
    need &= win.core(win.centre(valid))
    if not need.any():
        return None
    rows, cols = np.flatnonzero(need.any(axis=1)), np.flatnonzero(need.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _conversion(sums: Dict[str, np.ndarray], n: np.ndarray, params: EstarfmParams) -> np.ndarray:
    """V per centre from the regression sums of its similar pixels (see the module docstring)."""
    points = 2.0 * n
    with np.errstate(invalid="ignore", divide="ignore"):
        sx = sums["x1"] + sums["x2"]
        sxx = sums["xx"] - sx * sx / points
        sxy = sums["xy"] - sx * sums["y"] / points
        syy = sums["yy"] - sums["y"] * sums["y"] / points
        slope = sxy / sxx
        r2 = np.clip(sxy * sxy / (sxx * syy), 0.0, 1.0)
        f_value = (points - 2.0) * r2 / (1.0 - r2)
        # survival function of F(1, 2n - 2) (scipy.stats.f.sf, without importing scipy.stats: 0.5 s)
        p_value = special.fdtrc(1.0, np.maximum(points - 2.0, 1.0), f_value)
        coarse_change = np.abs(sums["x1"] - sums["x2"]) / n
    use = ((n > MIN_SIMILAR) & (coarse_change >= params.min_coarse_change)
           & (sxx > 0) & (syy > 0) & (p_value <= params.significance)
           & (slope > 0) & (slope <= params.max_conversion))
    return np.where(use, slope, 1.0)


class _Similar:
    """The similar-pixel test of a tile and the window sums over similar pixels.

    The test is symmetric: q = p + d is similar to p exactly when p = q - d is
    similar to q. Offsets are therefore visited in pairs (d, -d) and, over the
    flat run of centres, one test of the pixels p - d against p gives both
    masks: shifted by d for d, as it is for -d. Chosen centres (gathers) are
    tested for each offset of the pair.
    """

    def __init__(self, win: Offsets, f1: np.ndarray, f2: np.ndarray, thresholds):
        self.win, self.f1, self.f2, self.th = win, f1, f2, thresholds
        length = win.shape[0] + (0 if win.index is not None else win.step(win.halo, win.halo))
        self.masks = np.empty(length, np.float32), np.empty(length, np.float32)
        self.tests = np.empty(length, bool), np.empty(length, bool)
        self.buffer = np.empty(length, np.float32)
        self.inverse = np.empty(length + length - win.shape[0], np.float32)

    def _test(self, neighbours1, centres1, neighbours2, centres2, out: np.ndarray) -> np.ndarray:
        """1 (float32) where both neighbours are similar to the centres (and valid), else 0."""
        buffer, (first, second) = self.buffer[:out.shape[0]], (t[:out.shape[0]] for t in self.tests)
        np.subtract(neighbours1, centres1, out=buffer)
        np.abs(buffer, out=buffer)
        np.less(buffer, self.th[0], out=first)
        np.subtract(neighbours2, centres2, out=buffer)
        np.abs(buffer, out=buffer)
        np.less(buffer, self.th[1], out=second)
        first &= second
        # a float32 mask: numpy's float32 loops are faster than mixed bool-float ones
        np.copyto(out, first)
        return out

    def pair(self, dy: int, dx: int):
        """[(dy, dx, mask), (-dy, -dx, mask)] (only the first for d = 0): float32 masks of the centres."""
        win = self.win
        if win.index is not None:
            return [(y, x, self._test(win.at(self.f1, y, x), win.centre(self.f1), win.at(self.f2, y, x),
                                      win.centre(self.f2), mask[:win.shape[0]]))
                    for (y, x), mask in zip(_pair_offsets(dy, dx), self.masks)]
        step, count = win.step(dy, dx), win.shape[0]
        # the pixels p - d against p, for the centres p - d ... p_last: the mask of -d from 0 on,
        # of d from step on
        mask = self._test(win.span(self.f1, -dy, -dx, count + step), win.span(self.f1, 0, 0, count + step),
                          win.span(self.f2, -dy, -dx, count + step), win.span(self.f2, 0, 0, count + step),
                          self.masks[0][:count + step])
        return _paired(dy, dx, mask[step:step + count], mask[:count])

    def inverse_weights(self, dissimilarity: np.ndarray, dy: int, dx: int, distance_factor: float):
        """1 / ((1 - S) D + 1e-7) at the neighbours, for the offsets of ``pair(dy, dx)`` in its order."""
        win, scale = self.win, np.float32(distance_factor)
        if win.index is not None:
            values = [np.multiply(win.at(dissimilarity, y, x), scale) for y, x in _pair_offsets(dy, dx)]
        else:
            step, count = win.step(dy, dx), win.shape[0]
            # from the neighbour p - d of the first centre: neighbours p - d from 0 on, p + d from 2 step on
            values = [np.multiply(win.span(dissimilarity, -dy, -dx, count + 2 * step), scale,
                                  out=self.inverse[:count + 2 * step])]
        for value in values:
            value += np.float32(WEIGHT_EPSILON)
            np.divide(np.float32(1.0), value, out=value)
        if win.index is not None:
            return values
        return [inverse for _, _, inverse in _paired(dy, dx, values[0][2 * step:2 * step + count],
                                                     values[0][:count])]

    def sums(self, names, values: Dict[str, np.ndarray], progress: Progress) -> Dict[str, np.ndarray]:
        """Count ('n') and plain sums of ``values`` over the similar pixels of each window."""
        win = self.win
        sums = Sums(names, win.shape)
        product = np.empty(win.shape, np.float32)
        for group in win.pairs_of_offsets(progress):
            for dy, dx, _ in group:
                for y, x, mask in self.pair(dy, dx):
                    sums.add("n", mask)
                    for name, image in values.items():
                        sums.add_product(name, mask, win.at(image, y, x), product)
            sums.end_row()
        return sums.as_dict()

    def weighted_sums(self, c1, c2, d1, d2, shift, params: EstarfmParams,
                      progress: Optional[Progress], regression=None) -> Dict[str, np.ndarray]:
        """Weighted sums over the similar pixels of each window.

        'w': sum of 1 / ((1 - S) D + 1e-7); 'wd1', 'wd2': sums of weight times
        ``d1``, ``d2`` (padded float32 images, 0 where invalid); 'n': count.
        ``shift``: per-centre (b1, b2) added to the fine values in S (bias
        correction) or None. ``regression``: centred (x1, y1, x2, y2) and a
        box (core slices) to also return the regression sums 'x1', 'x2', 'y',
        'xy', 'xx', 'yy' of the centres in the box, shaped as the box.
        """
        progress = ensure(progress)
        win = self.win
        sums = Sums(("n", "w", "wd1", "wd2"), win.shape)
        if regression is not None:
            x1, y1, x2, y2, box = regression
            pooled = _pooled(x1, y1, x2, y2)
            box_sums = Sums(pooled, np.empty((win.rows, win.cols))[box].shape)
            box_product = np.empty(box_sums.row["y"].shape, np.float32)
        if shift is None:
            dissimilarity = _dissimilarity(self.f1, c1, self.f2, c2)
        else:
            shifted = _ShiftedDissimilarity(win, self.f1, c1, self.f2, c2, shift)
        weight, product = np.empty(win.shape, np.float32), np.empty(win.shape, np.float32)
        for group in win.pairs_of_offsets(progress):
            for dy, dx, distance in group:
                factor = 1.0 + distance / params.half_window
                if shift is None:
                    inverses = self.inverse_weights(dissimilarity, dy, dx, factor)
                for index, (y, x, mask) in enumerate(self.pair(dy, dx)):
                    if shift is None:
                        np.multiply(mask, inverses[index], out=weight)
                    else:
                        shifted.at(y, x, out=weight)
                        weight *= np.float32(0.5 * factor)
                        weight += np.float32(WEIGHT_EPSILON)
                        np.divide(mask, weight, out=weight)
                    sums.add("n", mask)
                    sums.add("w", weight)
                    sums.add_product("wd1", weight, win.at(d1, y, x), product)
                    sums.add_product("wd2", weight, win.at(d2, y, x), product)
                    if regression is not None:
                        box_mask = win.core(mask)[box]
                        for name, image in pooled.items():
                            box_sums.add_product(name, box_mask, win.grid(image, y, x)[box], box_product)
            sums.end_row()
            if regression is not None:
                box_sums.end_row()
        result = sums.as_dict()
        if regression is not None:
            result.update(box_sums.as_dict())
        return result


def _pair_offsets(dy: int, dx: int):
    """The offsets d = (dy, dx) and -d, or (0, 0) alone."""
    return [(dy, dx)] if dy == dx == 0 else [(dy, dx), (-dy, -dx)]


def _paired(dy: int, dx: int, plus, minus):
    """[(dy, dx, plus), (-dy, -dx, minus)], or [(0, 0, minus)] for d = 0."""
    return [(0, 0, minus)] if dy == dx == 0 else [(dy, dx, plus), (-dy, -dx, minus)]


class _ShiftedDissimilarity:
    """2 (1 - S) of the neighbours at an offset, with per-centre shifts of the fine values (bias correction)."""

    def __init__(self, win: Offsets, f1, c1, f2, c2, shift):
        self.win, self.shift = win, shift
        pairs = _shift_pairs(f1, c1, f2, c2)
        self.pairs = [pairs[:2], pairs[2:]]
        self.sum_ = np.empty(win.shape, np.float32)
        self.ratio = np.empty(win.shape, np.float32)
        self.second = np.empty(win.shape, np.float32)

    def at(self, dy: int, dx: int, out: np.ndarray) -> np.ndarray:
        """Write |(F1' - C1)/(F1' + C1)| + |(F2' - C2)/(F2' + C2)| into ``out``, F' = F + shift."""
        win, sum_, ratio = self.win, self.sum_, self.ratio
        for (difference, total), bias, target in zip(self.pairs, self.shift, (out, self.second)):
            np.add(win.at(difference, dy, dx), bias, out=ratio)
            np.add(win.at(total, dy, dx), bias, out=sum_)
            np.divide(ratio, sum_, out=ratio)
            np.abs(ratio, out=target)
        out += self.second
        return out


def _shift_pairs(f1, c1, f2, c2):
    """[F1 - C1, F1 + C1, F2 - C2, F2 + C2] (float32 K) for the shifted dissimilarity.

    F' - C = (F - C) + b and F' + C = (F + C) + b; no-data pixels are never
    similar, they get harmless finite values so that their (unused) weights
    stay finite.
    """
    pairs = []
    for fine, coarse in ((f1, c1), (f2, c2)):
        valid = np.isfinite(fine) & np.isfinite(coarse)
        pairs += [np.where(valid, fine - coarse, np.float32(0)),
                  np.where(valid, fine + coarse, np.float32(2 * FILL_K))]
    return pairs


def _dissimilarity(f1, c1, f2, c2) -> np.ndarray:
    """1 - S = (|(F1 - C1)/(F1 + C1)| + |(F2 - C2)/(F2 + C2)|) / 2, float32; 1 where no-data.

    Temperatures are positive Kelvin, so 1 - S lies in [0, 1) and never needs
    the original's correction of abnormal correlations.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.float32(0.5) * (np.abs((f1 - c1) / (f1 + c1)) + np.abs((f2 - c2) / (f2 + c2)))
    out[~np.isfinite(out)] = 1.0
    return out.astype(np.float32, copy=False)


def check_second_pair(fine_ref2: str, coarse_ref2: str) -> None:
    """InputError naming FINE_REF2 / COARSE_REF2 when a path of the second pair is empty."""
    missing = [name for name, path in (("FINE_REF2", fine_ref2), ("COARSE_REF2", coarse_ref2)) if not path]
    if missing:
        raise InputError(f"ESTARFM needs two reference pairs; {' and '.join(missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} missing. With a single pair use STARFM "
                         "(lstfusion:starfm).")


def run_estarfm(fine_ref: str, coarse_ref: str, fine_ref2: str, coarse_ref2: str,
                coarse_target: str, out_path: str, params: Optional[EstarfmParams] = None,
                dates: Optional[Sequence[Optional[_dt.date]]] = None,
                progress: Optional[Progress] = None, part: Optional[Part] = None) -> Dict:
    """ESTARFM from files on one grid to a Float32 GeoTIFF in the inputs' units (``part``: only
    that strip of tiles, see ``run_tiled``).

    ``dates``: (first pair, second pair, target), each a date or None; missing
    dates are read from the file names (YYYYMMDD, YYYY-MM-DD or MODIS
    AYYYYDDD). Returns {'units', 'thresholds' (K), 'predicted', 'fallback',
    'revised', 'converted', 'dropped' (input pixels outside ``PHYSICAL_RANGE_K``),
    'valid_fraction'}. Raises InputError for
    a missing second pair, a target outside the reference dates, inputs on
    different grids or in different units, or no pixel valid in all inputs.
    """
    params = params or EstarfmParams()
    params.check()
    progress = ensure(progress)
    check_second_pair(fine_ref2, coarse_ref2)
    paths = {"FINE_REF": fine_ref, "COARSE_REF": coarse_ref, "FINE_REF2": fine_ref2,
             "COARSE_REF2": coarse_ref2, "COARSE_TARGET": coarse_target}
    given = list(dates or (None, None, None))
    ref1 = given[0] or date_from_path(fine_ref) or date_from_path(coarse_ref)
    ref2 = given[1] or date_from_path(fine_ref2) or date_from_path(coarse_ref2)
    target = given[2] or date_from_path(coarse_target)
    check_target_between(ref1, ref2, target)
    inputs = open_inputs(paths)
    stats = input_stats(inputs, progress.sub(0, 5))
    progress.info(stats.dropped_message())
    thresholds = [2.0 * stats.std[name] / params.num_classes for name in ("FINE_REF", "FINE_REF2")]
    offset = float(np.round(stats.mean["FINE_REF"]))
    progress.info(f"ESTARFM{' with local bias correction' if params.bias_correction else ''}: "
                  f"window {2 * params.half_window + 1} x {2 * params.half_window + 1} pixels, "
                  f"similarity thresholds {thresholds[0]:.3f} K and {thresholds[1]:.3f} K, "
                  f"units {inputs.units}.")

    def kernel(blocks, tile_progress):
        return estarfm_tile(blocks, params, thresholds, offset, tile_progress)

    metadata = {"LST_FUSION_METHOD": "ubESTARFM" if params.bias_correction else "ESTARFM",
                **{f"ESTARFM_{k.upper()}": v for k, v in asdict(params).items()},
                **{f"DATE_{k}": str(v) for k, v in (("REF", ref1), ("REF2", ref2), ("TARGET", target)) if v}}
    counters = run_tiled(inputs, out_path, kernel, params.half_window, params.tile_size,
                         metadata, progress.sub(5, 100), part=part)
    rows, cols = inputs.grid.shape
    return {"units": inputs.units, "thresholds": thresholds, "dropped": sum(stats.dropped.values()),
            "valid_fraction": counters["predicted"] / float(rows * cols), **counters}


def predict_plan(plan, out_path: str, settings: Dict, progress: Progress) -> Dict:
    """ESTARFM (ubESTARFM with ``bias_correction``) for one planned date: the pair before and after."""
    first, second = plan.references
    return run_estarfm(first.fine, first.coarse, second.fine, second.coarse, plan.target.coarse, out_path,
                       EstarfmParams(**settings), dates=(first.date, second.date, plan.date),
                       progress=progress)
