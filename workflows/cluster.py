"""Where the engine's units of work run: in this process or on a Dask cluster (the CLUSTER parameter).

``CLUSTER`` is empty for in-process work, ``local:N`` for a Dask LocalCluster of
N single-threaded worker processes on this machine (started and stopped here), or
the address of an existing Dask scheduler (``tcp://host:8786``, ``tls://...``).
:func:`open_runner` turns it into a runner whose ``run(units, progress)``
yields ``(index, result)`` for each :class:`Unit` as it finishes.

A unit is a module-level function with its arguments: paths and settings by
value (dataclasses, dates, strings), never a QGIS object; it writes its output
files itself (atomically, through ``common.raster_io.RasterWriter``) and
returns something small. Workers therefore need the same file system (or
object store paths) as the client, and Python with dask, distributed, numpy,
scipy and GDAL (torch for deep units); results are identical to the
in-process ones when their numeric stack is the same (numba present or absent
on both sides).

Engine shipping: the client zips the QGIS-free packages
(:data:`ENGINE_PACKAGES`) under the plugin's package name, named by a hash of
their sources, and registers it as the plugin ``lstfusion-engine`` of the
scheduler (which unpickles the units) and of the workers (what
``Client.upload_file`` does, under one name, so a newer version replaces an
older one), so every worker, also one that joins or restarts later, puts the
zip first on its ``sys.path``; :func:`_activate` then drops modules imported
from another version, so a plain ``dask worker ADDRESS`` runs exactly the
client's code. ``local:N`` workers get the zip too (they would otherwise import
whatever the spawning process's ``sys.path`` finds first under the plugin's
name); their scheduler runs in this process and needs none.

Failures: a unit's ``InputError`` comes back as a value (not retried, not a
remote traceback) and stops the run with its message; any other exception is
retried :data:`RETRIES` times (e.g. a transient network file-system error). A
unit whose worker dies is re-run elsewhere by the scheduler itself (up to
``distributed.scheduler.allowed-failures`` deaths, 3 by default).

Cancel: the client sets a Dask ``Event`` that units poll through their
``Progress`` (at most every :data:`CANCEL_POLL_S`), waits up to
:data:`STOP_WAIT_S` for running units to stop (they delete their temporary
files), then cancels what is left, so no half-written output remains.
"""
import hashlib
import importlib
import os
import sys
import tempfile
import time
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence, Tuple

from ..common.errors import Cancelled, InputError
from ..common.progress import Progress, ensure

ROOT = __name__.split(".")[0]
"""The plugin's package name (the folder QGIS loaded it from)."""
ENGINE_PACKAGES = ("common", "preprocessing", "evaluation", "simulation", "models", "workflows")
"""Packages shipped to the workers: everything below ``algorithms`` (none imports qgis)."""
PLUGIN_NAME = "lstfusion-engine"
RETRIES = 2
CANCEL_POLL_S = 0.5
STOP_WAIT_S = 60.0
CONNECT_TIMEOUT_S = 20.0
NO_WORKER_S = 120.0
"""A run stops when the scheduler has had no worker for this long (seconds)."""
DASK_HINT = ("CLUSTER needs the Python packages dask and distributed (pinned in the plugin's "
             "requirements.txt) in QGIS's Python: {python} -m pip install dask==2026.8.0 "
             "distributed==2026.8.0")


@dataclass
class Unit:
    """One unit of work: ``func(*args, progress=..., **kwargs)``; ``label`` names it in messages."""

    label: str
    func: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __call__(self, progress: Progress):
        """Run the unit here."""
        return self.func(*self.args, progress=progress, **self.kwargs)


def parse_cluster(text: str) -> Tuple[str, object]:
    """('inprocess', None), ('local', N) or ('address', text); InputError for anything else."""
    text = (text or "").strip()
    if not text:
        return "inprocess", None
    if text.lower().startswith("local:"):
        count = text.split(":", 1)[1].strip()
        if not count.isdigit() or not 1 <= int(count) <= 256:
            raise InputError(f"CLUSTER: '{text}' asks for a local cluster; write local:N with N "
                             "worker processes between 1 and 256 (e.g. local:4).")
        return "local", int(count)
    if "://" in text and text.split("://", 1)[1]:
        return "address", text
    raise InputError(f"CLUSTER: '{text}' is neither local:N nor a Dask scheduler address "
                     "(tcp://host:8786); leave it empty to run in this process.")


class InProcess:
    """Runs units one after the other in this process, with progress inside each unit."""

    workers = 1

    def run(self, units: Sequence[Unit], progress: Optional[Progress] = None) -> Iterator[Tuple[int, object]]:
        """Yield (index, result) of each unit in order; Cancelled between and inside units."""
        progress = ensure(progress)
        total = max(len(units), 1)
        for i, unit in enumerate(units):
            progress.check()
            result = unit(progress.sub(100.0 * i / total, 100.0 * (i + 1) / total))
            yield i, result
            progress.report(100.0 * (i + 1) / total)


