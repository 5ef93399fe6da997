"""STTFN-R: our reconstruction of STTFN (Yin et al. 2021, IEEE TGRS 59(2) 1808-1822).

No code of the paper is public, so this is NOT the authors' network: every layer
size below is our choice. What follows the paper's description (and the one
third-party description found, the MahmoudFakhry/STTFN-Model README):

* a multiscale fusion CNN that learns the fine-scale LST from a reference pair
  and the coarse image of the target date, with three parts named as in the paper:
  a super-resolution net (here on the coarse change), an extraction net (here on
  the fine reference) and an integration net producing the result;
* TWO such networks of the same shape trained separately: a forward one (the
  reference pair is BEFORE the target) and a backward one (reference AFTER);
  training on a triplet (pair before, target, pair after) trains each on its own
  prediction (the mean of the two losses: their gradients do not mix);
* a spatio-temporal-consistency (STC) weighting computed per pixel: prediction k
  gets weight ``1 / (|C_target - P_k| + eps)``, normalised to sum 1 (the closer a
  prediction is to the coarse observation of the target date, the more it counts).

Our choices (not in the paper, or not specific there):

* **Inputs and output.** Each network sees ``(fine_ref, coarse_target - coarse_ref)``
  and outputs the change; ``prediction = fine_ref + change``: the coarse change
  is what the change is learned from, and a difference of two coarse images
  cancels their common inter-sensor bias.
* **Super-resolution net**: three parallel convolutions (3 x 3, 5 x 5, 7 x 7; 16
  filters each, ReLU) of the coarse change (the "multiscale" part); **extraction
  net**: a 3 x 3 conv of the fine reference to 16 maps (ReLU); **integration
  net**: a 1 x 1 conv of the 64 maps to ``width`` (64), 4 residual blocks of two
  3 x 3 convs, a 3 x 3 conv to the bands. No batch normalisation; replicate
  padding. Receptive radius 3 + 8 + 1 = 12 pixels (the tile halo).
* **One pair only** (a target not bracketed, or one-pair training samples when
  fewer than three training dates exist): the direction is not known to the
  tool, so the prediction is the mean of the forward and backward networks'.
* **Loss and optimiser.** MSE over valid pixels, Adam at 1e-3.
* ``eps`` of the STC weights: 0.01 normalised units (a few hundredths of a kelvin).

Tensors are (N, bands, H, W) on the fine grid, normalised by the training
statistics; any H, W >= 1 works.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .losses import masked_mse

DEFAULTS = {"width": 64}
BLOCKS = 4
BRANCH = 16
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


class DirectionalNet(nn.Module):
    """One direction's CNN: super-resolution, extraction and integration nets -> fine change."""

    def __init__(self, bands: int, width: int, blocks: int = BLOCKS, branch: int = BRANCH):
        super().__init__()
        self.super_resolution = nn.ModuleList(_conv(bands, branch, k) for k in SCALES)
        self.extraction = _conv(bands, branch, 3)
        self.integration = nn.Sequential(
            nn.Conv2d(branch * (len(SCALES) + 1), width, 1), nn.ReLU(),
            *(ResidualBlock(width) for _ in range(blocks)), _conv(width, bands, 3))

    def forward(self, fine_ref, coarse_ref, coarse_target):
        """Predicted fine change from the reference date to the target date, (N, bands, H, W)."""
        change = coarse_target - coarse_ref
        maps = [F.relu(conv(change)) for conv in self.super_resolution] + [F.relu(self.extraction(fine_ref))]
        return self.integration(torch.cat(maps, dim=1))


class STTFN(nn.Module):
    """Forward and backward networks; ``forward`` (one pair) averages them, ``forward_two`` weights them by STC."""

    def __init__(self, bands: int = 1, width: int = DEFAULTS["width"], blocks: int = BLOCKS):
        super().__init__()
        self.forward_net = DirectionalNet(bands, width, blocks)
        self.backward_net = DirectionalNet(bands, width, blocks)
        self.halo = receptive_radius(blocks)

    def change(self, fine_ref, coarse_ref, coarse_target):
        """Fine change predicted from one pair of unknown direction: the mean of both networks'."""
        return 0.5 * (self.forward_net(fine_ref, coarse_ref, coarse_target)
                      + self.backward_net(fine_ref, coarse_ref, coarse_target))

    def forward(self, fine_ref, coarse_ref, coarse_target):
        return fine_ref + self.change(fine_ref, coarse_ref, coarse_target)

    def forward_pairs(self, fine_ref, coarse_ref, fine_ref2, coarse_ref2, coarse_target):
        """(forward network's prediction from the pair before, backward network's from the pair after)."""
        return (fine_ref + self.forward_net(fine_ref, coarse_ref, coarse_target),
                fine_ref2 + self.backward_net(fine_ref2, coarse_ref2, coarse_target))

    def forward_two(self, fine_ref, coarse_ref, fine_ref2, coarse_ref2, coarse_target):
        """STC-weighted combination of the forward and backward predictions."""
        return stc_combine(*self.forward_pairs(fine_ref, coarse_ref, fine_ref2, coarse_ref2, coarse_target),
                           coarse_target)


def receptive_radius(blocks: int = BLOCKS) -> int:
    """Pixels on each side that influence one output pixel: 7 x 7 branch, 2 convs per block, 3 x 3 out."""
    return max(SCALES) // 2 + 2 * blocks + 1


def stc_combine(prediction_a, prediction_b, coarse_target, eps: float = STC_EPS):
    """Per-pixel STC weighting of two predictions of the target date, (N, bands, H, W)."""
    w_a = 1.0 / ((prediction_a - coarse_target).abs() + eps)
    w_b = 1.0 / ((prediction_b - coarse_target).abs() + eps)
    return (w_a * prediction_a + w_b * prediction_b) / (w_a + w_b)


class MSELoss(nn.Module):
    """Mean squared error over the valid pixels."""

    def forward(self, prediction, target, mask):
        return masked_mse(prediction, target, mask)


def build(bands: int, width: int = DEFAULTS["width"]) -> STTFN:
    """The STTFN-R network for ``bands`` bands."""
    return STTFN(bands, width)


def make_loss(bands: int, width: int = DEFAULTS["width"]) -> MSELoss:
    """The training loss (masked MSE)."""
    return MSELoss()
