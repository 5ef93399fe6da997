"""workflows.cluster on a real Dask cluster: same rasters as in-process, errors, cancel, a killed worker.

The cluster (``dask_cluster``, tests/dask_cluster.py) is a ``dask scheduler`` and two
``dask worker`` processes on 127.0.0.1 that cannot import qgis.
"""
import dataclasses
import datetime as dt
import glob
import os
import signal
import threading
import time
import traceback
import zipfile

import numpy as np
import pytest

from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.simulation.simulate import simulate_series
from lst_fusion_plugin.workflows import cluster
from lst_fusion_plugin.workflows.cluster import DaskRunner, InProcess, Unit, engine_zip, parse_cluster
from lst_fusion_plugin.workflows.fuse_series import plan_series, run_series
from lst_fusion_plugin.workflows.methods import FusionMethod

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """160 x 160 pixels, 18 days: fine images on days 0 and 16."""
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=160, cols=160, days=18,
                           seed=7, cloud_fraction=0.0, write_truth=False)


@pytest.fixture(scope="module")
def client(dask_cluster):
    c = dask_cluster.client()
    cluster.ship_engine(c)
    yield c
    c.close()


def plans_for(series, method, days):
    pairs = read_pairs(series.pairs)
    targets = [dt.date(2023, 6, d) for d in days]
    return plan_series(pairs, method.pairs_needed(), targets, method.falls_back_to_one_pair())


def rasters(folder):
    """{file name: array} of the dated predictions in ``folder``."""
    return {os.path.basename(p): read_array(p) for p in sorted(glob.glob(os.path.join(folder, "lst_*.tif")))}


def assert_identical(a, b):
    assert sorted(a) == sorted(b) and a
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_parse_cluster_values_and_errors():
    assert parse_cluster("") == ("inprocess", None)
    assert parse_cluster(" local:3 ") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad, hint in (("local:0", "between 1 and 256"), ("local:x", "local:N"), ("myhost:8786", "neither")):
        with pytest.raises(InputError, match=hint):
            parse_cluster(bad)


def test_engine_zip_holds_the_qgis_free_packages_under_a_versioned_name(tmp_path):
    path, version = engine_zip(str(tmp_path))
    assert os.path.basename(path) == f"lst_fusion_plugin_engine_{version}.zip"
    assert engine_zip(str(tmp_path)) == (path, version)  # same sources, same zip
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        sources = {n: z.read(n).decode() for n in names}
    tops = {n.split("/")[1] for n in names if n.count("/") >= 2}
    assert tops == set(cluster.ENGINE_PACKAGES)
    assert "lst_fusion_plugin/workflows/cluster.py" in names
    assert f'ENGINE_VERSION = "{version}"' in sources["lst_fusion_plugin/__init__.py"]
    assert not [n for n, text in sources.items() if "import qgis" in text or "from qgis" in text]


def test_workers_run_the_shipped_engine_and_cannot_import_qgis(client):
    def where():
        import sys
        import lst_fusion_plugin.workflows.cluster as shipped
        try:
            import qgis  # noqa: F401
            qgis_ok = True
        except ImportError:
            qgis_ok = False
        return shipped.__file__, sys.modules["lst_fusion_plugin"].ENGINE_VERSION, qgis_ok

    _, version = engine_zip()
    for path, worker_version, qgis_ok in client.run(where).values():
        assert f"lst_fusion_plugin_engine_{version}.zip" in path
        assert worker_version == version and not qgis_ok


def test_shipping_the_same_engine_again_keeps_the_imported_modules(client):
    def module_id():
        import sys
        return id(sys.modules["lst_fusion_plugin.models.classical.estarfm_kernel"])

    client.run(lambda: bool(__import__("lst_fusion_plugin.models.classical.estarfm_kernel")))
    before = client.run(module_id)
    cluster.ship_engine(client)
    assert client.run(module_id) == before  # numba's compiled kernel survives between runs


def test_a_stale_engine_on_the_workers_is_replaced(client, tmp_path):
    from distributed.diagnostics.plugin import UploadFile

    current, version = engine_zip()
    stale = str(tmp_path / "lst_fusion_plugin_engine_0000000000000000.zip")
    with zipfile.ZipFile(current) as src, zipfile.ZipFile(stale, "w") as dst:
        for name in src.namelist():
            text = src.read(name)
            if name == "lst_fusion_plugin/__init__.py":
                text = b'ENGINE_VERSION = "0000000000000000"\n'
            dst.writestr(name, text)
    client.register_plugin(UploadFile(stale), name=cluster.PLUGIN_NAME)
    client.run(lambda: bool(__import__("lst_fusion_plugin.workflows.methods")))
    assert set(client.run(lambda: __import__("lst_fusion_plugin").ENGINE_VERSION).values()) == {"0000000000000000"}
    assert cluster.ship_engine(client) == version
    files = client.run(lambda: __import__("lst_fusion_plugin.workflows.methods").workflows.methods.__file__)
    assert all(f"engine_{version}.zip" in path for path in files.values())