@dataclass
class _Outcome:
    """What a unit sends back: its result, or the message of its InputError, or that it was cancelled."""

    value: object = None
    error: Optional[str] = None
    cancelled: bool = False


def _run_unit(unit: Unit, cancel_event: str) -> _Outcome:
    """On a worker: run ``unit`` with a progress that polls the run's cancel event."""
    from distributed import Event

    event = Event(cancel_event)
    last = [0.0, False]

    def is_cancelled() -> bool:
        now = time.monotonic()
        if not last[1] and now - last[0] >= CANCEL_POLL_S:
            last[:] = [now, bool(event.is_set())]
        return last[1]

    try:
        if is_cancelled():
            return _Outcome(cancelled=True)
        return _Outcome(unit(Progress(is_cancelled=is_cancelled)))
    except InputError as err:
        return _Outcome(error=str(err))
    except Cancelled:
        return _Outcome(cancelled=True)


class DaskRunner:
    """Runs units as Dask futures; progress follows the finished units."""

    def __init__(self, client):
        self.client = client

    @property
    def workers(self) -> int:
        """Number of workers connected now (at least 1)."""
        return max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))

    def run(self, units: Sequence[Unit], progress: Optional[Progress] = None) -> Iterator[Tuple[int, object]]:
        """Yield (index, result) of each unit as it finishes (any order).

        Raises the InputError of a failing unit (message only), Cancelled when
        the user cancels; either way the other units are stopped first.
        """
        from distributed import Event, as_completed

        progress = ensure(progress)
        run_id = uuid.uuid4().hex[:12]
        event = Event(f"lstfusion-cancel-{run_id}", client=self.client)
        futures = [self.client.submit(_run_unit, unit, event.name, key=f"lstfusion-{run_id}-{i}",
                                      retries=RETRIES, pure=False) for i, unit in enumerate(units)]
        index = {f.key: i for i, f in enumerate(futures)}
        pending = as_completed(futures)
        finished = 0
        last_worker_seen = time.monotonic()
        try:
            while not pending.is_empty():
                batch = pending.next_batch(block=False)
                if not batch:
                    progress.check()
                    last_worker_seen = self._check_workers(last_worker_seen)
                    time.sleep(0.05)
                    continue
                for future in batch:
                    i = index[future.key]
                    outcome = self._outcome(future, units[i])
                    finished += 1
                    progress.info(f"{units[i].label}: done ({finished}/{len(units)})")
                    yield i, outcome.value
                    progress.report(100.0 * finished / len(units))
                progress.check()
        except BaseException:
            self._stop(futures, event)
            raise

    def _check_workers(self, last_seen: float) -> float:
        """The last time a worker was connected; InputError after :data:`NO_WORKER_S` without one."""
        now = time.monotonic()
        if now - last_seen < 1.0:
            return last_seen
        if self.client.scheduler_info(n_workers=-1)["workers"]:
            return now
        if now - last_seen > NO_WORKER_S:
            raise InputError(f"CLUSTER: the scheduler has had no worker for {NO_WORKER_S:.0f} s (did they "
                             "fail to start, or die?); the run was stopped. Start workers (dask worker "
                             "ADDRESS) and run again.")
        return last_seen

    @staticmethod
    def _outcome(future, unit: Unit) -> _Outcome:
        """The unit's outcome; InputError with its message, Cancelled, or the worker's failure."""
        from distributed import KilledWorker

        try:
            outcome = future.result()
        except KilledWorker as err:
            raise InputError(f"{unit.label}: every worker that ran it died (out of memory, or killed), "
                             f"so the scheduler gave up on it and the run was stopped ({err}).") from None
        if outcome.error is not None:
            raise InputError(outcome.error)
        if outcome.cancelled:
            raise Cancelled("Cancelled by the user.")
        return outcome

    def _stop(self, futures, event) -> None:
        """Ask running units to stop, wait for them (bounded; not at all without workers), then cancel the rest."""
        from distributed import wait

        event.set()
        try:
            if self.client.scheduler_info(n_workers=-1)["workers"]:
                wait(futures, timeout=STOP_WAIT_S)
        except Exception:  # noqa: BLE001 (a timeout, or the cluster went away: cancel what remains)
            pass
        self.client.cancel([f for f in futures if not f.done()], force=True)


