"""Install the optional deep-learning packages (pinned torch, numba) with pip, for QGIS's own Python.

QGIS runs its own interpreter, so the packages go with ``pip install --target``
into the plugin's dependency folder (:func:`common.deps.deps_dir`), which the
plugin appends to ``sys.path``. One pip run per step: torch with its
dependencies, then numba and llvmlite without theirs (their only other
dependency, numpy, comes with QGIS and must not be shadowed by another copy).
pip's output is streamed line by line to a callback, progress is estimated
from pip's phases, and a cancel terminates pip: ``--target`` installs into a
temporary folder first, so a cancelled or failed run leaves the folder as it was.
Knows nothing about QGIS (the Processing algorithm and the desktop dialog share it).
"""
import importlib
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from .deps import LLVMLITE_VERSION, NUMBA_VERSION, TORCH_VERSION, deps_dir
from .errors import Cancelled, InputError
from .progress import Progress, ensure

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
"""PyTorch's index of CPU-only wheels (Linux and Windows; PyPI's Linux torch is the multi-GB CUDA build)."""
TORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu128"
"""PyTorch's index of CUDA 12.8 wheels, for Windows (PyPI has only CPU torch there)."""
VARIANTS = ("cpu", "cuda")


@dataclass
class Step:
    """One pip run: requirements (``name==version``), whether pip may add their dependencies, an index."""

    requirements: List[str]
    with_dependencies: bool = True
    index_url: Optional[str] = None


@dataclass
class InstallPlan:
    """What to install where: pip steps, the target folder, an optional local wheel folder (offline)."""

    steps: List[Step]
    target: str
    find_links: Optional[str] = None
    """A folder of wheels: pip then runs with --no-index --find-links (no network)."""
    modules: Dict[str, str] = field(default_factory=dict)
    """Top-level module -> pinned version, checked after the install (see :func:`activate`)."""


@dataclass
class InstallResult:
    """What pip installed (``name-version`` as pip reports them) and whether Python can use it now."""

    installed: List[str]
    target: str
    ready: Dict[str, bool]
    """Per module: importable now at the pinned version, from this Python session."""
    restart_needed: bool
    message: str


def plan_install(variant: str = "cpu", target: Optional[str] = None, find_links: Optional[str] = None,
                 platform: str = sys.platform) -> InstallPlan:
    """The plan for the pinned torch (CPU or CUDA build) and numba into ``target`` (default: deps_dir()).

    CPU: PyTorch's CPU index on Linux and Windows, PyPI on macOS. CUDA: PyPI on
    Linux (its torch is the CUDA build), PyTorch's CUDA index on Windows; macOS
    has no CUDA build (InputError). ``find_links`` replaces every index.
    """
    if variant not in VARIANTS:
        raise InputError(f"Unknown build '{variant}': choose one of {', '.join(VARIANTS)}.")
    if variant == "cuda" and platform == "darwin":
        raise InputError("PyTorch has no CUDA build for macOS: install the CPU build.")
    index = None
    if not find_links:
        if variant == "cpu" and platform != "darwin":
            index = TORCH_CPU_INDEX
        elif variant == "cuda" and platform.startswith("win"):
            index = TORCH_CUDA_INDEX
    steps = [Step([f"torch=={TORCH_VERSION}"], True, index),
             Step([f"numba=={NUMBA_VERSION}", f"llvmlite=={LLVMLITE_VERSION}"], False)]
    return InstallPlan(steps, target or deps_dir(), find_links,
                       {"torch": TORCH_VERSION, "numba": NUMBA_VERSION, "llvmlite": LLVMLITE_VERSION})


def python_executable() -> str:
    """The program of the Python running this code (same version and prefix), to run pip with.

    Inside QGIS ``sys.executable`` is the QGIS program (Windows, macOS) or
    whatever ``python3`` comes first on PATH (a pyenv or conda one on Linux),
    which would install wheels for another Python: each candidate (the
    interpreter's own ``bin`` folder first) is run to check that it is this
    one. InputError when none is.
    """
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    names = ("python.exe", "python3.exe") if os.name == "nt" else (f"python{version}", "python3", "python")
    folders = (os.path.join(sys.exec_prefix, "bin"), sys.exec_prefix, os.path.dirname(sys.executable))
    candidates = [os.path.join(folder, name) for folder in folders for name in names] + [sys.executable]
    for candidate in dict.fromkeys(candidates):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and same_python(candidate):
            return candidate
    raise InputError(f"Could not find the program of this QGIS's Python {version} (looked in "
                     f"{', '.join(dict.fromkeys(folders))}): install the packages from a terminal with that "
                     "Python's pip.")