def test_series_on_the_cluster_equals_the_in_process_series(client, series, tmp_path):
    for name, days in (("estarfm", (3, 6, 9, 12)), ("starfm", (4, 17))):
        method = FusionMethod(name)
        plans = plans_for(series, method, days)
        run_series(plans, method.predict, str(tmp_path / f"{name}_here"))
        seen = []
        result = run_series(plans, method.predict, str(tmp_path / f"{name}_cluster"),
                            progress=Progress(report=seen.append), runner=DaskRunner(client))
        assert result["predicted"] == [p.date for p in plans]
        assert seen[-1] == 100.0 and len(seen) >= len(days)  # follows the finished dates
        assert_identical(rasters(tmp_path / f"{name}_cluster"), rasters(tmp_path / f"{name}_here"))


def test_an_input_error_in_a_unit_stops_the_run_with_its_message(client, series, tmp_path):
    method = FusionMethod("starfm")
    plans = plans_for(series, method, (3, 4))
    missing = str(tmp_path / "gone_2023-06-01.tif")
    plans[1].references = [dataclasses.replace(plans[1].references[0], fine=missing)]
    with pytest.raises(InputError) as caught:
        run_series(plans, method.predict, str(tmp_path / "out"), runner=DaskRunner(client))
    assert str(caught.value) == f"Raster file not found: {missing}"
    assert caught.value.__cause__ is None  # raised here with the message, not the worker's traceback
    assert not [f for f in traceback.extract_tb(caught.value.__traceback__) if "_engine_" in f.filename]
    assert os.path.exists(tmp_path / "out" / "series.csv")
    assert not glob.glob(str(tmp_path / "out" / ".*partial*"))


def test_cancel_stops_the_units_and_leaves_no_partial_file_then_the_run_resumes(client, series, tmp_path):
    method = FusionMethod("estarfm")
    plans = plans_for(series, method, range(2, 16))
    folder = str(tmp_path / "series")
    seen = []
    cancelling = Progress(report=seen.append, is_cancelled=lambda: bool(seen))
    with pytest.raises(Cancelled):
        run_series(plans, method.predict, folder, progress=cancelling, runner=DaskRunner(client))
    written = rasters(folder)
    assert 1 <= len(written) < len(plans)
    assert not glob.glob(os.path.join(folder, ".*partial*"))
    resumed = run_series(plans, method.predict, folder, runner=DaskRunner(client))
    assert len(resumed["reused"]) == len(written) and len(resumed["predicted"]) == len(plans) - len(written)


def test_a_killed_worker_has_its_unit_rerun_and_the_series_completes(client, series, tmp_path):
    method = FusionMethod("estarfm", settings={"half_window": 40})
    plans = plans_for(series, method, range(2, 16))
    run_series(plans, method.predict, str(tmp_path / "here"))
    outcome = {}

    def run():
        try:
            outcome["result"] = run_series(plans, method.predict, str(tmp_path / "cluster"),
                                           runner=DaskRunner(client))
        except Exception as err:  # noqa: BLE001 (reported by the assertion below)
            outcome["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if any("lstfusion" in k for k in keys)]
        victim = busy[0] if busy else None
        time.sleep(0.05)
    assert victim is not None, "no unit was seen running"
    time.sleep(0.3)  # into the unit
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    thread.join(300)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["predicted"] == [p.date for p in plans]
    assert victim not in client.scheduler_info(n_workers=-1)["workers"]
    assert_identical(rasters(tmp_path / "cluster"), rasters(tmp_path / "here"))
    client.wait_for_workers(2, timeout=90)  # the nanny restarts the worker for the next tests


def test_in_process_runner_reports_progress_inside_units():
    seen = []
    units = [Unit(str(i), _half_then_value, (i,)) for i in range(2)]
    results = list(InProcess().run(units, Progress(report=seen.append)))
    assert results == [(0, 0), (1, 10)]
    assert seen == [25.0, 50.0, 75.0, 100.0]


def _half_then_value(i, progress):
    progress.report(50.0)
    return 10 * i


def test_a_cluster_without_workers_stops_the_run_with_a_clear_error(monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.setattr(cluster, "NO_WORKER_S", 2.0)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as local, Client(local) as c:
        started = time.monotonic()
        with pytest.raises(InputError, match="no worker for 2 s"):
            list(DaskRunner(c).run([Unit("one", _half_then_value, (1,))]))
        assert time.monotonic() - started < 30
