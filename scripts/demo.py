"""The README's first command (`make demo`): the plugin's main chain on built-in scenes.

Runs headless through QGIS Processing exactly as the toolbox would, prints each
step with its progress and timing, and says where the results are. The simulated
chain runs twice: on a medium scene and on a real-like one. Needs no
download and no ../shared.
"""
import os
import sys
import time

from plugin_path import link_plugin

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "demo-output")


def start_qgis():
    """A headless QgsApplication with Processing and this plugin's provider."""
    link_plugin()
    sys.path.append("/usr/share/qgis/python/plugins")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing
    Processing.initialize()
    from lst_fusion_plugin import classFactory
    plugin = classFactory(None)
    plugin.initProcessing()
    return app, plugin


class TerminalFeedback:
    """Prints a one-line progress bar and the algorithm's messages."""

    @staticmethod
    def create():
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.progressChanged.connect(self._bar)

            def _bar(self, percent):
                if not sys.stdout.isatty():
                    return
                filled = int(percent // 5)
                sys.stdout.write(f"\r    [{'#' * filled}{'.' * (20 - filled)}] {percent:5.1f} %")
                sys.stdout.flush()

            def pushInfo(self, info):  # noqa: N802
                if not info.startswith("Results:"):  # Processing's dump of the outputs dict
                    sys.stdout.write(f"\r    {info}" + " " * 30 + "\n")

        return Feedback()


def run(step, algorithm, parameters):
    """Run one Processing algorithm with terminal progress; return its results."""
    import processing
    print(f"\n{step}: {algorithm}")
    started = time.time()
    result = processing.run(algorithm, parameters, feedback=TerminalFeedback.create())
    print(f"\r    done in {time.time() - started:.1f} s" + " " * 30)
    return result


def naive_prediction(fine_ref, coarse_ref, coarse_target, out):
    """The baseline every method must beat: fine_ref + (coarse_target - coarse_ref) (models.classical.naive)."""
    from lst_fusion_plugin.models.classical.naive import run_naive
    run_naive(fine_ref, coarse_ref, coarse_target, out)
    return out


def shipped_models():
    """(name, path) of the deep models shipped under resources/models."""
    folder = os.path.join(REPO, "resources", "models")
    if not os.path.isdir(folder):
        return []
    return [(os.path.splitext(name)[0].replace("_default", ""), os.path.join(folder, name))
            for name in sorted(os.listdir(folder)) if name.endswith(".pt")]


def fuse_all(out, step, fine_ref, coarse_ref, coarse_target, label, second=None):
    """Every method on one target date; returns {method: prediction path}.

    ``second`` is the (fine, coarse) pair after the target for ESTARFM; without
    it ESTARFM is not run.
    """
    predictions = {"naive": naive_prediction(fine_ref, coarse_ref, coarse_target,
                                             os.path.join(out, f"naive_{label}.tif"))}
    predictions["starfm"] = run(f"{step}a. STARFM for {label}", "lstfusion:starfm", {
        "FINE_REF": fine_ref, "COARSE_REF": coarse_ref, "COARSE_TARGET": coarse_target,
        "OUTPUT": os.path.join(out, f"starfm_{label}.tif")})["OUTPUT"]
    if second:
        for method, bias in (("estarfm", False), ("ubestarfm", True)):
            predictions[method] = run(f"{step}b. ESTARFM{' with local bias correction' if bias else ''} "
                                      f"for {label}", "lstfusion:estarfm", {
                                          "FINE_REF": fine_ref, "COARSE_REF": coarse_ref,
                                          "FINE_REF2": second[0], "COARSE_REF2": second[1],
                                          "COARSE_TARGET": coarse_target, "BIAS_CORRECTION": bias,
                                          "OUTPUT": os.path.join(out, f"{method}_{label}.tif")})["OUTPUT"]
    for name, model_file in shipped_models():
        predictions[name] = run(f"{step}c. {name.upper()} (shipped weights) for {label}", "lstfusion:fuse", {
            "MODEL_FILE": model_file, "FINE_REF": fine_ref, "COARSE_REF": coarse_ref,
            "COARSE_TARGET": coarse_target, "DEVICE": 0,
            "OUTPUT": os.path.join(out, f"{name}_{label}.tif")})["OUTPUT"]
    return predictions


def compare_and_print(out, rows, ratio, step=8):
    """Run lstfusion:compare on (method, date, prediction, reference) rows and print its table."""
    import csv
    table = os.path.join(out, "predictions.csv")
    with open(table, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "date", "prediction", "reference"])
        writer.writerows(rows)
    result = run(f"{step}. Compare every method against the truth", "lstfusion:compare", {
        "INPUT": table, "RATIO": ratio, "OUTPUT_TABLE": os.path.join(out, "comparison.csv"),
        "OUTPUT_PER_DATE": os.path.join(out, "comparison_per_date.csv"),
        "OUTPUT_REPORT": os.path.join(out, "comparison_report.html")})
    with open(result["OUTPUT_TABLE"]) as f:
        summary = list(csv.DictReader(f))
    columns = [("RMSE", "{:.2f}"), ("MAE", "{:.2f}"), ("BIAS", "{:+.2f}"), ("CC", "{:.3f}"),
               ("SSIM", "{:.3f}"), ("PSNR", "{:.1f}"), ("SAM", "{:.3f}"), ("ERGAS", "{:.3f}")]
    print("\nMean over the target dates (RMSE, MAE, BIAS in K; PSNR in dB; SAM in degrees):")
    print(f"  {'method':<12}{'dates':>6}" + "".join(f"{name:>9}" for name, _ in columns))
    for row in sorted(summary, key=lambda r: float(r["RMSE_mean"])):
        print(f"  {row['method']:<12}{row['dates']:>6}"
              + "".join(f"{fmt.format(float(row[name + '_mean'])):>9}" for name, fmt in columns))
    print(f"\n  best: {result['BEST_METHOD']}; dates where every method does badly: "
          f"{result['HARD_DATES'] or 'none'}")
    print(f"  comparison report: {result['OUTPUT_REPORT']}")
    return result


