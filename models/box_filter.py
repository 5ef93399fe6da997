"""Windowed means on (N, C, H, W) tensors, shared by models whose layers use local statistics."""
import torch.nn.functional as F


def box_mean(x, radius: int):
    """Mean over the (2 radius + 1)^2 window around each pixel, clipped at the border; same shape.

    Separable (two 1-D passes), so it costs O(radius) per pixel; windows that
    reach past the border average only the pixels inside, as a patch cut there would.
    """
    k = 2 * radius + 1
    x = F.avg_pool2d(x, (k, 1), stride=1, padding=(radius, 0), count_include_pad=False)
    return F.avg_pool2d(x, (1, k), stride=1, padding=(0, radius), count_include_pad=False)
