"""Training losses shared by the deep models: masked MSE, MS-SSIM, feature loss.

All take (N, bands, H, W) tensors in normalised units (value - mean) / std of the
training data. Pixels where the target is no-data (``mask`` 0) must not steer
training: :func:`fill_invalid` replaces them in the target by the (detached)
prediction, so they add no error to any term, and MSE is averaged over valid
pixels only.

MS-SSIM as published (Wang, Simoncelli, Bovik 2003) and as the EDCSTFN and MLFF-GAN
training code use it: 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
an 11 x 11 Gaussian window (sigma 1.5), 'valid' windows, 2 x 2 average pooling
between scales, a FIXED dynamic range L (not the batch's range: :data:`DATA_RANGE`),
and the product of the contrast-structure terms of the finer scales with the full
SSIM (luminance x contrast-structure) only at the coarsest scale M:
``MS-SSIM = SSIM_M^w_M * prod_{j<M} cs_j^w_j`` (each term a mean over the windows).
As in the authors' training code each term is mapped from [-1, 1] to [0, 1] by
``(v + 1) / 2`` before the power (``normalize=True`` there), so that negative
correlations give no NaN and keep a gradient.

Fallback for small patches (documented choice): 5 scales need patches of
11 x 2^4 = 176 pixels. On a smaller patch the scales that fit are used (the
largest M with 11 x 2^(M-1) <= side), their weights renormalised to sum 1; below
11 pixels the window shrinks to the patch side (the authors' code does that too).
:func:`ms_ssim_scales` says how many scales a patch side gets.
"""
import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Scale weights of Wang et al. (2003), finest first."""
WINDOW = 11
SIGMA = 1.5
DATA_RANGE = 4.0
"""L in normalised units: 4 standard deviations of the training data, about the span of
a scene's LST (mean +- 2 sd). Fixed, so that a loss value does not depend on the batch."""


def fill_invalid(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The target with its invalid pixels (mask 0) replaced by the detached prediction."""
    return torch.where(mask > 0, target, pred.detach())


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid pixels (mask (N, 1, H, W) broadcast over bands)."""
    weight = mask.expand_as(pred)
    return ((pred - target) ** 2 * weight).sum() / weight.sum().clamp_min(1.0)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the valid pixels."""
    weight = mask.expand_as(pred)
    return ((pred - target).abs() * weight).sum() / weight.sum().clamp_min(1.0)


def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ms_ssim_scales(side: int, scales: int = len(MS_SSIM_WEIGHTS), window: int = WINDOW) -> int:
    """Scales :func:`ms_ssim` uses on a patch of ``side`` pixels (at least 1)."""
    fit = 1
    while fit < scales and window * 2 ** fit <= side:
        fit += 1
    return fit


def ssim_terms(x: torch.Tensor, y: torch.Tensor, data_range: float = DATA_RANGE, window: int = WINDOW,
               sigma: float = SIGMA, k1: float = 0.01, k2: float = 0.03):
    """(SSIM, contrast-structure) means over the 'valid' windows of two (N, C, H, W) tensors."""
    size = min(window, *x.shape[-2:])
    size -= 1 - size % 2  # odd
    kernel = _gaussian_window(size, sigma, x.shape[1], x)
    groups = x.shape[1]
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mx, my = F.conv2d(x, kernel, groups=groups), F.conv2d(y, kernel, groups=groups)
    sxx = F.conv2d(x * x, kernel, groups=groups) - mx * mx
    syy = F.conv2d(y * y, kernel, groups=groups) - my * my
    sxy = F.conv2d(x * y, kernel, groups=groups) - mx * my
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    luminance = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (luminance * cs_map).mean(), cs_map.mean()


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = DATA_RANGE,
            scales: int = len(MS_SSIM_WEIGHTS), window: int = WINDOW, normalize: bool = True) -> torch.Tensor:
    """Multi-scale SSIM of two (N, C, H, W) tensors, a scalar (1 for identical images).

    ``scales`` is the most scales used (fewer on small patches, see the module
    docstring); ``normalize`` maps each term to (v + 1) / 2 as the authors' code does.
    """
    if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"scales must be 1-{len(MS_SSIM_WEIGHTS)}")
    x, y = x.float(), y.float()
    used = ms_ssim_scales(min(x.shape[-2:]), scales, window)
    weights = torch.tensor(MS_SSIM_WEIGHTS[:used], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    result = torch.ones((), dtype=x.dtype, device=x.device)
    for level in range(used):
        ssim, cs = ssim_terms(x, y, data_range, window)
        term = ssim if level == used - 1 else cs
        term = (term + 1) / 2 if normalize else term.clamp_min(1e-6)
        result = result * term ** weights[level]
        if level < used - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return result


def feature_loss(encoder: torch.nn.Module, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between the features of a (frozen) encoder applied to prediction and target."""
    with torch.no_grad():
        target_features = encoder(target)
    return F.mse_loss(encoder(pred), target_features)
