"""fuseseries and one large scene on a Dask LocalCluster vs in this process (the CLUSTER parameter).

    .venv/bin/python benchmarks/bench_cluster.py [--size 2000] [--dates 8] [--scene 4000] [--workers 2]

Simulates a size x size series (fine images on days 0 and 16) and predicts the
first N coarse-only dates with ESTARFM, once in one process and once with
CLUSTER=local:W; then one scene x scene ESTARFM prediction (the series' inputs
tiled 2 x 2 when scene = 2 size), in one process and in strips on local:W.
Each run is its own child process. Reports wall time (without the cluster's
start, reported apart), speed-up, parallel efficiency (speed-up / W), the peak
memory of the in-process run and of each worker, and the scheduler's overhead
per unit: (W x wall - the units' summed compute time) / units, i.e. the time a
worker was not computing a unit (scheduling, transfers, the engine's import and
numba's compilation on each worker, idle workers at the end), per unit.
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
sys.path.insert(0, os.path.join(REPO, ".build", "plugins"))


def child(task: dict) -> dict:
    """Run one configuration here; its numbers."""
    from lst_fusion_plugin.common.pairs import read_pairs
    from lst_fusion_plugin.models.classical.estarfm import run_estarfm
    from lst_fusion_plugin.workflows.cluster import open_runner
    from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series
    from lst_fusion_plugin.workflows.methods import FusionMethod
    from lst_fusion_plugin.workflows.scene_parts import run_scene

    started = time.perf_counter()
    with open_runner(task["cluster"]) as runner:
        ready = time.perf_counter()
        client = getattr(runner, "client", None)
        stream = None
        if client is not None:
            from distributed import get_task_stream
            stream = get_task_stream(client)
            stream.__enter__()
        t0 = time.perf_counter()
        if task["kind"] == "series":
            method = FusionMethod("estarfm")
            targets = [dt.date.fromisoformat(d) for d in task["dates"]]
            plans = plan_series(read_pairs(task["pairs"]), 2, targets)
            units = len(run_series(plans, method.predict, task["out"], overwrite=True, runner=runner)["predicted"])
        else:
            inputs = dict(task["inputs"], dates=[dt.date.fromisoformat(d) for d in task["inputs"]["dates"]])
            result = run_scene(run_estarfm, inputs, task["out"], runner)
            units = 1 if client is None else 2 * runner.workers
        seconds = time.perf_counter() - t0
        numbers = {"seconds": seconds, "start": ready - started, "units": units,
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
        if task["kind"] == "scene":
            numbers["valid_fraction"] = result["valid_fraction"]
        if client is not None:
            stream.__exit__(None, None, None)
            compute = sum(s["stop"] - s["start"] for t in stream.data for s in t["startstops"]
                          if s["action"] == "compute" and t["key"].startswith("lstfusion"))
            numbers["compute"] = compute
            numbers["worker_peak_mb"] = sorted(v / 1024.0 for v in client.run(
                lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values())
    return numbers


def measure(task: dict) -> dict:
    """Run ``task`` in a child process; its numbers."""
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)], capture_output=True,
                          text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def tiled_scene(series, size: int, factor: int, folder: str) -> dict:
    """ESTARFM inputs (days 0 and 16, target day 8) tiled factor x factor: (size factor)^2 pixels."""
    import numpy as np
    from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units, write_array

    chosen = {"fine_ref": series.fine[series.dates[0]], "coarse_ref": series.coarse_on_fine[series.dates[0]],
              "fine_ref2": series.fine[series.dates[16]], "coarse_ref2": series.coarse_on_fine[series.dates[16]],
              "coarse_target": series.coarse_on_fine[series.dates[8]]}
    inputs = {}
    for name, path in chosen.items():
        grid = read_grid(path)
        big = grid.__class__(grid.crs_wkt, grid.transform, size * factor, size * factor)
        inputs[name] = write_array(os.path.join(folder, f"{name}.tif"), np.tile(read_array(path), (factor, factor)),
                                   big, units=read_units(path))
    inputs["dates"] = [series.dates[0], series.dates[16], series.dates[8]]
    return inputs


def report(title: str, here: dict, there: dict, workers: int) -> None:
    speedup = here["seconds"] / there["seconds"]
    overhead = (workers * there["seconds"] - there["compute"]) / there["units"]
    print(f"{title}")
    print(f"  in-process  {here['seconds']:8.1f} s   peak {here['peak_mb']:6.0f} MB")
    print(f"  local:{workers}     {there['seconds']:8.1f} s   (cluster start {there['start']:.1f} s; client peak "
          f"{there['peak_mb']:.0f} MB; worker peaks {', '.join(f'{m:.0f}' for m in there['worker_peak_mb'])} MB)")
    print(f"  speed-up {speedup:.2f}x, parallel efficiency {100 * speedup / workers:.0f} %, "
          f"{there['units']} units, scheduler overhead {overhead:.2f} s per unit")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--dates", type=int, default=8)
    parser.add_argument("--scene", type=int, default=4000, help="a multiple of --size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", help="folder for the simulation (reused when it holds one)")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    from lst_fusion_plugin.simulation.simulate import load_simulation, simulate_series
    work = args.work or tempfile.mkdtemp(prefix="bench_cluster_")
    sim = os.path.join(work, f"sim{args.size}")
    started = time.perf_counter()
    try:
        series = load_simulation(sim)
    except Exception:  # noqa: BLE001 (no simulation there yet)
        series = simulate_series(sim, rows=args.size, cols=args.size, days=17, seed=3, cloud_fraction=0.0,
                                 write_truth=False)
    print(f"series {args.size} x {args.size} x 17 days ready in {time.perf_counter() - started:.0f} s; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    dates = [d for d in series.dates if d not in series.fine][:args.dates]
    cluster = f"local:{args.workers}"
    task = {"kind": "series", "pairs": series.pairs, "dates": dates}
    here = measure(dict(task, cluster="", out=os.path.join(work, "series_here")))
    there = measure(dict(task, cluster=cluster, out=os.path.join(work, "series_cluster")))
    report(f"fuseseries ESTARFM, {len(dates)} dates of {args.size} x {args.size}", here, there, args.workers)

    factor = max(1, args.scene // args.size)
    folder = os.path.join(work, f"scene{args.size * factor}")
    os.makedirs(folder, exist_ok=True)
    task = {"kind": "scene", "inputs": tiled_scene(series, args.size, factor, folder)}
    here = measure(dict(task, cluster="", out=os.path.join(folder, "here.tif")))
    there = measure(dict(task, cluster=cluster, out=os.path.join(folder, "cluster.tif")))
    report(f"one ESTARFM scene of {args.size * factor} x {args.size * factor} in strips", here, there,
           args.workers)
    import numpy as np
    from lst_fusion_plugin.common.raster_io import read_array
    same = np.array_equal(read_array(os.path.join(folder, "here.tif")), read_array(os.path.join(folder, "cluster.tif")),
                          equal_nan=True)
    print(f"  identical pixels: {same}")


if __name__ == "__main__":
    main()
