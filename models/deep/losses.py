"""Training losses shared by the deep models: masked MSE, MS-SSIM, feature loss.

All take (N, bands, H, W) tensors in normalised units. Pixels where the target
is no-data (``mask`` 0) must not steer training: :func:`fill_invalid` replaces
them in the target by the (detached) prediction, so they add no error to any
term, and MSE is averaged over valid pixels only.

MS-SSIM choice for the survey's 95 x 95 patches: the standard 5 scales with an
11 x 11 window need at least 11 x 2^4 = 176 pixels, so we default to 3 scales
with a 7 x 7 Gaussian window (sigma 1.5), which needs 7 x 2^2 = 28 pixels; the
three scale weights are the first three standard ones (0.0448, 0.2856, 0.3001)
renormalised to sum 1. Contrast-structure terms are clamped at 0 before the
power (negative correlations would give NaN), as is common practice.
"""
import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Scale weights of Wang et al. (2003), finest first."""


def fill_invalid(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The target with its invalid pixels (mask 0) replaced by the detached prediction."""
    return torch.where(mask > 0, target, pred.detach())


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid pixels (mask (N, 1, H, W) broadcast over bands)."""
    weight = mask.expand_as(pred)
    return ((pred - target) ** 2 * weight).sum() / weight.sum().clamp_min(1.0)


def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ms_ssim_min_size(scales: int = 3, window: int = 7) -> int:
    """Smallest patch side (pixels) that :func:`ms_ssim` accepts with these settings."""
    return window * 2 ** (scales - 1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = None, scales: int = 3,
            window: int = 7, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Multi-scale SSIM of two (N, C, H, W) tensors, a scalar in [0, 1] for similar images.

    ``data_range`` defaults to the value range of ``y`` (detached). Windows are
    'valid' (no padding); between scales images are halved by 2 x 2 average
    pooling. Raises ValueError when H or W is below :func:`ms_ssim_min_size`.
    """
    if min(x.shape[-2:]) < ms_ssim_min_size(scales, window):
        raise ValueError(f"MS-SSIM with {scales} scales and a {window} x {window} window needs "
                         f"patches of at least {ms_ssim_min_size(scales, window)} pixels, "
                         f"got {tuple(x.shape[-2:])}")
    if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"scales must be 1-{len(MS_SSIM_WEIGHTS)}")
    x, y = x.float(), y.float()
    if data_range is None:
        data_range = (y.max() - y.min()).detach().clamp_min(1e-6)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    kernel = _gaussian_window(window, sigma, x.shape[1], x)
    groups = x.shape[1]
    result = torch.ones((), dtype=x.dtype, device=x.device)
    for level in range(scales):
        mx, my = F.conv2d(x, kernel, groups=groups), F.conv2d(y, kernel, groups=groups)
        sxx = F.conv2d(x * x, kernel, groups=groups) - mx * mx
        syy = F.conv2d(y * y, kernel, groups=groups) - my * my
        sxy = F.conv2d(x * y, kernel, groups=groups) - mx * my
        cs = ((2 * sxy + c2) / (sxx + syy + c2)).mean()
        if level == scales - 1:
            luminance = ((2 * mx * my + c1) / (mx * mx + my * my + c1)).mean()
            result = result * (luminance * cs).clamp_min(1e-6) ** weights[level]
        else:
            result = result * cs.clamp_min(1e-6) ** weights[level]
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return result


def feature_loss(encoder: torch.nn.Module, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between the features of a (frozen) encoder applied to prediction and target."""
    with torch.no_grad():
        target_features = encoder(target)
    return F.mse_loss(encoder(pred), target_features)
