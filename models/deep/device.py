"""Choice of the torch device for deep models: 'auto', 'cpu' or 'cuda'."""
from ...common.deps import require_torch
from ...common.errors import InputError

DEVICES = ("auto", "cpu", "cuda")
"""Device names accepted by :func:`resolve_device`, in the order of the Processing enum."""


def resolve_device(name: str):
    """The torch.device for ``name``: 'auto' is CUDA when available, else the CPU.

    InputError when 'cuda' is asked for and torch sees no CUDA GPU.
    """
    torch = require_torch()
    if name not in DEVICES:
        raise InputError(f"Unknown device '{name}'; use one of {', '.join(DEVICES)}.")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("DEVICE is 'cuda' but PyTorch sees no CUDA GPU (a CPU-only torch build, no "
                         "NVIDIA driver, or no GPU). Choose 'auto' or 'cpu'.")
    return torch.device(name)


def describe_device(device) -> str:
    """'CPU (2 threads)' or 'CUDA: <GPU name>'."""
    torch = require_torch()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
"""CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: AMX tiles or AVX-512 BF16."""


def cpu_has_native_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the CPU computes bfloat16 natively (Intel AMX or AVX-512 BF16), where bfloat16
    autocast trains the deep models 1.6-1.7x faster (``benchmarks/bench_train_speed.py``);
    False elsewhere, where bfloat16 is emulated and slower than float32."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def training_precision(device, amp: bool) -> str:
    """The autocast precision of training: 'float16' on CUDA and 'bfloat16' on a CPU with native
    bfloat16 when ``amp``; 'float32' otherwise (prediction always runs in float32 on the CPU)."""
    if not amp:
        return "float32"
    if device.type == "cuda":
        return "float16"
    return "bfloat16" if cpu_has_native_bfloat16() else "float32"
