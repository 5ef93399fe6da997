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