def engine_zip(folder: Optional[str] = None) -> Tuple[str, str]:
    """(path, version) of the zip of :data:`ENGINE_PACKAGES`, built once per version.

    The version is a hash of the packages' sources; the zip holds ``ROOT/<package>/...py``
    and a ``ROOT/__init__.py`` that only records the version. Older versions' zips are removed.
    """
    plugin_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = []
    for package in ENGINE_PACKAGES:
        for base, dirs, names in os.walk(os.path.join(plugin_dir, package)):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
            files += [os.path.join(base, n) for n in sorted(names) if n.endswith(".py")]
    digest = hashlib.sha256()
    for path in files:
        digest.update(os.path.relpath(path, plugin_dir).encode())
        with open(path, "rb") as f:
            digest.update(f.read())
    version = digest.hexdigest()[:16]
    folder = folder or os.path.join(tempfile.gettempdir(), "lstfusion-engine")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{ROOT}_engine_{version}.zip")
    if not os.path.exists(path):
        tmp = f"{path}.{uuid.uuid4().hex[:8]}.partial"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{ROOT}/__init__.py", f'"""QGIS-free engine of {ROOT} for Dask workers."""\n'
                                              f'ENGINE_VERSION = "{version}"\n')
            for path_in in files:
                z.write(path_in, f"{ROOT}/{os.path.relpath(path_in, plugin_dir)}")
        os.replace(tmp, path)
        for old in os.listdir(folder):  # earlier versions (each is read whole when shipped)
            if old.startswith(f"{ROOT}_engine_") and old.endswith(".zip") and old != os.path.basename(path):
                os.remove(os.path.join(folder, old))
    return path, version


def _activate(zip_name: str) -> str:
    """On a worker: import the engine only from ``zip_name``; its version.

    Other versions leave ``sys.path``; when any engine module was imported from
    elsewhere all are dropped, else they are kept (with numba's compiled kernels).
    """
    for entry in [p for p in sys.path if os.path.basename(p).startswith(f"{ROOT}_engine_")]:
        if os.path.basename(entry) != zip_name:
            sys.path.remove(entry)
    loaded = [m for m in sys.modules if m == ROOT or m.startswith(ROOT + ".")]
    if any(zip_name not in (getattr(sys.modules[m], "__file__", None) or "") for m in loaded):
        for name in loaded:
            del sys.modules[name]
    importlib.invalidate_caches()
    return importlib.import_module(ROOT).ENGINE_VERSION


def ship_engine(client, scheduler: bool = True) -> str:
    """Send the engine zip to every worker, now and later ones, and with ``scheduler`` to the
    scheduler (it unpickles the units; a LocalCluster's runs in this process and has the engine
    already: loading the zip there would replace this process's own modules); its version."""
    from distributed.diagnostics.plugin import SchedulerUploadFile, UploadFile

    path, version = engine_zip()
    name = os.path.basename(path)
    if scheduler:
        client.register_plugin(SchedulerUploadFile(path, load=True), name=PLUGIN_NAME)
    client.register_plugin(UploadFile(path, load=True), name=PLUGIN_NAME)
    versions = dict(client.run(_activate, name))
    if scheduler:
        versions["scheduler"] = client.run_on_scheduler(_activate, name)
    stale = sorted(w for w, v in versions.items() if v != version)
    if stale:
        raise InputError(f"CLUSTER: {', '.join(stale)} could not load the plugin's engine {version}.")
    return version


def _spawn_with_python() -> None:
    """Make multiprocessing start LocalCluster workers with this runtime's own interpreter.

    Spawn runs ``sys.executable``, which in a program that embeds Python (QGIS,
    qgis_process) may be the program itself or whatever ``python3`` is first on
    the PATH; the interpreter under ``sys.exec_prefix`` is the one whose standard
    library this process uses.
    """
    import multiprocessing

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.join(sys.exec_prefix, "bin", f"python{version}"),
                      os.path.join(sys.exec_prefix, "python.exe")):
        if os.path.isfile(candidate):
            multiprocessing.set_executable(candidate)
            return
    if not os.path.basename(sys.executable).lower().startswith("python"):
        raise InputError(f"CLUSTER: local:N needs a Python {version} interpreter to start workers "
                         f"with, and none was found in {sys.exec_prefix}; start a cluster yourself "
                         "(dask scheduler, dask worker) and give its address instead.")


@contextmanager
def open_runner(text: str, progress: Optional[Progress] = None):
    """The runner for a CLUSTER value (see the module docstring); closes what it started."""
    progress = ensure(progress)
    kind, value = parse_cluster(text)
    if kind == "inprocess":
        yield InProcess()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise InputError(DASK_HINT.format(python=sys.executable)) from err
    cluster = None
    if kind == "local":
        progress.info(f"Starting a local Dask cluster of {value} worker processes.")
        _spawn_with_python()
        cluster = LocalCluster(n_workers=value, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(value, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as err:
            raise InputError(f"CLUSTER: cannot reach the Dask scheduler at {value} ({err}). "
                             "Is it running, and is the address right?") from err
    try:
        version = ship_engine(client, scheduler=kind == "address")
        runner = DaskRunner(client)
        progress.info(f"Dask cluster {client.scheduler.address}: {runner.workers} worker(s), engine {version}.")
        yield runner
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