def mid_interval_date(scene, first, last):
    """The least cloudy date within 3 days of the middle of (first, last): a fair, hard target."""
    import datetime as dt
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    middle = a + (b - a) / 2
    near = [d for d in scene.dates if abs((dt.date.fromisoformat(d) - middle).days) <= 3]
    return min(near, key=lambda d: (scene.daily[d]["cloud_cover"], d))


def simulated_chain(out, variability="medium", step=4, evaluate=True):
    """simulate -> aligntofine -> STARFM, ESTARFM, deep models -> evaluate/compare against the truth.

    ``variability``: the simulator's setting by name; ``step``: the number of
    the first step printed; ``evaluate``: also write the one-prediction report.
    """
    from lst_fusion_plugin.simulation.forcing import VARIABILITY
    from lst_fusion_plugin.simulation.simulate import load_simulation
    sim = run(f"{step}. Simulate a 300 x 300 (9 x 9 km) scene over 33 days, variability {variability}",
              "lstfusion:simulate", {
                  "DATES": 33, "START_DATE": "2023-07-01", "ROWS": 300, "COLS": 300,
                  "VARIABILITY": list(VARIABILITY).index(variability), "CLOUD_FRACTION": 0.05, "SEED": 2024,
                  "OUTPUT_FOLDER": os.path.join(out, "simulation")})
    scene = load_simulation(sim["OUTPUT_FOLDER"])
    fine_dates = sorted(scene.fine)
    targets = [mid_interval_date(scene, lo, hi) for lo, hi in zip(fine_dates, fine_dates[1:])]
    print(f"    fine (Landsat-like) dates: {', '.join(fine_dates)}; targets: {', '.join(targets)}")
    aligned = {}
    for date in sorted(set(fine_dates) | set(targets)):
        aligned[date] = run(f"{step + 1}. Align the {date} coarse image (MODIS sinusoidal, 926 m) onto the 30 m grid",
                            "lstfusion:aligntofine", {
                                "INPUT": scene.coarse[date], "REFERENCE": scene.fine[fine_dates[0]],
                                "RESAMPLING": 1, "OUTPUT": os.path.join(out, f"coarse_{date}.tif")})["OUTPUT"]
    rows = []
    for i, target in enumerate(targets):
        before, after = fine_dates[i], fine_dates[i + 1]
        predictions = fuse_all(out, step + 2, scene.fine[before], aligned[before], aligned[target], target,
                               second=(scene.fine[after], aligned[after]))
        rows += [(method, target, path, scene.truth[target]) for method, path in predictions.items()]
    if evaluate:
        best = rows[[r[0] for r in rows].index("ubestarfm")]
        report = run(f"{step + 3}. Evaluate ESTARFM (bias-corrected) on {best[1]} against the truth",
                     "lstfusion:evaluate", {
                         "PREDICTION": best[2], "REFERENCE": best[3], "COARSE": scene.coarse[best[1]],
                         "OUTPUT_TABLE": os.path.join(out, "evaluation_ubestarfm.csv"),
                         "OUTPUT_REPORT": os.path.join(out, "evaluation_ubestarfm.html"),
                         "OUTPUT_ERROR": os.path.join(out, "error_ubestarfm.tif")})
        print(f"    -> {report['OUTPUT_REPORT']}")
    compare_and_print(out, rows, ratio=30.0 / 926.625, step=step + (4 if evaluate else 3))


