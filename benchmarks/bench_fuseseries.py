"""fuseseries at scale: time per date and peak memory of ESTARFM and EDCSTFN over a simulated series.

    .venv/bin/python benchmarks/bench_fuseseries.py [--size 1000] [--dates 10]

Simulates a size x size series (fine images on days 0 and 16), then runs the
fuseseries engine with each method over the first N/2 and over N coarse-only
dates between the two fine dates, each run in its own process so that its
peak memory (ru_maxrss) is its own. Memory must not grow with the number of
dates: the N-date peak should equal the N/2-date peak.
"""
import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

link_plugin()
SHIPPED = os.path.join(REPO, "resources", "models", "edcstfn_default.pt")


def run_one(pairs, method, model_file, dates, out):
    """Child process: predict ``dates`` and print time and peak memory as JSON."""
    import torch
    torch.set_num_threads(2)
    from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series
    from lst_fusion_plugin.common.pairs import read_pairs
    from lst_fusion_plugin.workflows.methods import FusionMethod
    fusion = FusionMethod(method, model_file or None, device="cpu")
    targets = [dt.date.fromisoformat(d) for d in dates.split(",")]
    plans = plan_series(read_pairs(pairs), fusion.pairs_needed(), targets, fusion.falls_back_to_one_pair())
    started = time.perf_counter()
    result = run_series(plans, fusion.predict, out, overwrite=True)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "dates": len(result["predicted"]),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def measure(pairs, method, model_file, dates, out):
    """Run one configuration in a child process; its JSON result."""
    done = subprocess.run([sys.executable, __file__, "--child", pairs, method, model_file or "", ",".join(dates), out],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--dates", type=int, default=10)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        run_one(*args.child)
        return
    from lst_fusion_plugin.simulation.simulate import simulate_series
    work = tempfile.mkdtemp(prefix="bench_fuseseries_")
    started = time.perf_counter()
    series = simulate_series(os.path.join(work, "sim"), rows=args.size, cols=args.size, days=17, seed=3,
                             cloud_fraction=0.0, write_truth=False)
    print(f"simulated {args.size} x {args.size} x 17 days in {time.perf_counter() - started:.1f} s")
    between = [d for d in series.dates if d not in series.fine][:args.dates]
    half = between[:max(1, len(between) // 2)]
    print(f"{'method':<10}{'dates':>6}{'s/date':>9}{'Mpx/s':>8}{'peak MB':>9}")
    for method, model_file in (("estarfm", None), ("model", SHIPPED)):
        for dates in (half, between):
            r = measure(series.pairs, method, model_file, dates, os.path.join(work, f"{method}_{len(dates)}"))
            per_date = r["seconds"] / r["dates"]
            name = "edcstfn" if method == "model" else method
            print(f"{name:<10}{r['dates']:>6}{per_date:>9.1f}{args.size ** 2 / 1e6 / per_date:>8.3f}"
                  f"{r['peak_mb']:>9.0f}")


if __name__ == "__main__":
    main()
