"""EDCSTFN: enhanced deep convolutional spatiotemporal fusion network (Tan et al. 2019).

Re-implemented from the paper and the authors' public code (theonegis/edcstfn,
read to understand, not copied). Three branches of 3 x 3 convolutions with
replication padding:

- fine encoder on the fine reference: bands -> 32 -> 64 -> 128, ReLU after each;
- residual encoder on the concatenation (coarse_ref, fine_ref, coarse_target):
  3 bands -> 32 -> 64 -> 128, ReLU between the convolutions, none after the last;
- decoder on (fine features + residual): 128 -> 64 -> 32 (ReLU) then a 1 x 1
  convolution to ``bands``.

For one band that is 278,209 parameters (92,672 + 93,248 + 92,289). The
receptive field has a radius of 5 fine pixels, the tile halo.

Two reference pairs (before and after the target), as in the authors' model:
each pair gives features ``E(F_k) + R_k``; they are averaged per pixel and per
channel with weights proportional to 1 / |R_k| (the residual-encoder features,
+ 1e-8) and decoded ONCE (:meth:`Edcstfn.forward_two`). Training on a triplet
(pair before, target, pair after) decodes each pair's features separately and
averages the losses of the two predictions (:meth:`Edcstfn.forward_pairs`).

Loss (Tan et al.): MSE + feature loss + 0.8 (1 - MS-SSIM), Adam (1e-3, weight
decay 1e-6) with ReduceLROnPlateau (factor 0.1, patience 5) on the validation
loss. The feature loss is the MSE between the features that the ENCODER of a
separate small hourglass autoencoder (:class:`FeatureAutoEncoder`) extracts from
prediction and target; the autoencoder is pretrained on the training set's fine
patches with L1 + 0.8 (1 - MS-SSIM) before the fusion network is trained, then
frozen. Its pretraining is cheap (a network of 4 small convolutions) and bounded
(see :meth:`CompoundLoss.pretrain`), and it is cached by the engine for reuse on
the same training data.
"""
import os
import time
from typing import Callable, Dict, Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .losses import feature_loss, fill_invalid, masked_l1, masked_mse, ms_ssim

CHANNELS = (32, 64, 128)
AE_CHANNELS = (32, 64)
FEATURE_EPS = 1e-8
"""Added to |R_k| in the two-pair feature weights, as in the authors' code."""


def _conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="replicate")


def encoder(cin: int, final_relu: bool) -> nn.Sequential:
    """Three 3 x 3 convolutions cin -> 32 -> 64 -> 128 with ReLU between (and after when asked)."""
    c1, c2, c3 = CHANNELS
    layers = [_conv3(cin, c1), nn.ReLU(inplace=True), _conv3(c1, c2), nn.ReLU(inplace=True), _conv3(c2, c3)]
    if final_relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def decoder(bands: int) -> nn.Sequential:
    """128 -> 64 -> 32 (3 x 3, ReLU) then 1 x 1 to ``bands``."""
    c1, c2, c3 = CHANNELS
    return nn.Sequential(_conv3(c3, c2), nn.ReLU(inplace=True), _conv3(c2, c1), nn.ReLU(inplace=True),
                         nn.Conv2d(c1, bands, 1))


def feature_weights(residual1: torch.Tensor, residual2: torch.Tensor) -> torch.Tensor:
    """Weight of pair 1 per pixel and channel: (1/|R1|) / (1/|R1| + 1/|R2|) in [0, 1] (float32)."""
    inv1 = 1.0 / (residual1.float().abs() + FEATURE_EPS)
    inv2 = 1.0 / (residual2.float().abs() + FEATURE_EPS)
    return (inv1 / (inv1 + inv2)).clamp(0.0, 1.0)


