"""Benchmark and real-data check of the classical fusion methods (STARFM, ESTARFM, ubESTARFM).

1. Speed on the 400 x 400 Yanco pairs, 51 x 51 window, side by side on the same input:
   the per-pixel reference of tests/reference_fusion.py (timed on a band of rows and
   extrapolated, as a full run takes minutes) and the fast tiled engine. Each run happens
   in its own subprocess, which reports wall time, CPU time and peak memory (ru_maxrss).
2. Peak memory and time of ESTARFM on a synthetic 4000 x 4000 scene.
3. Accuracy on Yanco: STARFM predicting Landsat 2016-03-08 from the 2016-02-05 pair and
   MODIS 2016-03-08 (and the reverse), against the real Landsat, next to the naive
   fine_ref + (coarse_target - coarse_ref); ESTARFM with and without bias correction for
   2016-02-18 (no Landsat that day: value statistics and agreement with MODIS).

Metrics over pixels valid in both images: RMSE = sqrt(mean((P - R)^2)), bias = mean(P - R),
ubRMSE = sqrt(RMSE^2 - bias^2) (the error left once the mean bias is removed), CC = Pearson
correlation. Usage: .venv/bin/python benchmarks/bench_classical.py [--skip-large]
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

link_plugin()
sys.path.insert(0, os.path.join(REPO, "tests"))
YANCO = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "yanco"))
FILES = {
    "FINE_REF": "Landsat_LST_cloudrm_20160205.tif",
    "COARSE_REF": "MOD11A1_LST_cloudrm_20160205.tif",
    "FINE_REF2": "Landsat_LST_cloudrm_20160308.tif",
    "COARSE_REF2": "MOD11A1_LST_cloudrm_20160308.tif",
    "COARSE_TARGET": "MOD11A1_LST_cloudrm_20160218.tif",
}
REFERENCE_ROWS = range(198, 202)


def yanco(name):
    return os.path.join(YANCO, FILES[name])


# ---------------------------------------------------------------- tasks run in subprocesses
def task_fast(method, out, bias=False, paths=None):
    from lst_fusion_plugin.models.classical.estarfm import EstarfmParams, run_estarfm
    from lst_fusion_plugin.models.classical.starfm import StarfmParams, run_starfm
    paths = paths or {name: yanco(name) for name in FILES}
    if method == "estarfm":
        return run_estarfm(*paths.values(), out, EstarfmParams(bias_correction=bias))
    return run_starfm(paths["FINE_REF"], paths["COARSE_REF"], paths["COARSE_REF2"], out,
                      StarfmParams(half_window=25))


def task_kernel_path():
    """Which ESTARFM path runs, and the time of the first kernel call (compilation or cache load)."""
    import numpy as np
    from lst_fusion_plugin.models.classical import estarfm_kernel
    compiled = estarfm_kernel.kernel()
    if compiled is None:
        return {"path": "numpy (numba missing or LST_FUSION_NO_NUMBA set)", "compile": 0.0}
    started = time.perf_counter()
    tile = np.ones((5, 5), np.float32)
    estarfm_kernel.similar_sums(compiled, 1, tile, tile, (1.0, 1.0), (tile, tile), mode=1, dissimilarity=tile)
    import numba
    return {"path": f"numba {numba.__version__} kernel", "compile": time.perf_counter() - started}


def task_reference(method, out, bias=False):
    import numpy as np
    from lst_fusion_plugin.common.raster_io import read_array, read_grid, write_array
    from reference_fusion import estarfm_reference, starfm_reference
    arrays = {name: read_array(yanco(name)) for name in FILES}
    if method == "estarfm":
        result = estarfm_reference(*arrays.values(), bias_correction=bias, rows=REFERENCE_ROWS)
    else:
        result = starfm_reference(arrays["FINE_REF"], arrays["COARSE_REF"], arrays["COARSE_REF2"],
                                  half_window=25, rows=REFERENCE_ROWS[:1])
    write_array(out, result.astype(np.float32), read_grid(yanco("FINE_REF")))
    return {"pixels": int(np.isfinite(result).sum())}


def task_large(folder):
    paths = {name: os.path.join(folder, f"{name.lower()}.tif") for name in FILES}
    return task_fast("estarfm", os.path.join(folder, "out.tif"), paths=paths)


def run_task(*args, numpy_only=False, warm_up=True):
    """Run a task in a fresh interpreter; return its result with wall, cpu and peak memory.

    With ``warm_up`` the plugin is imported and the ESTARFM kernel called once
    (JIT compilation or cache load) before the clock starts; ``numpy_only``
    disables numba.
    """
    code = ("import json, sys, time, resource; sys.argv = ['x']; import bench_classical as b; "
            f"{'b.task_kernel_path(); ' if warm_up else ''}"
            "t = time.perf_counter(); c = time.process_time(); "
            f"r = b.{args[0]}(*{list(args[1:])!r}); "
            "r = {k: v for k, v in r.items() if isinstance(v, (int, float, str))}; "
            "r.update(wall=time.perf_counter() - t, cpu=time.process_time() - c, "
            "peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); print(json.dumps(r))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    env.pop("LST_FUSION_NO_NUMBA", None)
    if numpy_only:
        env["LST_FUSION_NO_NUMBA"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- metrics
def metrics(prediction, reference):
    import numpy as np
    both = np.isfinite(prediction) & np.isfinite(reference)
    p, r = prediction[both].astype(np.float64), reference[both].astype(np.float64)
    rmse, bias = float(np.sqrt(np.mean((p - r) ** 2))), float(np.mean(p - r))
    return {"rmse": rmse, "bias": bias, "ubrmse": float(np.sqrt(max(rmse ** 2 - bias ** 2, 0.0))),
            "cc": float(np.corrcoef(p, r)[0, 1]), "n": int(both.sum())}


def line(label, m):
    """One printed row of metrics."""
    return (f"    {label:38s} RMSE {m['rmse']:.2f}  bias {m['bias']:+.2f}  ubRMSE {m['ubrmse']:.2f}  "
            f"CC {m['cc']:.3f}")


def write_synthetic(folder, size=4000, rows_per_block=500):
    """Five size x size Kelvin rasters with fields, 33 px coarse blocks and gaps, written by blocks."""
    import numpy as np
    from lst_fusion_plugin.common.grid import Grid
    from lst_fusion_plugin.common.raster_io import RasterWriter
    from helpers import srs_wkt
    grid = Grid(srs_wkt(32755), (400000.0, 30.0, 0.0, 6200000.0, 0.0, -30.0), size, size)
    rng = np.random.default_rng(0)
    writers = {name: RasterWriter(os.path.join(folder, f"{name.lower()}.tif"), grid, units="kelvin")
               for name in FILES}
    for writer in writers.values():
        writer.__enter__()
    for row in range(0, size, rows_per_block):
        yy, xx = np.mgrid[row:row + rows_per_block, 0:size].astype(np.float32)
        field = ((np.sin(xx / 37.0) + np.cos(yy / 23.0)) > 0).astype(np.float32) * 5
        fine1 = 300 + field + rng.normal(0, 1.0, xx.shape).astype(np.float32)
        fine2 = fine1 * 1.3 - 84 + rng.normal(0, 0.5, xx.shape).astype(np.float32)
        block = np.float32(2.0) * np.sin(xx // 33) + np.cos(yy // 33)
        values = {"FINE_REF": fine1, "COARSE_REF": 300 + block, "FINE_REF2": fine2,
                  "COARSE_REF2": 306 + block, "COARSE_TARGET": 303 + block}
        values["FINE_REF"][rng.random(xx.shape) < 0.01] = np.nan
        for name, writer in writers.items():
            writer.write(values[name], row, 0)
    for writer in writers.values():
        writer.__exit__(None, None, None)


def main():
    import numpy as np
    from lst_fusion_plugin.common.raster_io import read_array
    tmp = tempfile.mkdtemp(prefix="bench_classical_")
    print(f"classical fusion benchmark ({os.cpu_count()} CPU cores, shared; load average "
          f"{os.getloadavg()[0]:.1f} at start)\n")
    for cached in glob.glob(os.path.join(REPO, "models", "__pycache__", "estarfm_kernel*.nb*")):
        os.remove(cached)
    first, cached = (run_task("task_kernel_path", warm_up=False) for _ in range(2))
    kernel_path = "numba" if first["path"].startswith("numba") else "numpy"
    print(f"ESTARFM window sums: {first['path']}; first call: {first['compile']:.2f} s (numba import "
          f"and JIT compilation), {cached['compile']:.2f} s from numba's cache; not counted below (each run "
          "is timed after that warm-up call)\n")

    print("1. Yanco 400 x 400, window 51 x 51 (STARFM: 51 x 51 too, half window 25)")
    print(f"{'run':34s} {'wall s':>8s} {'cpu s':>7s} {'Mpx/s':>7s} {'peak MB':>8s} {'speed-up':>9s} {'max|fast-ref| K':>16s}")
    for method, bias, label in (("estarfm", False, "ESTARFM"), ("estarfm", True, "ubESTARFM"),
                                ("starfm", False, "STARFM")):
        ref_out, fast_out = os.path.join(tmp, f"ref_{label}.tif"), os.path.join(tmp, f"fast_{label}.tif")
        ref = run_task("task_reference", method, ref_out, bias)
        scale = 400 * 400 / ref["pixels"]
        ref_wall = ref["wall"] * scale
        print(f"{label + ' per-pixel reference (extrap.)':34s} {ref_wall:8.1f} {ref['cpu'] * scale:7.1f} "
              f"{0.16 / ref_wall:7.4f} {ref['peak_mb']:8.0f} {'1.0':>9s}")
        paths = [("", False)] if method == "starfm" else [(f", {kernel_path}", False), (", numpy", True)]
        for name, numpy_only in paths:
            fast = run_task("task_fast", method, fast_out, bias, numpy_only=numpy_only)
            a, b = read_array(ref_out), read_array(fast_out)
            band = slice(REFERENCE_ROWS[0], REFERENCE_ROWS[-1] + 1)
            diff = float(np.nanmax(np.abs(a[band] - b[band])))
            print(f"{label + ' fast (2 threads' + name + ')':34s} {fast['wall']:8.2f} {fast['cpu']:7.2f} "
                  f"{0.16 / fast['wall']:7.3f} {fast['peak_mb']:8.0f} {ref_wall / fast['wall']:9.0f} "
                  f"{diff:16.2e}")
    print(f"   (references timed on rows {REFERENCE_ROWS[0]}-{REFERENCE_ROWS[-1]} (ESTARFM, 1600 pixels) "
          f"or row {REFERENCE_ROWS[0]} (STARFM, 400 pixels: its reference loops over window pixels "
          "in Python) and scaled to 160 000 pixels)\n")

    print("2. Accuracy on Yanco (K)")
    truth = {d: read_array(yanco(n)) for d, n in (("0205", "FINE_REF"), ("0308", "FINE_REF2"))}
    coarse = {d: read_array(yanco(n)) for d, n in (("0205", "COARSE_REF"), ("0308", "COARSE_REF2"),
                                                    ("0218", "COARSE_TARGET"))}
    from lst_fusion_plugin.models.classical.estarfm import EstarfmParams, run_estarfm
    from lst_fusion_plugin.models.classical.starfm import StarfmParams, run_starfm
    for ref, target in (("0205", "0308"), ("0308", "0205")):
        fine_name = "FINE_REF" if ref == "0205" else "FINE_REF2"
        coarse_ref = "COARSE_REF" if ref == "0205" else "COARSE_REF2"
        coarse_target = "COARSE_REF2" if ref == "0205" else "COARSE_REF"
        naive = metrics(truth[ref] + coarse[target] - coarse[ref], truth[target])
        modis = metrics(coarse[target], truth[target])
        print(f"  predict Landsat 2016-{target[:2]}-{target[2:]} from the 2016-{ref[:2]}-{ref[2:]} pair:")
        print(line("MODIS of the target as is", modis))
        print(line("naive fine_ref + dMODIS", naive))
        for h in (15, 25):
            out = os.path.join(tmp, f"starfm_{ref}_{h}.tif")
            run_starfm(yanco(fine_name), yanco(coarse_ref), yanco(coarse_target), out,
                       StarfmParams(half_window=h))
            print(line(f"STARFM {2 * h + 1} x {2 * h + 1}", metrics(read_array(out), truth[target])))
    print("  ESTARFM for 2016-02-18 from both pairs (no Landsat that day):")
    mean_interp = float(np.nanmean(truth["0205"]) + (np.nanmean(truth["0308"]) - np.nanmean(truth["0205"])) * 13 / 32)
    for bias in (False, True):
        out = os.path.join(tmp, f"estarfm_{bias}.tif")
        info = run_estarfm(*[yanco(n) for n in FILES], out, EstarfmParams(bias_correction=bias))
        p = read_array(out)
        vs_modis = metrics(p, coarse["0218"])
        name = "ubESTARFM" if bias else "ESTARFM"
        print(f"    {name:10s} mean {np.nanmean(p):.2f}  std {np.nanstd(p):.2f}  min {np.nanmin(p):.2f}  "
              f"max {np.nanmax(p):.2f}; vs MODIS 02-18: bias {vs_modis['bias']:+.2f} RMSE {vs_modis['rmse']:.2f} "
              f"CC {vs_modis['cc']:.3f}; fallback {info['fallback']} px, V != 1 at {info['converted']} px, "
              f"revised {info['revised']} px")
    print(f"    (time-interpolated Landsat mean for 02-18: {mean_interp:.2f}; MODIS 02-18 mean "
          f"{np.nanmean(coarse['0218']):.2f})\n")

    if "--skip-large" not in sys.argv:
        print("3. Synthetic 4000 x 4000 scene, ESTARFM 51 x 51, tiles of 256, 2 threads")
        folder = os.path.join(tmp, "large")
        os.makedirs(folder)
        started = time.perf_counter()
        write_synthetic(folder)
        print(f"   scene written in {time.perf_counter() - started:.0f} s")
        large = run_task("task_large", folder)
        print(f"   wall {large['wall']:.0f} s, cpu {large['cpu']:.0f} s, {16.0 / large['wall']:.3f} Mpx/s, "
              f"peak memory {large['peak_mb']:.0f} MB, {100 * large['valid_fraction']:.1f} % predicted")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; scratch files in {tmp}")


if __name__ == "__main__":
    main()
