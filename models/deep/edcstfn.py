"""EDCSTFN: enhanced deep convolutional spatiotemporal fusion network (Tan et al. 2019).

Re-implemented from the paper's description (see ``registry.py`` for the
reference). Three branches of 3 x 3 convolutions with replication padding:

- fine encoder on the fine reference: bands -> 32 -> 64 -> 128, ReLU after each;
- residual encoder on the concatenation (coarse_ref, fine_ref, coarse_target):
  3 bands -> 32 -> 64 -> 128, ReLU between the convolutions, none after the last
  (our choice: a residual, i.e. a temporal change, may be negative);
- decoder on (fine features + residual): 128 -> 64 -> 32 (ReLU) then a 1 x 1
  convolution to ``bands``.

For one band that is 278,209 parameters (92,672 + 93,248 + 92,289). The
receptive field has a radius of 5 fine pixels (3 encoder + 2 decoder 3 x 3
convolutions), the tile halo.

Training loss (Tan et al.): MSE + feature loss + 0.8 (1 - MS-SSIM). The feature
loss compares the features that the encoder of an autoencoder (fine encoder +
decoder, same layers as above) extracts from prediction and target; that
autoencoder is pretrained on the training set's fine patches (MSE, Adam 1e-3,
``pretrain_batches`` batches) before the fusion network is trained, and frozen.
Weight of the feature loss: 1 (our reading of the paper).

Two references: the model predicts from each pair, and the predictions are
averaged per pixel with weights proportional to 1 / |C_target - C_ref_k|
(the coarse residual of each pair), see :func:`combine_two`.
"""
from typing import Callable, Dict, Iterator

import torch
from torch import nn

from .losses import feature_loss, fill_invalid, masked_mse, ms_ssim, ms_ssim_min_size

CHANNELS = (32, 64, 128)


def _conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="replicate")


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


class Edcstfn(nn.Module):
    """The fusion network: decoder(fine_encoder(F_ref) + residual_encoder(C_ref, F_ref, C_target))."""

    def __init__(self, bands: int):
        super().__init__()
        self.fine_encoder = encoder(bands, final_relu=True)
        self.residual_encoder = encoder(3 * bands, final_relu=False)
        self.decoder = decoder(bands)

    def forward(self, fine_ref: torch.Tensor, coarse_ref: torch.Tensor,
                coarse_target: torch.Tensor) -> torch.Tensor:
        """Prediction (N, bands, H, W) of the fine image at the target date."""
        residual = self.residual_encoder(torch.cat([coarse_ref, fine_ref, coarse_target], dim=1))
        return self.decoder(self.fine_encoder(fine_ref) + residual)


class AutoEncoder(nn.Module):
    """Fine encoder + decoder, pretrained to reproduce fine images; its encoder gives the feature loss."""

    def __init__(self, bands: int):
        super().__init__()
        self.encoder = encoder(bands, final_relu=True)
        self.decoder = decoder(bands)

    def forward(self, fine: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``fine`` (N, bands, H, W)."""
        return self.decoder(self.encoder(fine))


class CompoundLoss(nn.Module):
    """MSE + feature_weight x feature loss + ssim_weight x (1 - MS-SSIM), masked (see losses.py)."""

    def __init__(self, bands: int, feature_weight: float, ssim_weight: float, ssim_scales: int,
                 ssim_window: int, pretrain_batches: int):
        super().__init__()
        self.autoencoder = AutoEncoder(bands)
        self.feature_weight = feature_weight
        self.ssim_weight = ssim_weight
        self.ssim_scales = ssim_scales
        self.ssim_window = ssim_window
        self.pretrain_batches = pretrain_batches
        self.pretrained = False
        self.min_size = ms_ssim_min_size(ssim_scales, ssim_window) if ssim_weight else 1

    def pretrain(self, fine_batches: Callable[[], Iterator[torch.Tensor]], device: torch.device,
                 amp: bool, progress) -> None:
        """Train the autoencoder on ``pretrain_batches`` batches of fine patches, then freeze it.

        ``fine_batches()`` yields (N, bands, H, W) normalised tensors on ``device``
        (no-data filled with 0); it is called again when one pass is not enough.
        """
        if not (self.feature_weight and self.pretrain_batches > 0):
            return
        from .trainer import autocast
        ae = self.autoencoder.to(device).train()
        optimizer = torch.optim.Adam(ae.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=bool(amp and device.type == "cuda"))
        done, first, last = 0, None, None
        while done < self.pretrain_batches:
            count = 0
            for fine in fine_batches():
                count += 1
                optimizer.zero_grad(set_to_none=True)
                with autocast(device, amp):
                    loss = nn.functional.mse_loss(ae(fine).float(), fine)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                last = float(loss.detach())
                first = last if first is None else first
                done += 1
                progress.step(done, self.pretrain_batches)
                if done >= self.pretrain_batches:
                    break
            if count == 0:
                return
        self._freeze()
        progress.info(f"Autoencoder for the feature loss pretrained on {done} batches of fine "
                      f"patches: MSE {first:.4f} -> {last:.4f} (normalised units).")

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
            loss = loss + self.ssim_weight * (1 - ms_ssim(pred, target, scales=self.ssim_scales,
                                                          window=self.ssim_window))
        return loss


def build(bands: int, **hyper) -> Edcstfn:
    """The EDCSTFN network for ``bands`` bands (hyperparameters only concern the loss)."""
    return Edcstfn(bands)


def make_loss(bands: int, feature_weight: float, ssim_weight: float, ssim_scales: int,
              ssim_window: int, pretrain_batches: int) -> CompoundLoss:
    """The compound training loss."""
    return CompoundLoss(bands, feature_weight, ssim_weight, ssim_scales, ssim_window, pretrain_batches)


RESIDUAL_EPS = 1e-3
"""Added to |C_target - C_ref| (normalised units) so that identical coarse images do not divide by 0."""


def combine_two(pred1: torch.Tensor, pred2: torch.Tensor, fine_ref1: torch.Tensor,
                coarse_ref1: torch.Tensor, fine_ref2: torch.Tensor, coarse_ref2: torch.Tensor,
                coarse_target: torch.Tensor) -> torch.Tensor:
    """Per-pixel average of two predictions with weights proportional to 1 / |coarse residual|."""
    w1 = 1.0 / ((coarse_target - coarse_ref1).abs() + RESIDUAL_EPS)
    w2 = 1.0 / ((coarse_target - coarse_ref2).abs() + RESIDUAL_EPS)
    return (w1 * pred1 + w2 * pred2) / (w1 + w2)
