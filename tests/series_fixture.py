"""A small fused series (simulated, STARFM), shared by the series-loading and pixel time-series tests."""
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.simulation.simulate import simulate_series
from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series
from lst_fusion_plugin.workflows.methods import FusionMethod


def fused_series(folder):
    """(simulation result, series folder): 64 x 64 pixels, 6 days, fine images on days 0 and 4."""
    sim = simulate_series(str(folder / "sim"), rows=64, cols=64, days=6, seed=3, cloud_fraction=0.0,
                          revisit=4)
    method = FusionMethod("starfm")
    plans = plan_series(read_pairs(sim.pairs), method.pairs_needed())
    out = str(folder / "series")
    run_series(plans, method.predict, out, pairs_path=sim.pairs)
    return sim, out
