"""Split-conformal quantiles, calibrations and interval scores against independent computations."""
import math

import numpy as np
import pytest
from scipy import stats

from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.evaluation.conformal import (LEVELS, MIN_GROUP_SCORES, calibrate, conformal_quantile,
                                                    interval_scores, load_calibration, save_calibration,
                                                    scores_of, spearman)


def brute_force_quantile(scores, level):
    """Smallest score t with #{s <= t} >= (n + 1) level, by trying every score."""
    n = len(scores)
    for t in sorted(scores):
        if sum(1 for s in scores if s <= t) >= (n + 1) * level - 1e-9:
            return t
    return math.inf


@pytest.mark.parametrize("n", [1, 9, 10, 19, 37, 100])
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95])
def test_quantile_matches_brute_force_with_finite_sample_correction(n, level):
    scores = list(np.random.default_rng(n).exponential(size=n))
    assert conformal_quantile(np.array(scores), level) == brute_force_quantile(scores, level)


def test_quantile_correction_values():
    scores = np.arange(1.0, 11.0)  # n = 10
    assert conformal_quantile(scores, 0.9) == 10.0  # k = ceil(11 * 0.9) = 10: the largest
    assert conformal_quantile(scores, 0.95) == math.inf  # k = ceil(10.45) = 11 > n: no quantile
    assert conformal_quantile(np.arange(1.0, 20.0), 0.9) == 18.0  # n = 19: k = ceil(18) = 18
    assert conformal_quantile(np.array([3.0, np.nan, 1.0, 2.0]), 0.5) == 2.0  # NaN ignored, k = 2


def test_interval_covers_heteroscedastic_errors_at_the_stated_level():
    rng = np.random.default_rng(0)
    covered = []
    for _ in range(200):
        spread = rng.uniform(0.2, 3.0, 120)
        errors = spread * rng.standard_t(3, 120)  # heavy tails, scale proportional to the spread
        cal = calibrate(np.abs(errors[:100]) / spread[:100])
        half = cal.half_width(spread[100:], 0.9)
        covered.append(np.mean(np.abs(errors[100:]) <= half))
    # marginal guarantee: 0.9 <= E[coverage] <= 0.9 + 1 / (n + 1)
    assert 0.88 <= np.mean(covered) <= 0.93


def test_groups_get_their_own_quantiles_and_small_ones_fall_back_to_pooled():
    rng = np.random.default_rng(1)
    scores = np.r_[rng.exponential(1.0, 1000), rng.exponential(3.0, MIN_GROUP_SCORES), rng.exponential(9.0, 5)]
    groups = np.r_[np.full(1000, 1), np.full(MIN_GROUP_SCORES, 2), np.full(5, 3)]
    cal = calibrate(scores, groups)
    assert cal.quantile(0.9, 1) == conformal_quantile(scores[:1000], 0.9)
    assert cal.quantile(0.9, 2) == conformal_quantile(scores[groups == 2], 0.9)
    assert cal.quantile(0.9, 3) == cal.quantile(0.9) == conformal_quantile(scores, 0.9)
    assert cal.counts == {"all": 1205, "1": 1000, "2": MIN_GROUP_SCORES, "3": 5}
    half = cal.half_width(np.array([1.0, 1.0, 2.0]), 0.9, np.array([1, 2, 3]))
    np.testing.assert_allclose(half, [cal.quantile(0.9, 1), cal.quantile(0.9, 2), 2 * cal.quantile(0.9)])


def test_levels_between_stored_ones_round_up_and_bad_levels_are_refused():
    cal = calibrate(np.random.default_rng(2).exponential(size=500))
    assert cal.quantile(0.905) == cal.quantile(0.91) > cal.quantile(0.9)
    assert 0.9 in LEVELS and 0.99 in LEVELS
    for bad in (0.3, 0.995, 1.2):
        with pytest.raises(InputError, match="interval level"):
            cal.quantile(bad)
    with pytest.raises(InputError, match="too small"):
        calibrate(np.arange(1.0, 11.0)).quantile(0.95)


def test_save_and_load_round_trip(tmp_path):
    cal = calibrate(np.random.default_rng(3).exponential(size=300), np.r_[np.ones(250), np.zeros(50)],
                    method="estarfm", dates=["2020-01-05"], details={"spread": "x"})
    path = save_calibration(str(tmp_path / "calibration.json"), cal)
    back = load_calibration(path)
    assert back.quantiles == cal.quantiles and back.counts == cal.counts
    assert back.method == "estarfm" and back.dates == ["2020-01-05"]
    (tmp_path / "other.json").write_text('{"format": "something"}')
    with pytest.raises(InputError, match="not a calibration"):
        load_calibration(str(tmp_path / "other.json"))
    with pytest.raises(InputError, match="not found"):
        load_calibration(str(tmp_path / "missing.json"))


def test_scores_coverage_and_spearman():
    pred = np.array([1.0, 2.0, 3.0, np.nan, 5.0])
    truth = np.array([1.5, 1.0, 3.0, 4.0, 9.0])
    spread = np.array([0.5, 2.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(scores_of(pred, truth, spread), [1.0, 0.5, np.nan, np.nan, 4.0])
    result = interval_scores(pred, truth, np.array([0.5, 0.5, 1.0, 1.0, 1.0]))
    assert result["pixels"] == 4 and result["coverage"] == 0.5 and result["mean_half_width"] == 0.75
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=300), rng.normal(size=300)
    b[:40] = np.round(b[:40])  # ties
    assert spearman(a + b, b) == pytest.approx(stats.spearmanr(a + b, b)[0], abs=1e-12)
