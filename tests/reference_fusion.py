"""Slow, per-pixel reference implementations of STARFM and ESTARFM: the oracles of the fast kernels.

Written for clarity from the methods' descriptions (see the docstrings of
models/starfm.py and models/estarfm.py), in float64, one centre pixel and
one window at a time, sharing no code with the fast kernels. Inputs are
whole (rows, cols) arrays in Kelvin with NaN as no-data; outputs likewise.
"""
import numpy as np
from scipy import stats

PHYSICAL = (150.0, 400.0)
"""Inputs outside this range (K) are no-data; the valid range only revises predictions."""


def _valid(arrays):
    """Pixels that are finite and physically possible in every array."""
    ok = np.ones(arrays[0].shape, bool)
    for a in arrays:
        with np.errstate(invalid="ignore"):
            ok &= np.isfinite(a) & (a >= PHYSICAL[0]) & (a <= PHYSICAL[1])
    return ok


def _fine_std(fine):
    """Population standard deviation of a fine image's physically possible pixels."""
    values = fine[_valid([fine])]
    return float(np.std(values.astype(np.float64)))


def starfm_reference(fine, coarse, coarse_t, half_window=15, num_classes=4.0, distance_scale=0.0,
                     fine_uncertainty=1.0, coarse_uncertainty=1.0, valid_min=250.0, valid_max=350.0,
                     rows=None):
    """STARFM, pixel by pixel. ``rows``: only predict these rows (others stay NaN), to time a subset."""
    f, c, c0 = (np.asarray(a, np.float64) for a in (fine, coarse, coarse_t))
    ok = _valid([f, c, c0])
    threshold = 2.0 * _fine_std(fine) / num_classes
    scale = distance_scale or half_window
    tol_s = np.hypot(fine_uncertainty, coarse_uncertainty)
    tol_t = np.sqrt(2.0) * coarse_uncertainty
    n_rows, n_cols = f.shape
    out = np.full((n_rows, n_cols), np.nan)
    h = half_window
    for i in (range(n_rows) if rows is None else rows):
        for j in range(n_cols):
            if not ok[i, j]:
                continue
            s_centre, t_centre = abs(f[i, j] - c[i, j]), abs(c[i, j] - c0[i, j])
            weights, values, fines = [], [], []
            for k in range(max(0, i - h), min(n_rows, i + h + 1)):
                for m in range(max(0, j - h), min(n_cols, j + h + 1)):
                    if not ok[k, m]:
                        continue
                    s_k, t_k = abs(f[k, m] - c[k, m]), abs(c[k, m] - c0[k, m])
                    is_centre = (k, m) == (i, j)
                    candidate = (abs(f[k, m] - f[i, j]) < threshold and s_k < s_centre + tol_s
                                 and t_k < t_centre + tol_t)
                    if not (candidate or is_centre):
                        continue
                    distance = 1.0 + np.hypot(k - i, m - j) / scale
                    weights.append(1.0 / ((s_k + 1e-4) * (t_k + 1e-4) * distance))
                    values.append(f[k, m] + c0[k, m] - c[k, m])
                    fines.append(f[k, m])
            weights = np.array(weights) / np.sum(weights)
            value = np.sum(weights * np.array(values))
            if value <= valid_min or value >= valid_max:  # revised: the candidates' weighted fine mean
                value = np.sum(weights * np.array(fines))
            out[i, j] = value
    return out


def estarfm_reference(fine1, coarse1, fine2, coarse2, coarse_t, half_window=25, num_classes=4.0,
                      valid_min=250.0, valid_max=350.0, bias_correction=False,
                      min_coarse_change=7.0, significance=0.05, max_conversion=5.0, rows=None):
    """ESTARFM (optionally with ubESTARFM's local bias correction), pixel by pixel.

    ``rows``: only predict these rows (others stay NaN), to time a subset.
    """
    f1, c1, f2, c2, c0 = (np.asarray(a, np.float64) for a in (fine1, coarse1, fine2, coarse2, coarse_t))
    ok = _valid([f1, c1, f2, c2, c0])
    th1 = 2.0 * _fine_std(fine1) / num_classes
    th2 = 2.0 * _fine_std(fine2) / num_classes
    n_rows, n_cols = f1.shape
    out = np.full((n_rows, n_cols), np.nan)
    h = half_window
    for i in (range(n_rows) if rows is None else rows):
        for j in range(n_cols):
            if not ok[i, j]:
                continue
            r0, r1, q0, q1 = max(0, i - h), min(n_rows, i + h + 1), max(0, j - h), min(n_cols, j + h + 1)
            win_ok = ok[r0:r1, q0:q1]
            w_f1, w_c1, w_f2, w_c2, w_c0 = (a[r0:r1, q0:q1] for a in (f1, c1, f2, c2, c0))
            # temporal weights from the mean coarse change over the valid window
            change1 = np.mean(w_c0[win_ok]) - np.mean(w_c1[win_ok])
            change2 = np.mean(w_c0[win_ok]) - np.mean(w_c2[win_ok])
            inv1, inv2 = 1.0 / (abs(change1) + 1e-10), 1.0 / (abs(change2) + 1e-10)
            t1, t2 = inv1 / (inv1 + inv2), inv2 / (inv1 + inv2)

            with np.errstate(invalid="ignore"):
                similar = (win_ok & (np.abs(w_f1 - f1[i, j]) < th1) & (np.abs(w_f2 - f2[i, j]) < th2))
            n = int(similar.sum())
            if n <= 5:
                b1 = b2 = 0.0
                if bias_correction:
                    b1 = np.mean(w_c1[win_ok]) - np.mean(w_f1[win_ok])
                    b2 = np.mean(w_c2[win_ok]) - np.mean(w_f2[win_ok])
                out[i, j] = t1 * (f1[i, j] + b1 + change1) + t2 * (f2[i, j] + b2 + change2)
                continue

            sf1, sc1, sf2, sc2, sc0 = (a[similar] for a in (w_f1, w_c1, w_f2, w_c2, w_c0))
            centre1, centre2 = f1[i, j], f2[i, j]
            if bias_correction:
                b1, b2 = np.mean(sc1) - np.mean(sf1), np.mean(sc2) - np.mean(sf2)
                sf1, sf2 = sf1 + b1, sf2 + b2
                centre1, centre2 = centre1 + b1, centre2 + b2
            s = 1.0 - 0.5 * (np.abs((sf1 - sc1) / (sf1 + sc1)) + np.abs((sf2 - sc2) / (sf2 + sc2)))
            rr, qq = np.nonzero(similar)
            distance = 1.0 + np.hypot(rr + r0 - i, qq + q0 - j) / h
            combined = (1.0 - s) * distance + 1e-7
            weight = (1.0 / combined) / np.sum(1.0 / combined)

            v = 1.0
            if not bias_correction and abs(np.mean(sc1) - np.mean(sc2)) >= min_coarse_change:
                x = np.concatenate([sc1, sc2])
                y = np.concatenate([sf1, sf2])
                if np.ptp(x) > 0 and np.ptp(y) > 0:
                    fit = stats.linregress(x, y)
                    if fit.pvalue <= significance and 0 < fit.slope <= max_conversion:
                        v = fit.slope
            pred1 = centre1 + np.sum(weight * v * (sc0 - sc1))
            pred2 = centre2 + np.sum(weight * v * (sc0 - sc2))
            value = t1 * pred1 + t2 * pred2
            if value <= valid_min or value >= valid_max:
                value = t1 * np.sum(weight * sf1) + t2 * np.sum(weight * sf2)
            out[i, j] = value
    return out