class Edcstfn(nn.Module):
    """The fusion network: decoder(fine_encoder(F_ref) + residual_encoder(C_ref, F_ref, C_target))."""

    def __init__(self, bands: int):
        super().__init__()
        self.fine_encoder = encoder(bands, final_relu=True)
        self.residual_encoder = encoder(3 * bands, final_relu=False)
        self.decoder = decoder(bands)

    def features(self, fine_ref, coarse_ref, coarse_target):
        """(fine features + residual, residual) of one pair, each (N, 128, H, W)."""
        residual = self.residual_encoder(torch.cat([coarse_ref, fine_ref, coarse_target], dim=1))
        return self.fine_encoder(fine_ref) + residual, residual

    def forward(self, fine_ref: torch.Tensor, coarse_ref: torch.Tensor,
                coarse_target: torch.Tensor) -> torch.Tensor:
        """Prediction (N, bands, H, W) of the fine image at the target date from one pair."""
        return self.decoder(self.features(fine_ref, coarse_ref, coarse_target)[0])

    def forward_pairs(self, fine_ref, coarse_ref, fine_ref2, coarse_ref2, coarse_target):
        """The two one-pair predictions (training on a triplet averages their losses)."""
        return self.forward(fine_ref, coarse_ref, coarse_target), self.forward(fine_ref2, coarse_ref2, coarse_target)

    def forward_two(self, fine_ref, coarse_ref, fine_ref2, coarse_ref2, coarse_target):
        """Two-pair prediction: the pairs' features weighted by 1 / |residual features|, decoded once."""
        x1, r1 = self.features(fine_ref, coarse_ref, coarse_target)
        x2, r2 = self.features(fine_ref2, coarse_ref2, coarse_target)
        w1 = feature_weights(r1, r2).to(x1.dtype)
        return self.decoder(w1 * x1 + (1 - w1) * x2)