def same_python(program: str) -> bool:
    """True when ``program`` is this interpreter: same major.minor version and base prefix."""
    probe = "import sys; print(sys.version_info[0], sys.version_info[1], sys.base_prefix)"
    try:
        done = subprocess.run([program, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.stdout.strip() == f"{sys.version_info[0]} {sys.version_info[1]} {sys.base_prefix}"


def require_pip(python: str) -> None:
    """InputError saying how to get pip when ``python -m pip`` does not work."""
    try:
        done = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        raise InputError(f"Could not run {python}: {err}") from err
    if done.returncode != 0:
        raise InputError(f"pip is not available for QGIS's Python ({python}). Install it (on Debian or "
                         "Ubuntu: sudo apt install python3-pip), then try again.")


def nvidia_driver_present() -> bool:
    """True when an NVIDIA driver is installed (nvidia-smi on PATH, or the Linux kernel driver)."""
    return shutil.which("nvidia-smi") is not None or os.path.exists("/proc/driver/nvidia/version")


def pip_command(plan: InstallPlan, step: Step, python: str) -> List[str]:
    """The pip command line of one step."""
    command = [python, "-m", "pip", "install", "--target", plan.target, "--upgrade",
               "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
    if plan.find_links:
        command += ["--no-index", "--find-links", plan.find_links]
    elif step.index_url:
        command += ["--index-url", step.index_url]
    if not step.with_dependencies:
        command.append("--no-deps")
    return command + step.requirements


class PipProgress:
    """Percent of one pip run estimated from its output lines (pip prints no overall progress)."""

    def __init__(self):
        self.percent, self.fetched = 0.0, 0

    def update(self, line: str) -> float:
        """Advance on 'Collecting', 'Downloading'/'Processing' (a wheel), 'Installing', 'Successfully'."""
        text = line.strip()
        if text.startswith("Successfully installed"):
            self.percent = 100.0
        elif text.startswith("Installing collected packages"):
            self.percent = max(self.percent, 85.0)
        elif text.startswith(("Collecting", "Downloading", "Processing", "Using cached")):
            self.fetched += 1
            self.percent = max(self.percent, min(80.0, 80.0 * (1.0 - 0.8 ** self.fetched)))
        return self.percent


def installed_names(line: str) -> List[str]:
    """``name-version`` items of pip's 'Successfully installed ...' line ([] for other lines)."""
    match = re.match(r"\s*Successfully installed (.+)", line)
    return match.group(1).split() if match else []


def run_install(plan: InstallPlan, progress: Optional[Progress] = None,
                on_output: Optional[Callable[[str], None]] = None, python: Optional[str] = None) -> InstallResult:
    """Run the plan's pip steps, streaming pip's output; then make the packages importable (:func:`activate`).

    Raises Cancelled (pip terminated, the target left as it was) or InputError
    (pip failed: its exit status and last lines).
    """
    progress = ensure(progress)
    python = python or python_executable()
    require_pip(python)
    if plan.find_links and not os.path.isdir(plan.find_links):
        raise InputError(f"The wheel folder does not exist: {plan.find_links}")
    os.makedirs(plan.target, exist_ok=True)
    installed: List[str] = []
    for index, step in enumerate(plan.steps):
        sub = progress.sub(100.0 * index / len(plan.steps), 100.0 * (index + 1) / len(plan.steps))
        installed += _run_pip(pip_command(plan, step, python), sub, on_output or (lambda line: None))
    return activate(plan, installed)


def _run_pip(command: Sequence[str], progress: Progress, on_output: Callable[[str], None]) -> List[str]:
    """Run one pip command; lines go to ``on_output``; returns pip's 'Successfully installed' items."""
    progress.check()
    on_output("$ " + " ".join(command))
    env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_NO_COLOR="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", env=env, bufsize=1)
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    estimate, tail, installed = PipProgress(), [], []
    while True:
        if progress.is_cancelled():
            process.terminate()
            process.wait()
            raise Cancelled("Installation cancelled: pip was stopped and nothing was installed by this step.")
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        line = line.rstrip("\n")
        on_output(line)
        tail = (tail + [line])[-12:]
        installed += installed_names(line)
        progress.report(estimate.update(line))
    status = process.wait()
    if status != 0:
        raise InputError(f"pip failed (exit status {status}):\n" + "\n".join(tail))
    progress.report(100.0)
    return installed


def _read_lines(stream, lines: "queue.Queue[Optional[str]]") -> None:
    """Copy a pipe's lines into a queue (None at the end), so that the caller can poll for cancel."""
    for line in iter(stream.readline, ""):
        lines.put(line)
    stream.close()
    lines.put(None)


def activate(plan: InstallPlan, installed: List[str]) -> InstallResult:
    """Put the target folder on ``sys.path`` and check which modules this session can now use.

    A module already imported from elsewhere (an older torch, say) stays in
    memory until Python restarts, and so does one shadowed by a copy earlier on
    ``sys.path``: then a restart of QGIS is needed (and is said).
    """
    if plan.target not in sys.path:
        sys.path.append(plan.target)
    importlib.invalidate_caches()
    ready = {}
    for module, version in plan.modules.items():
        try:
            loaded = importlib.import_module(module)
        except Exception:  # noqa: BLE001 (a broken or partial package is 'not ready', whatever it raises)
            ready[module] = False
            continue
        ready[module] = str(getattr(loaded, "__version__", "")).split("+")[0] == version
    restart = not all(ready.values())
    names = ", ".join(installed) or "nothing new (already installed)"
    if restart:
        waiting = ", ".join(m for m, ok in ready.items() if not ok)
        message = (f"Installed into {plan.target}: {names}. Restart QGIS to use {waiting}: this session "
                   "still has another version loaded, or cannot import it yet.")
    else:
        message = f"Installed into {plan.target}: {names}. The deep-learning tools work now, without a restart."
    return InstallResult(installed, plan.target, ready, restart, message)