def yanco_chain(out, yanco):
    """The same chain on the real Yanco pairs: each Landsat date predicted from the other pair."""
    def path(name):
        return os.path.join(yanco, name)
    landsat = {"2016-02-05": path("Landsat_LST_cloudrm_20160205.tif"),
               "2016-03-08": path("Landsat_LST_cloudrm_20160308.tif")}
    modis = {"2016-02-05": path("MOD11A1_LST_cloudrm_20160205.tif"),
             "2016-02-18": path("MOD11A1_LST_cloudrm_20160218.tif"),
             "2016-03-08": path("MOD11A1_LST_cloudrm_20160308.tif")}
    rows = []
    for step, (ref, target) in enumerate((("2016-02-05", "2016-03-08"), ("2016-03-08", "2016-02-05")), start=1):
        predictions = fuse_all(out, step, landsat[ref], modis[ref], modis[target], target)
        rows += [(method, target, p, landsat[target]) for method, p in predictions.items()]
    run("3. ESTARFM with local bias correction for 2016-02-18 (no Landsat that day: not evaluated)",
        "lstfusion:estarfm", {"FINE_REF": landsat["2016-02-05"], "COARSE_REF": modis["2016-02-05"],
                              "FINE_REF2": landsat["2016-03-08"], "COARSE_REF2": modis["2016-03-08"],
                              "COARSE_TARGET": modis["2016-02-18"], "BIAS_CORRECTION": True,
                              "OUTPUT": os.path.join(out, "ubestarfm_2016-02-18.tif")})
    from lst_fusion_plugin.evaluation.metrics import pixel_size_m
    from lst_fusion_plugin.common.raster_io import read_grid
    compare_and_print(out, rows, ratio=pixel_size_m(read_grid(landsat["2016-02-05"])) / 926.625)


def main():
    import argparse
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real", action="store_true",
                        help="run on the real Yanco pairs in ../shared/data/yanco instead of a simulated scene")
    parser.add_argument("--out", default=OUT,
                        help=f"output folder, absolute or relative to the current folder (default {OUT})")
    args = parser.parse_args()
    # Absolute from here on: the paths written into predictions.csv are read back relative to
    # that table's folder, so a relative --out would be applied twice.
    args.out = os.path.abspath(args.out)
    started = time.time()
    app, plugin = start_qgis()
    os.makedirs(args.out, exist_ok=True)
    print(f"LST fusion demo: writing to {args.out}")
    if args.real:
        yanco = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "yanco"))
        if not os.path.isdir(yanco):
            sys.exit(f"demo: {yanco} is absent; the real-data demo needs ../shared/data/yanco.")
        yanco_chain(args.out, yanco)
    else:
        from demo_preprocessing import run_preprocessing
        print("\nFrom downloaded products (Landsat C2 L2 scenes, MODIS exports) to a series of pairs:")
        run_preprocessing(run, args.out, first_step=1)
        print("\nFusion on a simulated scene with ground truth on every day:")
        simulated_chain(args.out)
        print("\nThe same on a real-like scene (variability 'real': MODIS and Landsat disagree by several K, "
              "differently on each date and land cover, and the coarse change announces the fine change "
              "weakly, as on the real Yanco pairs):")
        simulated_chain(os.path.join(args.out, "real-like"), "real", step=9, evaluate=False)
    print(f"\nDemo finished in {time.time() - started:.0f} s. Rasters and reports in {args.out}")
    plugin.unload()
    app.exitQgis()


if __name__ == "__main__":
    main()
