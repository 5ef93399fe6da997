"""Optional numba kernel for ESTARFM's window sums over similar pixels.

The numpy path (``estarfm._Similar``) visits every window offset and passes
over the whole tile each time; memory traffic limits it. This kernel fuses
the same computation into one compiled loop that stays in the CPU cache:

    for each centre row r (core coordinates, padded row r + h):
        for each offset (dy, dx) of the (2h + 1) x (2h + 1) window:
            mask[c]   = 1 where |F1(n) - F1(c)| < th1 and |F2(n) - F2(c)| < th2
                        (n: the neighbour at (dy, dx) of centre c; NaN = no-data fails)
            weight[c] = mask / ((1 - S(n)) D + 1e-7), D = 1 + d / h   (float32)
            sums[0] += mask; sums[1] += weight; sums[2 + k] += weight * values[k](n), k = 0, 1
            plain[j] += mask * plain_values[j](n)   (centres in a box only)

Inputs are padded float32 tiles (rows + 2h, cols + 2h) in K (or centred K),
NaN in F1, F2 where any input is no-data, the other images 0 (or harmless
finite values) there. Sums are float64 (rows, cols) (plain: the box's shape).
With ``shift`` (bias correction) 1 - S uses per-centre shifted fine values:
2 (1 - S) = |(F1 - C1 + b1)/(F1 + C1 + b1)| + |(F2 - C2 + b2)/(F2 + C2 + b2)|.

The kernel runs on one thread and releases the GIL: the tiles are already
computed by two worker threads (``classical.run_tiled``); a parallel
(``prange``) kernel called from two threads at once is not supported by
numba's default threading layer. ``kernel()`` returns None when numba is
missing or disabled (``LST_FUSION_NO_NUMBA=1``): callers then use numpy.
"""
import os

import numpy as np

WEIGHT_EPSILON = np.float32(1e-7)
"""estarfm.WEIGHT_EPSILON as float32 (a float64 constant would turn the float32 loops into float64)."""
_compiled = None


def kernel():
    """The compiled ``_window_sums`` function, or None without numba (or with LST_FUSION_NO_NUMBA=1)."""
    global _compiled
    if os.environ.get("LST_FUSION_NO_NUMBA", "") not in ("", "0"):
        return None
    if _compiled is None:
        try:
            import numba
        except ImportError:
            return None
        # the machine code is cached beside this module, or in numba's user cache folder when
        # that is read-only (NUMBA_CACHE_DIR overrides both); numba refuses cache=True when
        # neither is writable: then each session compiles once (about 1.5 s)
        try:
            _compiled = numba.njit(nogil=True, cache=True, error_model="numpy")(_window_sums)
        except RuntimeError:
            _compiled = numba.njit(nogil=True, error_model="numpy")(_window_sums)
    return _compiled