class FeatureAutoEncoder(nn.Module):
    """Hourglass autoencoder of the feature loss: 4 convolutions, the second of stride 2.

    Encoder: 3 x 3 conv bands -> 32 (ReLU), 3 x 3 stride-2 conv 32 -> 64 (ReLU): features
    at half resolution. Decoder: upsampling x 2 (nearest, to the input size), 3 x 3 conv
    64 -> 32 (ReLU), 3 x 3 conv 32 -> bands. 37,569 parameters for one band.
    """

    def __init__(self, bands: int):
        super().__init__()
        c1, c2 = AE_CHANNELS
        self.encoder = nn.Sequential(_conv3(bands, c1), nn.ReLU(inplace=True), _conv3(c1, c2, stride=2),
                                     nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(_conv3(c2, c1), nn.ReLU(inplace=True), _conv3(c1, bands))

    def forward(self, fine: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``fine`` (N, bands, H, W)."""
        features = F.interpolate(self.encoder(fine), size=fine.shape[-2:], mode="nearest")
        return self.decoder(features)


class CompoundLoss(nn.Module):
    """MSE + feature_weight x feature loss + ssim_weight x (1 - MS-SSIM), masked (see losses.py)."""

    def __init__(self, bands: int, feature_weight: float, ssim_weight: float, ssim_scales: int,
                 pretrain_batches: int):
        super().__init__()
        self.autoencoder = FeatureAutoEncoder(bands)
        self.feature_weight = feature_weight
        self.ssim_weight = ssim_weight
        self.ssim_scales = ssim_scales
        self.pretrain_batches = pretrain_batches
        self.pretrained = False

    def autoencoder_loss(self, fine: torch.Tensor) -> torch.Tensor:
        """The autoencoder's pretraining loss on (N, bands, H, W): L1 + 0.8 (1 - MS-SSIM)."""
        out = self.autoencoder(fine).float()
        ones = torch.ones_like(fine[:, :1])
        return masked_l1(out, fine, ones) + 0.8 * (1 - ms_ssim(out, fine, scales=self.ssim_scales))

    def pretrain(self, fine_batches: Callable[[], Iterator[torch.Tensor]], device: torch.device,
                 progress, limit: Optional[int] = None, cache_path: Optional[str] = None,
                 seconds: Optional[float] = None) -> None:
        """Train the autoencoder on at most ``min(pretrain_batches, limit)`` batches (and for at most
        ``seconds`` when given), then freeze it.

        ``fine_batches()`` yields (N, bands, H, W) normalised tensors on ``device``;
        it is called again when one pass is not enough. With ``cache_path`` an
        autoencoder saved there by an earlier run is loaded instead (same data and
        settings give the same path), and a newly trained one is saved there.
        """
        if not (self.feature_weight and self.pretrain_batches > 0):
            return
        budget = self.pretrain_batches if limit is None else max(1, min(self.pretrain_batches, int(limit)))
        if cache_path and os.path.isfile(cache_path):
            try:
                state = torch.load(cache_path, map_location="cpu", weights_only=True)
                self.autoencoder.load_state_dict(state)
            except (RuntimeError, OSError, ValueError) as err:
                progress.info(f"Cached autoencoder {cache_path} unusable ({err.__class__.__name__}); "
                              "training it again.")
            else:
                self.autoencoder.to(device)
                self._freeze()
                progress.info(f"Autoencoder for the feature loss reused from {cache_path}.")
                return
        ae = self.autoencoder.to(device).train()
        optimizer = torch.optim.Adam(ae.parameters(), lr=1e-3)
        done, first, last, start = 0, None, None, time.time()
        while done < budget:
            count = 0
            for fine in fine_batches():
                count += 1
                optimizer.zero_grad(set_to_none=True)
                loss = self.autoencoder_loss(fine)
                loss.backward()
                optimizer.step()
                last = float(loss.detach())
                first = last if first is None else first
                done += 1
                progress.step(done, budget)
                if seconds is not None and time.time() - start >= seconds:
                    budget = done
                if done >= budget:
                    break
            if count == 0:
                return
        self._freeze()
        if cache_path:
            from .model_file import atomic_torch_save
            atomic_torch_save({k: v.detach().cpu() for k, v in ae.state_dict().items()}, cache_path)
        progress.info(f"Autoencoder for the feature loss pretrained on {done} batches of fine "
                      f"patches in {time.time() - start:.0f} s: L1 + 0.8 (1 - MS-SSIM) {first:.4f} -> {last:.4f}.")

    def _freeze(self) -> None:
        """Mark the autoencoder pretrained: eval mode, no gradients."""
        self.autoencoder.eval()
        for parameter in self.autoencoder.parameters():
            parameter.requires_grad_(False)
        self.pretrained = True

    def get_extra_state(self) -> Dict:
        """Whether the autoencoder was pretrained (saved in ``state_dict`` beside its weights)."""
        return {"pretrained": self.pretrained}

    def set_extra_state(self, state: Dict) -> None:
        """Restore :meth:`get_extra_state` (a resumed training does not pretrain again)."""
        if state.get("pretrained"):
            self._freeze()

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Scalar loss; pixels with mask 0 contribute nothing."""
        target = fill_invalid(pred, target, mask)
        loss = masked_mse(pred, target, mask)
        if self.feature_weight and self.pretrained:
            loss = loss + self.feature_weight * feature_loss(self.autoencoder.encoder, pred, target)
        if self.ssim_weight:
            loss = loss + self.ssim_weight * (1 - ms_ssim(pred, target, scales=self.ssim_scales))
        return loss


def build(bands: int, **hyper) -> Edcstfn:
    """The EDCSTFN network for ``bands`` bands (hyperparameters only concern the loss)."""
    return Edcstfn(bands)


def make_loss(bands: int, feature_weight: float, ssim_weight: float, ssim_scales: int,
              pretrain_batches: int) -> CompoundLoss:
    """The compound training loss."""
    return CompoundLoss(bands, feature_weight, ssim_weight, ssim_scales, pretrain_batches)
