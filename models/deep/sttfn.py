"""STTFN (Yin et al. 2021, IEEE TGRS 59(2)): spatiotemporal temperature fusion network.

A multiscale residual CNN that predicts the fine-scale LST change between a
reference date and the target date from the coarse change and the fine
reference; the prediction is the fine reference plus that change. It is trained
in both temporal directions (reference before and after the target), and with two
reference pairs the two one-pair predictions are combined by a spatio-temporal
consistency (STC) weighting. All tensors are (N, bands, H, W) on the fine grid,
normalised by the training statistics; any H, W >= 1 works.

No official code exists. Choices the paper leaves open, and why:

* **Inputs and output.** The network sees ``(fine_ref, coarse_target - coarse_ref)``
  and outputs the change; ``prediction = fine_ref + change``. The coarse change
  is what the paper says the change is learned from, and a difference of two
  coarse images aligned on the fine grid cancels their common inter-sensor bias.
* **Multiscale block.** Three parallel convolutions of 3 x 3, 5 x 5 and 7 x 7
  (32 filters each, ReLU) see the inputs at three scales; a 1 x 1 conv fuses
  their 96 maps to ``width`` (64). Three scales are the usual reading of
  "multiscale" in the CNN fusion papers STTFN builds on; 7 x 7 (about 200 m at
  30 m) covers the sub-kilometre thermal structure.
* **Residual body.** 4 residual blocks of two 3 x 3 convs of
  ``width`` channels with ReLU, then a 3 x 3 conv to the bands. No batch
  normalisation: it adds nothing for a regression this shallow and would tie
  predictions to batch statistics. Replicate padding (no dark border frame).
  About 0.31 M parameters for one band, the size of EDCSTFN (0.28 M): the survey
  compares models of that scale. Receptive radius 3 + 2 blocks + 1 = 12 pixels.
* **Loss and optimiser.** Mean squared error of the prediction (over valid
  pixels), Adam at 1e-3 (the rate EDCSTFN uses, which suits a net this shallow).
* **Both directions.** Each training triplet is also used reversed (the later
  pair as reference, the earlier date as target), as in the paper's
  forward/backward training; the shared engine (``core/deep_train.py``) builds
  both directions for every model, so nothing here is STTFN-specific.
* **STC weighting.** With a pair before (a) and after (b) the target, prediction
  k is weighted by ``1 / (|box(P_k) - box(C_target)| + eps)``, normalised to sum
  1, where ``box`` is the mean over a (2 :data:`STC_RADIUS` + 1)^2 window: how
  far the prediction, seen at the coarse scale, is from the coarse observation of
  the target date, locally. The radius is 16 fine pixels (a 33 x 33 window, about
  one MODIS pixel at 30 m); ``eps`` 0.01 normalised units (a few hundredths of a
  kelvin) keeps the weights finite where a prediction matches exactly. Where both
  agree equally the result is their mean. The tile halo is the network's
  receptive radius plus this window's radius (28 pixels).
"""
import torch
import torch.nn.functional as F
from torch import nn

from .box_filter import box_mean
from .losses import masked_mse

DEFAULTS = {"width": 64}
BLOCKS = 4
BRANCH = 32
STC_RADIUS = 16
SCALES = (3, 5, 7)
STC_EPS = 0.01


def _conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, padding_mode="replicate")


class ResidualBlock(nn.Module):
    """``relu(x + conv(relu(conv(x))))``, 3 x 3 convs."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = _conv(width, width, 3)
        self.conv2 = _conv(width, width, 3)

    def forward(self, x):
        return F.relu(x + self.conv2(F.relu(self.conv1(x))))


class STTFN(nn.Module):
    """``forward(fine_ref, coarse_ref, coarse_target) -> fine_ref + predicted fine change``."""

    def __init__(self, bands: int = 1, width: int = DEFAULTS["width"], blocks: int = BLOCKS,
                 branch: int = BRANCH):
        super().__init__()
        self.branches = nn.ModuleList(_conv(2 * bands, branch, k) for k in SCALES)
        self.fuse = nn.Conv2d(branch * len(SCALES), width, 1)
        self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.out = _conv(width, bands, 3)
        self.halo = receptive_radius(blocks) + STC_RADIUS

    def change(self, fine_ref, coarse_ref, coarse_target):
        """Predicted fine change from the reference date to the target date, (N, bands, H, W)."""
        x = torch.cat((fine_ref, coarse_target - coarse_ref), dim=1)
        x = torch.cat([F.relu(branch(x)) for branch in self.branches], dim=1)
        return self.out(self.body(F.relu(self.fuse(x))))

    def forward(self, fine_ref, coarse_ref, coarse_target):
        return fine_ref + self.change(fine_ref, coarse_ref, coarse_target)


def receptive_radius(blocks: int = BLOCKS) -> int:
    """Pixels on each side that influence one output pixel: 7 x 7 branch, 2 convs per block, 3 x 3 out."""
    return max(SCALES) // 2 + 2 * blocks + 1


def stc_combine(prediction_a, prediction_b, coarse_target, radius: int = STC_RADIUS,
                eps: float = STC_EPS):
    """Spatio-temporal consistency weighting of two predictions of the target date, (N, bands, H, W).

    Each prediction's weight is the inverse of its local disagreement with the coarse
    target at the coarse scale (box means of radius ``radius`` pixels), plus ``eps``.
    """
    target = box_mean(coarse_target, radius)
    w_a = 1.0 / ((box_mean(prediction_a, radius) - target).abs() + eps)
    w_b = 1.0 / ((box_mean(prediction_b, radius) - target).abs() + eps)
    return (w_a * prediction_a + w_b * prediction_b) / (w_a + w_b)


class MSELoss(nn.Module):
    """Mean squared error over the valid pixels, the paper's training loss."""

    def forward(self, prediction, target, mask):
        return masked_mse(prediction, target, mask)


def build(bands: int, width: int = DEFAULTS["width"]) -> STTFN:
    """The STTFN network for ``bands`` bands."""
    return STTFN(bands, width)


def make_loss(bands: int, width: int = DEFAULTS["width"]) -> MSELoss:
    """The training loss (masked MSE)."""
    return MSELoss()


def combine_two(pred1, pred2, fine_ref1, coarse_ref1, fine_ref2, coarse_ref2, coarse_target):
    """The registry's two-pair combination: :func:`stc_combine` of the two predictions."""
    return stc_combine(pred1, pred2, coarse_target)