def _window_sums(f1, f2, th1, th2, mode, dissimilarity, pairs, shift, scales, values, plain_values,
                 box, row_start, row_stop, sums, plain):
    """Add the window sums of core rows [row_start, row_stop) into ``sums`` and ``plain``.

    f1, f2: padded float32 fine images, NaN where no-data; th1, th2: float32
    thresholds (K). mode: 0 no weights (sums[1:] stay 0), 1 weights from
    ``dissimilarity`` (padded float32 1 - S), 2 from ``pairs`` (4, padded):
    F1 - C1, F1 + C1, F2 - C2, F2 + C2, shifted by ``shift`` (2, rows, cols).
    scales: (2h + 1, 2h + 1) float32 factor per offset multiplying 1 - S (D,
    or D / 2 in mode 2). values: (2, padded) float32 (weighted; unused in
    mode 0); plain_values: (m, padded) float32 summed (unweighted) for the
    centres in ``box`` = (row0, row1, col0, col1). sums: (4, rows, cols)
    float64 (n, w, w values[0], w values[1]); plain: (m, row1 - row0, col1 -
    col0) float64. As in the numpy path, each window row is summed in float32
    (one pass over contiguous rows that the compiler vectorises), then added
    to the float64 totals.
    """
    h = (scales.shape[0] - 1) // 2
    cols = sums.shape[2]
    col0, col1 = box[2], box[3]
    one, zero = np.float32(1.0), np.float32(0.0)
    mask, weight, shifted = np.empty(cols, np.float32), np.empty(cols, np.float32), np.empty(cols, np.float32)
    count, total = np.empty(cols, np.float32), np.empty(cols, np.float32)
    change1, change2 = np.empty(cols, np.float32), np.empty(cols, np.float32)
    plain_row = np.empty((plain_values.shape[0], col1 - col0), np.float32)
    for r in range(row_start, row_stop):
        centre1 = f1[r + h, h:h + cols]
        centre2 = f2[r + h, h:h + cols]
        in_box = box[0] <= r < box[1]
        for dy in range(-h, h + 1):
            y = r + h + dy
            count[:] = 0
            total[:] = 0
            change1[:] = 0
            change2[:] = 0
            plain_row[:] = 0
            for dx in range(-h, h + 1):
                x = h + dx
                n1 = f1[y, x:x + cols]
                n2 = f2[y, x:x + cols]
                scale = scales[dy + h, dx + h]
                # one output array per loop: the compiler vectorises such loops (it does not
                # vectorise a loop that writes several arrays that might overlap its inputs)
                if mode == 0:
                    for c in range(cols):
                        mask[c] = one if ((abs(n1[c] - centre1[c]) < th1)
                                          & (abs(n2[c] - centre2[c]) < th2)) else zero
                else:
                    if mode == 1:
                        diss = dissimilarity[y, x:x + cols]
                    else:
                        diss = shifted
                        d1, s1 = pairs[0, y, x:x + cols], pairs[1, y, x:x + cols]
                        d2, s2 = pairs[2, y, x:x + cols], pairs[3, y, x:x + cols]
                        b1, b2 = shift[0, r], shift[1, r]
                        for c in range(cols):
                            diss[c] = abs((d1[c] + b1[c]) / (s1[c] + b1[c]))
                        for c in range(cols):
                            diss[c] += abs((d2[c] + b2[c]) / (s2[c] + b2[c]))
                    for c in range(cols):
                        similar = (abs(n1[c] - centre1[c]) < th1) & (abs(n2[c] - centre2[c]) < th2)
                        weight[c] = (one if similar else zero) / (diss[c] * scale + WEIGHT_EPSILON)
                    # weights are positive exactly at the similar pixels
                    for c in range(cols):
                        mask[c] = one if weight[c] > zero else zero
                    for c in range(cols):
                        total[c] += weight[c]
                    v1 = values[0, y, x:x + cols]
                    for c in range(cols):
                        change1[c] += weight[c] * v1[c]
                    v2 = values[1, y, x:x + cols]
                    for c in range(cols):
                        change2[c] += weight[c] * v2[c]
                for c in range(cols):
                    count[c] += mask[c]
                if in_box:
                    box_mask = mask[col0:col1]
                    for j in range(plain_values.shape[0]):
                        image = plain_values[j, y, x + col0:x + col1]
                        out = plain_row[j]
                        for c in range(col1 - col0):
                            out[c] += box_mask[c] * image[c]
            for c in range(cols):
                sums[0, r, c] += count[c]
                sums[1, r, c] += total[c]
                sums[2, r, c] += change1[c]
                sums[3, r, c] += change2[c]
            if in_box:
                for j in range(plain_values.shape[0]):
                    for c in range(col1 - col0):
                        plain[j, r - box[0], c] += plain_row[j, c]

def similar_sums(compiled, half_window: int, f1, f2, thresholds, values, mode=0, dissimilarity=None,
                 pairs=None, shift=None, plain_values=(), box=None, progress=None, band=8):
    """Run the compiled kernel over a padded tile, ``band`` core rows per call.

    ``values``, ``plain_values``: sequences of padded float32 images (see
    ``_window_sums``); ``box``: (row slice, col slice) of the core for the
    plain sums, or None; ``progress``: reported (and cancellation checked)
    after each band. Returns (sums (4, rows, cols), plain (m, box rows,
    box cols)), float64.
    """
    h = half_window
    rows, cols = f1.shape[0] - 2 * h, f1.shape[1] - 2 * h
    empty2, empty3 = np.zeros((1, 1), np.float32), np.zeros((0, 1, 1), np.float32)
    scales = np.empty((2 * h + 1, 2 * h + 1), np.float32)
    for dy in range(-h, h + 1):
        for dx in range(-h, h + 1):
            factor = 1.0 + float(np.hypot(dy, dx)) / h
            scales[dy + h, dx + h] = np.float32(0.5 * factor if mode == 2 else factor)
    values = np.stack(values) if len(values) else np.zeros((2, 1, 1), np.float32)
    plain_values = np.stack(plain_values) if len(plain_values) else empty3
    bounds = np.zeros(4, np.int64) if box is None else np.array(
        [box[0].start, box[0].stop, box[1].start, box[1].stop], np.int64)
    sums = np.zeros((4, rows, cols))
    plain = np.zeros((plain_values.shape[0], bounds[1] - bounds[0], bounds[3] - bounds[2]))
    args = (f1, f2, np.float32(thresholds[0]), np.float32(thresholds[1]), mode,
            empty2 if dissimilarity is None else dissimilarity,
            empty3 if pairs is None else pairs, empty3 if shift is None else shift, scales,
            values, plain_values, bounds)
    for start in range(0, rows, band):
        compiled(*args, start, min(start + band, rows), sums, plain)
        if progress is not None:
            progress.step(min(start + band, rows), rows)
    return sums, plain
