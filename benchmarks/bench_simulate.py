"""Benchmark of the simulator: a 950 x 950 x 60-date series (the issue's target: under a minute).

Each configuration runs in a fresh subprocess, which reports its wall time and
peak resident memory; the output goes to a temporary folder that is removed.
Every date writes a coarse image on its MODIS grid and on the fine grid, and the
truth (or not: second configuration); every 16th date a fine image. Prints the
time, fine megapixels simulated per second (rows x cols x dates / time), the
ratio of the time with versus without writing the truth, and the naive-baseline RMSE
(fine_ref + coarse_target - coarse_ref, coarse aligned bilinearly) at each
variability on a smaller scene.

    .venv/bin/python benchmarks/bench_simulate.py
"""
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import PLUGINS_DIR as PLUGINS, link_plugin  # noqa: E402

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {plugins!r})
from lst_fusion_plugin.simulation.simulate import simulate_series
started = time.perf_counter()
result = simulate_series({folder!r}, **{settings!r})
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk({folder!r}) for f in fs)
print(json.dumps({{"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
                  "fine_images": len(result.fine), "disk_mb": size / 2 ** 20}}))
"""

NAIVE = r"""
import json, sys
import numpy as np
sys.path.insert(0, {plugins!r})
from lst_fusion_plugin.preprocessing.align import align_to_grid
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.simulation.simulate import simulate_series
out = {{}}
for level in ("low", "medium", "high"):
    result = simulate_series({folder!r} + "/" + level, rows=400, cols=400, days=49, cloud_fraction=0.0,
                             variability=level, seed=42)
    def aligned(date):
        path = {folder!r} + f"/{{level}}_{{date}}.tif"
        align_to_grid(result.coarse[date], result.fine_grid, path, "bilinear")
        return read_array(path)
    ref = result.dates[0]
    fine_ref, coarse_ref = read_array(result.fine[ref]), aligned(ref)
    errors = [float(np.sqrt(np.nanmean((fine_ref + aligned(d) - coarse_ref - read_array(result.truth[d])) ** 2)))
              for d in result.dates[1:]]
    out[level] = {{"mean": float(np.mean(errors)), "max": float(np.max(errors))}}
print(json.dumps(out))
"""


def run_child(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    link_plugin()
    print("simulate: 950 x 950 fine pixels, 60 dates, medium variability, 10 % clouds "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'configuration':<32} {'time s':>8} {'CPU s':>8} {'Mpx/s':>8} {'peak MB':>8} {'disk MB':>8}")
    cases = [("truth on every date", {"rows": 950, "cols": 950, "days": 60}),
             ("without truth rasters", {"rows": 950, "cols": 950, "days": 60, "write_truth": False})]
    times = {}
    for name, settings in cases:
        with tempfile.TemporaryDirectory() as tmp:
            stats = run_child(CHILD.format(plugins=PLUGINS, folder=os.path.join(tmp, "sim"),
                                           settings=settings))
        times[name] = stats["seconds"]
        megapixels = settings["rows"] * settings["cols"] * settings["days"] / 1e6
        print(f"{name:<32} {stats['seconds']:8.1f} {stats['cpu']:8.1f} {megapixels / stats['seconds']:8.1f} "
              f"{stats['peak_mb']:8.0f} {stats['disk_mb']:8.0f}")
    print(f"writing the truth costs {times['truth on every date'] / times['without truth rasters']:.2f}x "
          "the time without it")
    print("\nnaive baseline fine_ref + (coarse_target - coarse_ref), 400 x 400, 48 targets, no clouds:")
    with tempfile.TemporaryDirectory() as tmp:
        naive = run_child(NAIVE.format(plugins=PLUGINS, folder=tmp))
    for level, stats in naive.items():
        print(f"  {level:<7} mean RMSE {stats['mean']:5.2f} K   worst date {stats['max']:5.2f} K")


if __name__ == "__main__":
    main()
