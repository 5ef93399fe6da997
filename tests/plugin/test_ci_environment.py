"""CI cannot go green by skipping: missing packages or real data stop the run, skips fail."""
import os
import subprocess
import sys

import ci_environment
from ci_environment import SHARED_FILES, missing_requirements, missing_shared_data, pinned_requirements

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = '''
import pytest

def test_passes():
    assert True

def test_skips():
    pytest.skip("no frobnicator here")
'''


def test_pins_are_read_and_missing_or_other_versions_are_named(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nno-such-package-lstfusion==1.0  # why\npytest==0.0.1\n"
                            "unpinned-package\nnumpy>=1\n")
    assert pinned_requirements(str(requirements)) == [("no-such-package-lstfusion", "1.0"), ("pytest", "0.0.1")]
    import pytest
    assert missing_requirements(str(requirements)) == [
        "package no-such-package-lstfusion==1.0 is not installed",
        f"package pytest is {pytest.__version__}, pinned 0.0.1"]


def test_every_real_data_file_the_tests_read_is_named_when_absent(tmp_path):
    missing = missing_shared_data(str(tmp_path))
    assert missing == [f"real data file {tmp_path / name} is absent" for name in SHARED_FILES]
    for name in SHARED_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert missing_shared_data(str(tmp_path)) == []


def run_probe(tmp_path, module_skip=False, **env):
    """Run pytest on PROBE (and a module that skips at import) with our CI hooks, in a fresh
    process; return (exit code, output)."""
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {TESTS!r})\n"
        "from ci_environment import pytest_make_collect_report, pytest_runtest_makereport, pytest_sessionstart\n")
    (tmp_path / "test_probe.py").write_text(PROBE)
    if module_skip:
        (tmp_path / "test_needs_module.py").write_text(
            "import pytest\npytest.importorskip('no_such_module_lstfusion')\n\ndef test_x():\n    pass\n")
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "LST_FUSION_SHARED_DATA")}
    environment.update(env)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:pytest_qgis",
                           "-rA", str(tmp_path)], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_without_ci_a_skip_is_a_skip_with_its_reason(tmp_path):
    code, output = run_probe(tmp_path, module_skip=True)
    assert code == 0, output
    assert "1 passed, 2 skipped" in output and "no frobnicator here" in output


def test_in_ci_every_skip_fails_with_its_reason(tmp_path):
    code, output = run_probe(tmp_path, CI="true")
    assert code == 1, output
    assert "skipped, which CI (CI=true) does not allow: Skipped: no frobnicator here" in output
    assert output.rstrip().splitlines()[-1].strip("= ").startswith("1 failed, 1 passed in")


def test_in_ci_a_module_skipped_at_import_is_a_collection_error(tmp_path):
    code, output = run_probe(tmp_path, module_skip=True, CI="true")
    assert code == 2, output  # pytest's 'interrupted: errors during collection'
    assert "does not allow: Skipped: could not import 'no_such_module_lstfusion'" in output


def test_in_ci_missing_real_data_stops_the_run_before_any_test_and_names_the_files(tmp_path):
    absent = tmp_path / "no_shared"
    code, output = run_probe(tmp_path, CI="true", LST_FUSION_SHARED_DATA=str(absent))
    assert code == 4, output
    assert "CI=true but the test environment is incomplete" in output
    for name in SHARED_FILES:
        assert f"real data file {absent / name} is absent" in output
    assert "passed" not in output


def test_in_ci_this_environment_is_complete():
    """The CI machine has every pinned package and real-data file (locally this may be short)."""
    if ci_environment.in_ci():
        requirements = os.path.join(ci_environment.REPO, "requirements.txt")
        assert missing_requirements(requirements) + missing_shared_data(ci_environment.SHARED_DATA) == []
