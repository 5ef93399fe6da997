"""A real Dask cluster for the tests: one ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1.

The workers are plain ``dask worker ADDRESS`` processes of the test interpreter's
environment, but with a ``qgis`` package on their ``PYTHONPATH`` that refuses to
import, and without the plugin on their path: they can only run the engine the
client ships to them. Start-up and shut-down are bounded in time; the processes
are always stopped (and exit on their own when the scheduler goes away).
"""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import List

import pytest

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20
WORKERS = 2
DASK = os.path.join(os.path.dirname(sys.executable), "dask")


@dataclass
class DaskProcesses:
    """The scheduler's address and the processes behind it."""

    address: str
    folder: str
    processes: List[subprocess.Popen]

    def client(self):
        """A new client of this cluster, once it has all its workers."""
        from distributed import Client

        client = Client(self.address, timeout=START_TIMEOUT_S)
        client.wait_for_workers(WORKERS, timeout=START_TIMEOUT_S)
        return client


def _environment(folder: str) -> dict:
    """The workers' environment: ``import qgis`` fails, one numeric thread per worker."""
    blocker = os.path.join(folder, "no_qgis", "qgis")
    os.makedirs(blocker, exist_ok=True)
    with open(os.path.join(blocker, "__init__.py"), "w") as f:
        f.write('raise ImportError("qgis is not available on this Dask worker")\n')
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(PYTHONPATH=os.path.dirname(blocker), OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _start(args, folder: str, name: str, env: dict) -> subprocess.Popen:
    log = open(os.path.join(folder, f"{name}.log"), "w")
    return subprocess.Popen([DASK] + args, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(processes: List[subprocess.Popen]) -> None:
    """SIGTERM, then SIGKILL the process groups that outlive STOP_TIMEOUT_S."""
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for p in processes:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    """A running scheduler with two single-threaded workers that cannot import qgis."""
    pytest.importorskip("distributed")
    folder = str(tmp_path_factory.mktemp("dask"))
    env = _environment(folder)
    scheduler_file = os.path.join(folder, "scheduler.json")
    processes = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                         "--scheduler-file", scheduler_file], folder, "scheduler", env)]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not os.path.exists(scheduler_file):
            if time.monotonic() > deadline or processes[0].poll() is not None:
                pytest.fail(f"the dask scheduler did not start; see {folder}/scheduler.log")
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, but let it land
        with open(scheduler_file) as f:
            address = json.load(f)["address"]
        for i in range(WORKERS):
            processes.append(_start(["worker", address, "--nthreads", "1", "--no-dashboard",
                                     "--death-timeout", "60", "--local-directory",
                                     os.path.join(folder, f"worker{i}")], folder, f"worker{i}", env))
        cluster = DaskProcesses(address, folder, processes)
        cluster.client().close()
        yield cluster
    finally:
        _stop(processes)
