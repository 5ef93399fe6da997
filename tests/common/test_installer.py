"""The pip installer engine against a local wheel folder (pip --no-index --find-links): no network."""
import os
import sys

import pytest
from lst_fusion_plugin.common import installer
from lst_fusion_plugin.common.deps import LLVMLITE_VERSION, NUMBA_VERSION, TORCH_VERSION
from lst_fusion_plugin.common.errors import Cancelled, InputError
from lst_fusion_plugin.common.installer import (
    InstallPlan,
    PipProgress,
    Step,
    plan_install,
    run_install,
)
from lst_fusion_plugin.common.progress import Progress
from wheels import make_wheel


@pytest.fixture
def clean_path(monkeypatch):
    """sys.path and sys.modules restored after the test (the installer appends its target folder)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in [n for n in sys.modules if n.startswith("lstdummy")]:
        del sys.modules[name]


def dummy_plan(tmp_path, version="1.0"):
    wheels = tmp_path / "wheels"
    wheels.mkdir(exist_ok=True)
    make_wheel(wheels, "lstdummy", version)
    return InstallPlan([Step([f"lstdummy=={version}"])], str(tmp_path / "deps"), str(wheels), {"lstdummy": version})


def test_installs_from_a_wheel_folder_streams_output_and_is_usable_at_once(tmp_path, clean_path):
    lines, percents = [], []
    result = run_install(dummy_plan(tmp_path), Progress(report=percents.append), lines.append)
    assert result.installed == ["lstdummy-1.0"]
    assert os.path.isfile(tmp_path / "deps" / "lstdummy" / "__init__.py")
    assert result.ready == {"lstdummy": True} and not result.restart_needed
    assert "work now, without a restart" in result.message
    import lstdummy
    assert lstdummy.MARKER == "dummy" and lstdummy.__file__.startswith(str(tmp_path / "deps"))
    assert lines[0].startswith(f"$ {installer.python_executable()} -m pip install --target {tmp_path / 'deps'}")
    assert "--no-index" in lines[0] and any(line.startswith("Successfully installed lstdummy-1.0") for line in lines)
    assert percents[-1] == 100.0 and percents == sorted(percents)


def test_a_module_already_loaded_at_another_version_needs_a_restart(tmp_path, clean_path):
    run_install(dummy_plan(tmp_path, "1.0"), None, None)
    import lstdummy  # noqa: F401 (now loaded at 1.0)
    result = run_install(dummy_plan(tmp_path, "2.0"), None, None)
    assert result.installed == ["lstdummy-2.0"] and result.restart_needed
    assert "Restart QGIS to use lstdummy" in result.message
    with open(tmp_path / "deps" / "lstdummy" / "__init__.py") as handle:
        assert '"2.0"' in handle.read()


def test_cancel_stops_pip_and_installs_nothing(tmp_path, clean_path):
    cancelled = []
    progress = Progress(is_cancelled=lambda: bool(cancelled))
    with pytest.raises(Cancelled, match="nothing was installed"):
        run_install(dummy_plan(tmp_path), progress, cancelled.append)
    assert not (tmp_path / "deps" / "lstdummy").exists()


def test_pip_failure_is_an_input_error_with_pips_words(tmp_path, clean_path):
    plan = dummy_plan(tmp_path)
    plan.steps = [Step(["lstdummy==9.9"])]
    with pytest.raises(InputError, match=r"pip failed \(exit status 1\):(.|\n)*lstdummy==9.9"):
        run_install(plan)
    with pytest.raises(InputError, match="wheel folder does not exist"):
        run_install(InstallPlan(plan.steps, str(tmp_path / "d"), str(tmp_path / "nowhere")))


def test_plans_pin_the_requirements_and_pick_the_index_per_build():
    cpu = plan_install("cpu", "/deps", platform="linux")
    assert [s.requirements for s in cpu.steps] == [[f"torch=={TORCH_VERSION}"],
                                                   [f"numba=={NUMBA_VERSION}", f"llvmlite=={LLVMLITE_VERSION}"]]
    assert [s.with_dependencies for s in cpu.steps] == [True, False]  # numpy stays QGIS's own
    assert cpu.steps[0].index_url == installer.TORCH_CPU_INDEX
    assert plan_install("cuda", "/deps", platform="linux").steps[0].index_url is None  # PyPI's Linux torch: CUDA
    assert plan_install("cuda", "/deps", platform="win32").steps[0].index_url == installer.TORCH_CUDA_INDEX
    assert plan_install("cpu", "/deps", platform="darwin").steps[0].index_url is None
    with pytest.raises(InputError, match="no CUDA build for macOS"):
        plan_install("cuda", "/deps", platform="darwin")
    command = installer.pip_command(cpu, cpu.steps[1], "/usr/bin/python3")
    assert command[:6] == ["/usr/bin/python3", "-m", "pip", "install", "--target", "/deps"]
    assert "--no-deps" in command and "--index-url" not in command
    offline = plan_install("cpu", "/deps", "/wheels", platform="linux")
    assert installer.pip_command(offline, offline.steps[0], "py")[-4:] == [
        "--no-index", "--find-links", "/wheels", f"torch=={TORCH_VERSION}"]


def test_progress_estimate_follows_pips_phases():
    estimate = PipProgress()
    values = [estimate.update(line) for line in ("Looking in links: /w", "Collecting torch==2.13.0",
                                                 "Processing /w/torch.whl", "Installing collected packages: torch",
                                                 "Successfully installed torch-2.13.0")]
    assert values[0] == 0.0 and 0 < values[1] < values[2] < 80.0 and values[3] == 85.0 and values[4] == 100.0
    assert installer.installed_names("Successfully installed a-1 b-2.0") == ["a-1", "b-2.0"]


def test_python_executable_is_this_interpreter_even_when_sys_executable_is_not(monkeypatch, tmp_path):
    found = installer.python_executable()
    assert os.path.basename(found).startswith("python") and installer.same_python(found)
    # inside QGIS, sys.executable may be the QGIS program or another Python found on PATH
    other = tmp_path / "python3"
    other.write_text("#!/bin/sh\necho 2 7 /elsewhere\n")
    other.chmod(0o755)
    assert not installer.same_python(str(other))
    monkeypatch.setattr(sys, "executable", str(other))
    assert installer.python_executable() == found


def test_a_python_without_pip_is_explained(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho 'No module named pip' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(InputError, match="pip is not available for QGIS's Python.*python3-pip"):
        installer.require_pip(str(fake))
