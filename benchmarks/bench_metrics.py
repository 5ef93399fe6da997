"""Benchmark: metrics of a 4000 x 4000 prediction/reference pair read from GeoTIFFs.

Writes a synthetic LST pair (K, with a no-data hole) to a temporary folder, then
times in separate processes (so that peak memory is each run's own):
- ``compute_metrics``: the plugin's engine (row blocks, two passes, all metrics);
- a whole-array baseline: both rasters loaded at once, numpy metrics and
  scikit-image's SSIM (NaN filled with the reference, which is what one must do
  to use it at all);
- ``write_evaluation_report``: the HTML report (decimated figures).
Prints wall and CPU seconds (CPU time is the fairer number on a busy machine),
Mpx/s and peak resident memory (ru_maxrss, GDAL's block cache included) of each.

    .venv/bin/python benchmarks/bench_metrics.py [size]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import PLUGINS_DIR as PLUGINS, link_plugin  # noqa: E402


def write_pair(folder, size):
    """Synthetic reference and prediction (K), written block by block."""
    from lst_fusion_plugin.common.grid import Grid
    from lst_fusion_plugin.common.raster_io import RasterWriter

    grid = Grid("", (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0), size, size)
    rng = np.random.default_rng(0)
    paths = os.path.join(folder, "pred.tif"), os.path.join(folder, "ref.tif")
    cols = np.arange(size)[None, :]
    with RasterWriter(paths[0], grid, units="kelvin") as pred_w, RasterWriter(paths[1], grid, units="kelvin") as ref_w:
        for row in range(0, size, 500):
            rows = np.arange(row, min(row + 500, size))[:, None]
            ref = 305 + 6 * np.sin(cols / 310.0) * np.cos(rows / 170.0) + rng.normal(0, 1.5, (rows.size, size))
            pred = ref + 0.4 + 0.5 * np.sin(cols / 50.0) + rng.normal(0, 1.2, ref.shape)
            pred[(rows > size // 3) & (rows < size // 3 + 200) & (cols < size // 4)] = np.nan
            pred_w.write(pred.astype(np.float32), row)
            ref_w.write(ref.astype(np.float32), row)
    return paths


ENGINE = """
import json, resource, sys, time
sys.path.insert(0, {plugins!r})
from lst_fusion_plugin.evaluation.metrics import compute_metrics
t, cpu = time.perf_counter(), time.process_time()
m = compute_metrics({pred!r}, {ref!r}, ergas_ratio=0.03)
print(json.dumps({{"s": time.perf_counter() - t, "cpu": time.process_time() - cpu, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "RMSE": m["RMSE"], "SSIM": m["SSIM"]}}))
"""

BASELINE = """
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {plugins!r})
from skimage.metrics import structural_similarity
from lst_fusion_plugin.common.raster_io import read_array
t, cpu = time.perf_counter(), time.process_time()
p, r = read_array({pred!r}).astype(np.float64), read_array({ref!r}).astype(np.float64)
v = np.isfinite(p) & np.isfinite(r)
d = p[v] - r[v]
rmse = np.sqrt(np.mean(d ** 2))
cc = np.corrcoef(p[v], r[v])[0, 1]
L = np.ptp(r[v])
ssim = structural_similarity(np.where(v, p, r), r, gaussian_weights=True, sigma=1.5,
                             use_sample_covariance=False, data_range=L)
print(json.dumps({{"s": time.perf_counter() - t, "cpu": time.process_time() - cpu, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "RMSE": rmse, "SSIM": ssim}}))
"""

REPORT = """
import json, resource, sys, time
sys.path.insert(0, {plugins!r})
from lst_fusion_plugin.evaluation.metrics import compute_metrics
from lst_fusion_plugin.evaluation.report import write_evaluation_report
m = compute_metrics({pred!r}, {ref!r}, ergas_ratio=0.03)
t, cpu = time.perf_counter(), time.process_time()
write_evaluation_report({html!r}, m, {pred!r}, {ref!r})
print(json.dumps({{"s": time.perf_counter() - t, "cpu": time.process_time() - cpu, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "RMSE": m["RMSE"], "SSIM": m["SSIM"]}}))
"""


def run(code, **names):
    out = subprocess.run([sys.executable, "-c", code.format(plugins=PLUGINS, **names)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    link_plugin()
    with tempfile.TemporaryDirectory() as folder:
        pred, ref = write_pair(folder, size)
        mpx = size * size / 1e6
        print(f"metrics of a {size} x {size} pair ({mpx:.0f} Mpx, Float32 GeoTIFF, DEFLATE), "
              f"{os.cpu_count()} CPU(s)")
        print(f"{'run':<34}{'wall s':>8}{'CPU s':>7}{'Mpx/s':>7}{'peak MB':>9}{'RMSE':>8}{'SSIM':>8}")
        results = {}
        for name, code in (("engine (compute_metrics)", ENGINE), ("whole arrays + scikit-image", BASELINE),
                           ("HTML report (figures)", REPORT)):
            r = run(code, pred=pred, ref=ref, html=os.path.join(folder, "report.html"))
            results[name] = r
            print(f"{name:<34}{r['s']:>8.2f}{r['cpu']:>7.2f}{mpx / r['s']:>7.1f}{r['rss'] / 1024:>9.0f}"
                  f"{r['RMSE']:>8.4f}{r['SSIM']:>8.4f}")
        engine, base = results["engine (compute_metrics)"], results["whole arrays + scikit-image"]
        print(f"engine vs whole-array baseline: {base['s'] / engine['s']:.2f}x faster (wall), "
              f"{base['cpu'] / engine['cpu']:.2f}x less CPU time, "
              f"{engine['rss'] / base['rss']:.2f}x peak memory")
        print("(the baseline's SSIM differs where no-data had to be filled for scikit-image)")


if __name__ == "__main__":
    main()
