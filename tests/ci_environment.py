"""What the test suite needs from its environment, and the pytest hooks that enforce it in CI.

In CI (environment variable ``CI`` set to true/1/yes) every test must run: a missing pinned
package or missing real-data file stops the session before any test, naming them, and any
skip is turned into a failure. Locally, without ``CI``, tests that need them skip with a reason.
``tests/conftest.py`` imports the hooks; ``LST_FUSION_SHARED_DATA`` replaces ../shared/data.
"""
import os
import re
from importlib import metadata
from typing import List, Tuple

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = (os.environ.get("LST_FUSION_SHARED_DATA")
               or os.path.normpath(os.path.join(REPO, "..", "shared", "data")))
# The real-data files the tests read, relative to ../shared/data (see its README.md).
SHARED_FILES = (
    "yanco/Landsat_LST_cloudrm_20160205.tif",
    "yanco/Landsat_LST_cloudrm_20160308.tif",
    "yanco/MOD11A1_LST_cloudrm_20160205.tif",
    "yanco/MOD11A1_LST_cloudrm_20160218.tif",
    "yanco/MOD11A1_LST_cloudrm_20160308.tif",
    "modis/MOD11A1.A2019305.h14v09.hdf",
)


def in_ci() -> bool:
    """True when the environment variable CI says so (GitHub, GitLab and most services set CI=true)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def pinned_requirements(path: str) -> List[Tuple[str, str]]:
    """(distribution name, version) of every ``name==version`` line of a requirements file."""
    pins = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
            if match:
                pins.append((match.group(1), match.group(2)))
    return pins


def missing_requirements(path: str) -> List[str]:
    """One line per pinned package that is not installed or not at its pinned version.

    A local version label (torch's ``+cpu``) is ignored: ``2.13.0+cpu`` satisfies ``==2.13.0``.
    """
    problems = []
    for name, pinned in pinned_requirements(path):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"package {name}=={pinned} is not installed")
            continue
        if installed.split("+")[0] != pinned:
            problems.append(f"package {name} is {installed}, pinned {pinned}")
    return problems


def missing_shared_data(folder: str) -> List[str]:
    """One line per real-data file of :data:`SHARED_FILES` absent under ``folder``."""
    return [f"real data file {os.path.join(folder, name)} is absent"
            for name in SHARED_FILES if not os.path.isfile(os.path.join(folder, name))]


def pytest_sessionstart(session):
    """In CI, stop before any test when a pinned package or real-data file is missing, naming them."""
    if not in_ci():
        return
    problems = missing_requirements(os.path.join(REPO, "requirements.txt")) + missing_shared_data(SHARED_DATA)
    if problems:
        pytest.exit("CI=true but the test environment is incomplete (these tests would have been "
                    "skipped):\n  " + "\n  ".join(problems) + "\nRun 'make setup' and provide "
                    f"{SHARED_DATA} (see its README.md).", returncode=pytest.ExitCode.USAGE_ERROR)


def _skip_fails_in_ci(report):
    """In CI a skipped test or module is a failure: the suite must not go green by skipping."""
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, which CI (CI=true) does not allow: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Test phases: see :func:`_skip_fails_in_ci`."""
    return _skip_fails_in_ci((yield))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Module collection (``importorskip`` at import time): see :func:`_skip_fails_in_ci`."""
    return _skip_fails_in_ci((yield))
