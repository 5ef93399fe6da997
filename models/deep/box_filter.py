"""Windowed means on (N, C, H, W) tensors, shared by models whose layers use local statistics."""
import torch
import torch.nn.functional as F


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the (2 radius + 1)^2 window around each pixel, clipped at the border; same shape and dtype.

    Two 1-D passes of running sums, O(1) per pixel whatever the radius, in
    float64 so that the result does not depend on where the image starts (tiles
    agree with the whole image to ~1e-12). Windows that reach past the border
    average only the pixels inside, as a patch cut there would.
    """
    out = x.double()
    for dim in (2, 3):
        n = out.shape[dim]
        # running sums with a leading 0, extended by `radius` copies of the first and last value,
        # so that sums[i + 2r + 1] - sums[i] is the window sum of pixel i, clipped to the image
        sums = F.pad(torch.cumsum(out, dim), (0, 0, 1, 0) if dim == 2 else (1, 0))
        sums = F.pad(sums, (0, 0, radius, radius) if dim == 2 else (radius, radius, 0, 0), mode="replicate")
        idx = torch.arange(n, device=x.device)
        count = ((idx + radius + 1).clamp(max=n) - (idx - radius).clamp(min=0)).double()
        shape = [1, 1, 1, 1]
        shape[dim] = n
        out = (sums.narrow(dim, 2 * radius + 1, n) - sums.narrow(dim, 0, n)) / count.view(shape)
    return out.to(x.dtype)
