"""The real-like variability: weak coarse-fine change link, moving bias, land-cover discrepancy; old settings unchanged."""
import hashlib
import json

import numpy as np
import pytest

from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.evaluation.realism import bias_change, change_correlation, image_std, unexplained_change_std
from lst_fusion_plugin.simulation.discrepancy import CLASS_DISCREPANCY, MAX_VIEW_ZENITH, make_discrepancy
from lst_fusion_plugin.simulation.forcing import VARIABILITY
from lst_fusion_plugin.simulation.landscape import WATER
from lst_fusion_plugin.simulation.simulate import simulate_series

BEFORE_REAL = {  # sha256 of every coarse, fine and truth array, computed before 'real' was added
    "low": "0ead998f317ae0364041f861ee7d42b0dcf320dbd8d0b47ca576acf08893cdb1",
    "medium": "5b5bf65c6de3c6efb2bd54f866ccb59ed375837397c397fb304793f8f8b87dcf",
    "high": "1d7e73857e22f17bf59879bfe3f1c77bc8c89237775292235d02b6e4788aeac4",
}


@pytest.mark.parametrize("level", sorted(BEFORE_REAL))
def test_earlier_settings_give_the_same_arrays_as_before_real_existed(tmp_path, level):
    result = simulate_series(str(tmp_path / level), rows=96, cols=96, days=20, revisit=8, seed=3,
                             cloud_fraction=0.3, variability=level)
    digest = hashlib.sha256()
    for kind in (result.coarse, result.fine, result.truth):
        for date in sorted(kind):
            digest.update(read_array(kind[date]).tobytes())
    assert digest.hexdigest() == BEFORE_REAL[level]
    with open(result.metadata, encoding="utf-8") as handle:
        assert "coarse_discrepancy" not in json.load(handle)


def pair_figures(result):
    """Per pair of consecutive fine dates: (change correlation, unexplained std, bias change); fine stds."""
    dates = sorted(result.fine)
    fine = {d: read_array(result.fine[d]) for d in dates}
    coarse = {d: read_array(result.coarse_on_fine[d]) for d in dates}
    pairs = [(fine[a], fine[b], coarse[a], coarse[b]) for a, b in zip(dates, dates[1:])]
    return (np.array([change_correlation(*p) for p in pairs]),
            np.array([unexplained_change_std(*p) for p in pairs]),
            np.array([bias_change(*p) for p in pairs]),
            np.array([image_std(fine[d]) for d in dates]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_real_setting_links_coarse_and_fine_change_weakly_and_moves_the_bias_by_kelvins(tmp_path, seed):
    figures = {}
    for level in ("medium", "real"):
        result = simulate_series(str(tmp_path / level), rows=128, cols=128, days=65, revisit=16,
                                 cloud_fraction=0.0, seed=seed, variability=level, write_truth=False)
        figures[level] = pair_figures(result)
    corr, unexplained, moves, fine_std = figures["real"]
    assert corr.size == 4
    # Yanco: correlation 0.39, unexplained 2.29 K, bias change +4.4 K, fine std 2.1-2.6 K
    assert 0.1 <= np.median(corr) <= 0.6, corr
    assert np.median(corr) < np.median(figures["medium"][0]) - 0.15
    assert np.all((unexplained > 1.2) & (unexplained < 4.0)), unexplained
    assert 1.5 <= np.sqrt(np.mean(moves ** 2)) <= 6.0 and np.abs(moves).max() > 2.0, moves
    assert np.sqrt(np.mean(figures["medium"][2] ** 2)) < 1.2
    assert 1.5 <= np.median(fine_std) <= 4.5 and np.median(fine_std) < np.median(figures["medium"][3])


def test_discrepancy_depends_on_date_and_land_cover_and_repeats_with_the_orbit():
    days = 2000
    real = VARIABILITY["real"]
    d = make_discrepancy(np.random.default_rng(0), days, np.ones(days), real.class_bias,
                         real.date_bias_std, real.coarse_error_std)
    np.testing.assert_allclose(d.scan[16:], d.scan[:-16], atol=1e-9)  # Terra's 16-day repeat
    assert np.all((d.view_zenith >= 0) & (d.view_zenith <= MAX_VIEW_ZENITH))
    # MODIS sees the pixel from 30 min before Landsat (west swath edge) to 70 min after (east edge);
    # 16 scan positions, 1/8 of the swath apart, fall within 0.105 h of each end
    assert -0.5 <= d.time_lag.min() < -0.39 and 70 / 60 - 0.105 < d.time_lag.max() <= 70 / 60
    codes = sorted(CLASS_DISCREPANCY)
    spread = d.by_class[:, codes].max(axis=1) - d.by_class[:, codes].min(axis=1)
    assert spread.min() > 0.5 and spread.max() > 3.0  # about 3 K between land covers on some dates
    land = [code for code in codes if code != WATER]
    assert np.std(d.by_class[:16, land], axis=0).min() > 0.15  # every land class's part moves with the date
    assert np.std(d.by_class[:16, WATER]) < 0.1  # water barely: no canopy, slow heating
    assert np.std(d.date_bias) == pytest.approx(real.date_bias_std, rel=0.1)
    assert np.corrcoef(d.date_bias[1:], d.date_bias[:-1])[0, 1] == pytest.approx(0.3, abs=0.08)
    off = make_discrepancy(np.random.default_rng(0), 30, np.ones(30), 0.0, 0.0, 0.0)
    assert not off.active and d.active


def test_real_simulation_records_its_discrepancy_and_its_bias_table(tmp_path):
    result = simulate_series(str(tmp_path / "real"), rows=64, cols=64, days=6, cloud_fraction=0.0,
                             seed=4, variability="real")
    with open(result.metadata, encoding="utf-8") as handle:
        meta = json.load(handle)
    recorded = meta["coarse_discrepancy"]
    assert len(recorded["view_zenith_deg"]) == 6 and set(recorded["by_class_k"]) >= {"urban", "forest"}
    assert meta["variability"]["name"] == "real" and meta["variability"]["contrast"] == 0.5
    biases = [result.daily[date]["coarse_bias"] for date in result.dates]
    assert np.std(biases) > 0.5  # the whole-scene part moves from day to day (medium: 0.6 K over months)


def test_processing_offers_the_real_like_setting_by_name(processing, tmp_path):
    from qgis.core import QgsApplication
    algorithm = QgsApplication.processingRegistry().algorithmById("lstfusion:simulate")
    options = algorithm.parameterDefinition("VARIABILITY").options()
    assert options[:3] == ["Low", "Medium", "High"] and options[3].startswith("Real-like")
    assert "Real-like: calibrated on real MODIS/Landsat pairs" in algorithm.shortHelpString()
    result = processing.run("lstfusion:simulate", {"DATES": 3, "ROWS": 64, "COLS": 64, "VARIABILITY": 3,
                                                   "CLOUD_FRACTION": 0.0, "OUTPUT_FOLDER": str(tmp_path / "s")})
    with open(f"{result['OUTPUT_FOLDER']}/simulation.json", encoding="utf-8") as handle:
        assert json.load(handle)["settings"]["variability"] == "real"
