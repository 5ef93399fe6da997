"""The README's first command (`make demo`): the plugin's main chain on a built-in scene.

Runs headless through QGIS Processing exactly as the toolbox would, prints each
step with its progress and timing, and says where the results are. Needs no
download and no ../shared.
"""
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGINS = os.path.join(REPO, ".build", "plugins")
OUT = os.path.join(REPO, "demo-output")


def start_qgis():
    """A headless QgsApplication with Processing and this plugin's provider."""
    os.makedirs(PLUGINS, exist_ok=True)
    link = os.path.join(PLUGINS, "lst_fusion_plugin")
    if not os.path.islink(link):
        os.symlink(REPO, link)
    sys.path.insert(0, PLUGINS)
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
                filled = int(percent // 5)
                sys.stdout.write(f"\r    [{'#' * filled}{'.' * (20 - filled)}] {percent:5.1f} %")
                sys.stdout.flush()

            def pushInfo(self, info):  # noqa: N802
                sys.stdout.write(f"\r    {info}\n")

        return Feedback()


def run(step, algorithm, parameters):
    """Run one Processing algorithm with terminal progress; return its results."""
    import processing
    print(f"\n{step}: {algorithm}")
    started = time.time()
    result = processing.run(algorithm, parameters, feedback=TerminalFeedback.create())
    print(f"\r    done in {time.time() - started:.1f} s" + " " * 30)
    return result


def built_in_scene(folder):
    """A small scene made here: fine 30 m LST (UTM 55S) and a 1 km geographic coarse version."""
    import numpy as np
    from lst_fusion_plugin.core.grid import Grid
    from lst_fusion_plugin.core.raster_io import write_array
    from osgeo import osr

    rng = np.random.default_rng(42)
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32755)
    fine = Grid(utm.ExportToWkt(), (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0), 400, 400)
    y, x = np.mgrid[0:400, 0:400] / 400.0
    lst = 300.0 + 8.0 * x + 4.0 * np.sin(6 * y) + rng.normal(0, 0.8, (400, 400))
    lst[150:210, 220:300] -= 9.0  # a cool irrigated field block
    fine_path = write_array(os.path.join(folder, "fine_lst.tif"), lst.astype("float32"), fine,
                            units="kelvin")
    geo = osr.SpatialReference()
    geo.ImportFromEPSG(4326)
    coarse = Grid(geo.ExportToWkt(), (145.86, 0.01, 0.0, -34.78, 0.0, -0.01), 18, 18)
    cy, cx = np.mgrid[0:18, 0:18] / 18.0
    coarse_path = write_array(os.path.join(folder, "coarse_lst.tif"),
                              (302.0 + 7.0 * cx + 3.0 * np.sin(6 * cy)).astype("float32"), coarse,
                              units="kelvin")
    return fine_path, coarse_path


def main():
    started = time.time()
    app, plugin = start_qgis()
    os.makedirs(OUT, exist_ok=True)
    print(f"LST fusion demo: writing to {OUT}")
    fine, coarse = built_in_scene(OUT)
    print(f"  built-in scene: fine {fine}\n                  coarse {coarse}")
    aligned = run("1. Align the coarse image onto the fine grid", "lstfusion:aligntofine",
                  {"INPUT": coarse, "REFERENCE": fine, "RESAMPLING": 1,
                   "OUTPUT": os.path.join(OUT, "coarse_on_fine_grid.tif")})
    print(f"    -> {aligned['OUTPUT']} ({100 * aligned['VALID_FRACTION']:.1f} % valid)")
    prediction = aligned["OUTPUT"]
    metrics = run("2. Evaluate the prediction against the fine image", "lstfusion:evaluate",
                  {"PREDICTION": prediction, "REFERENCE": fine, "COARSE": coarse,
                   "OUTPUT_TABLE": os.path.join(OUT, "metrics.csv"),
                   "OUTPUT_REPORT": os.path.join(OUT, "accuracy_report.html")})
    print(f"    -> {metrics['OUTPUT_REPORT']}")
    from lst_fusion_plugin.core.tables import text_table
    print(f"\nAccuracy of {os.path.basename(prediction)} against {os.path.basename(fine)}:")
    print(text_table(metrics))
    from demo_preprocessing import run_preprocessing
    run_preprocessing(run, OUT, first_step=3)
    from demo_classical import run_classical
    run_classical(run, OUT, fine, aligned["OUTPUT"], first_step=6)
    print(f"\nDemo finished in {time.time() - started:.1f} s. Results in {OUT}")
    plugin.unload()
    app.exitQgis()


if __name__ == "__main__":
    main()
