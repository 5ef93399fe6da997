"""MLFF-GAN (Song et al. 2022, IEEE TGRS): multilevel feature fusion generator with a PatchGAN critic.

One reference pair. All tensors are (N, bands, H, W) on the fine grid, normalised
by the training statistics; H and W must be multiples of :data:`SIZE_MULTIPLE`
(four stride-2 down-samplings) and at least 32.

Generator, as published (5.9 M parameters for one band):

* two 5-level encoders of the same shape, one for the coarse images (shared by
  coarse_ref and coarse_target), one for fine_ref: a 7 x 7 conv to 16 channels,
  then stride-2 3 x 3 convs to 32/64/128/256, each level followed by a residual
  block (two reflection-padded 3 x 3 convs with dropout 0.5 and a leaky ReLU);
* at each level the fine features are re-normalised (AdaIN) to the statistics of
  the coarse-target features, and an attention map
  ``M = sigmoid(BN(conv1x1(BN(conv1x1(Ct)) - BN(conv1x1(Cref)))))`` blends them:
  ``M * Ct + (1 - M) * AdaIN(F, Ct)``;
* a decoder of 4 transposed convs (4 x 4, stride 2) each followed by a residual
  block, fed at each level with the fused features (skips); the deepest level also
  gets the coarse-target features; a head of residual blocks and 1 x 1 convs.

Critic: the 3-layer, 64-filter PatchGAN of pix2pix(HD) on the concatenation
(prediction or truth, coarse_target), least-squares (LSGAN) losses. Generator loss:
``0.01 * GAN + L1 + (1 - MS-SSIM) + (1 - cosine similarity)``, Adam 2e-4.

Coarse degradation, as published: the coarse inputs (coarse_ref, coarse_target)
are shrunk by 1/16 (nearest sample, as the authors' ``interpolate`` default) and
enlarged back by bicubic interpolation, in training and in prediction
(hyperparameter ``coarse_degradation``, 16; 0 turns it off). It lives in the
generator's ``forward``, so training, validation and prediction all see it; the
tile halo grows by 48 pixels (bicubic support of 2 shrunk pixels plus the sampling
offset inside a 16-pixel block), 224 in all.

Hyperparameter ``adain``: ``"local"`` (default, tiling-safe, below) or
``"global"`` (the published whole-patch statistics: each tile's statistics, so
a prediction depends on the tiling, as in the authors' patch-wise prediction).
The model file records which one a model was trained with (its hyperparameters).

Choices where the published model cannot be kept, and why:

* **AdaIN statistics are local** (default). The paper takes each channel's mean and standard
  deviation over the whole 256 x 256 training patch, so a prediction depends on
  the patch it was cut from and tiles would not agree with an untiled run. Here
  they are taken over a square window around each pixel: radius
  :data:`ADAIN_RADIUS` (32) fine pixels at level 1, halved at each level
  (32/16/8/4/2, i.e. about the survey's 95 x 95 training patch at the deepest
  level). The network is then translation-equivariant (up to the 16-pixel
  down-sampling grid) with a finite receptive field of 176 fine pixels
  (:func:`receptive_radius`, the tile halo), so tiled equals untiled. Windows
  are clipped at the image border (mean over the valid part), exactly like a
  patch. The statistics are computed in float32 (box sums in float64) even
  under mixed precision.
* **Cosine similarity over space.** The published loss takes the cosine along the
  band axis at each pixel (a spectral angle); for one LST band that is just the
  sign agreement of the two anomalies and gives no gradient. Here the cosine is
  taken between each sample's whole (bands, H, W) prediction and truth, which is
  a pattern similarity for any band count.
* The published code is CUDA-only (``.cuda()`` calls, ``torch.cuda.FloatTensor``
  targets); nothing here is device-specific. Dropout (0.5, in the residual
  blocks, as published) is off at inference.
* One generator forward per training step serves both updates (the published
  code runs it twice; the generator does not change in between, the critic
  update only sees the detached prediction, and only the dropout masks would
  differ).
"""
import math
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from .box_filter import box_mean
from .device import training_precision
from .losses import fill_invalid, masked_mse, ms_ssim
from .trainer import autocast, load_scaler_state

CHANNELS = (16, 32, 64, 128, 256)
SIZE_MULTIPLE = 2 ** (len(CHANNELS) - 1)
ADAIN_RADIUS = 32
DEFAULTS = {"dropout": 0.5, "adain": "local", "coarse_degradation": 16}
ADAIN_MODES = ("local", "global")
DEGRADATION_HALO = 48
GAN_WEIGHT = 0.01


class ResBlock(nn.Module):
    """``x + conv(leaky(drop(conv(x))))`` with reflection padding and dropout (as published)."""

    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.Dropout(dropout),
            nn.LeakyReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.Dropout(dropout))

    def forward(self, x):
        return x + self.body(x)


class Encoder(nn.Module):
    """Five levels: 7 x 7 conv to 16, stride-2 convs to 32..256, a residual block after each."""

    def __init__(self, bands: int, dropout: float):
        super().__init__()
        levels = [nn.Sequential(nn.Conv2d(bands, CHANNELS[0], 7, padding=3), ResBlock(CHANNELS[0], dropout))]
        for c_in, c_out in zip(CHANNELS, CHANNELS[1:]):
            levels.append(nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), ResBlock(c_out, dropout)))
        self.levels = nn.ModuleList(levels)

    def forward(self, x):
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)
        return features


def local_adain(content, style, radius: int, eps: float = 1e-5):
    """``content`` re-normalised to the local mean and standard deviation of ``style`` (float32)."""
    with torch.autocast(device_type=content.device.type, enabled=False):
        content, style = content.float(), style.float()
        c_mean, s_mean = box_mean(content, radius), box_mean(style, radius)
        c_var = (box_mean(content * content, radius) - c_mean * c_mean).clamp_min(0)
        s_var = (box_mean(style * style, radius) - s_mean * s_mean).clamp_min(0)
        return (content - c_mean) * torch.sqrt((s_var + eps) / (c_var + eps)) + s_mean


def global_adain(content, style, eps: float = 1e-5):
    """``content`` re-normalised to each channel's mean and std of ``style`` over the whole patch (float32)."""
    with torch.autocast(device_type=content.device.type, enabled=False):
        content, style = content.float(), style.float()
        c_mean, s_mean = content.mean((2, 3), keepdim=True), style.mean((2, 3), keepdim=True)
        c_var = content.var((2, 3), unbiased=False, keepdim=True)
        s_var = style.var((2, 3), unbiased=False, keepdim=True)
        return (content - c_mean) * torch.sqrt((s_var + eps) / (c_var + eps)) + s_mean


def degrade(coarse: torch.Tensor, factor: int) -> torch.Tensor:
    """The published coarse degradation: shrink by 1/``factor`` (nearest), bicubic back to the size."""
    if factor <= 1:
        return coarse
    small = F.interpolate(coarse, scale_factor=1.0 / factor, mode="nearest")
    return F.interpolate(small, size=coarse.shape[-2:], mode="bicubic", align_corners=False)


class Attention(nn.Module):
    """Blend of coarse-target and fine features by a map from the coarse change at one level."""

    def __init__(self, channels: int):
        super().__init__()
        self.target = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))
        self.reference = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))
        self.weight = nn.Sequential(nn.Conv2d(channels, 1, 1), nn.BatchNorm2d(1), nn.Sigmoid())

    def forward(self, coarse_target, coarse_ref, fine):
        m = self.weight(self.target(coarse_target) - self.reference(coarse_ref))
        return m * coarse_target + (1 - m) * fine


class Up(nn.Sequential):
    """Transposed 4 x 4 stride-2 conv, leaky ReLU, residual block: doubles the size."""

    def __init__(self, c_in: int, c_out: int, dropout: float):
        super().__init__(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(),
                         ResBlock(c_out, dropout))


class MLFFGenerator(nn.Module):
    """MLFF-GAN generator: ``forward(fine_ref, coarse_ref, coarse_target) -> fine prediction``."""

    def __init__(self, bands: int = 1, dropout: float = DEFAULTS["dropout"], adain_radius: int = ADAIN_RADIUS,
                 adain: str = DEFAULTS["adain"], coarse_degradation: int = DEFAULTS["coarse_degradation"]):
        super().__init__()
        if adain_radius < 1:
            raise ValueError("adain_radius must be >= 1 fine pixel")
        if adain not in ADAIN_MODES:
            raise ValueError(f"adain must be one of {', '.join(ADAIN_MODES)}, not '{adain}'")
        if coarse_degradation < 0 or coarse_degradation > 1 and SIZE_MULTIPLE % coarse_degradation:
            raise ValueError(f"coarse_degradation must be 0 or a divisor of {SIZE_MULTIPLE}")
        self.adain = adain
        self.coarse_degradation = int(coarse_degradation)
        self.adain_radii = [max(1, math.ceil(adain_radius / 2 ** level)) for level in range(len(CHANNELS))]
        self.coarse_encoder = Encoder(bands, dropout)
        self.fine_encoder = Encoder(bands, dropout)
        self.attention = nn.ModuleList(Attention(c) for c in CHANNELS)
        self.up = nn.ModuleList(Up(2 * c_in, c_out, dropout)
                                for c_in, c_out in zip(CHANNELS[:0:-1], CHANNELS[-2::-1]))
        self.head = nn.Sequential(ResBlock(2 * CHANNELS[0], dropout), nn.Conv2d(2 * CHANNELS[0], CHANNELS[0], 1),
                                  ResBlock(CHANNELS[0], dropout), nn.Conv2d(CHANNELS[0], bands, 1))
        self.halo = receptive_radius(adain_radius) + (DEGRADATION_HALO if self.coarse_degradation > 1 else 0)

    def _adain(self, fine, target, radius):
        if self.adain == "global":
            return global_adain(fine, target).to(target.dtype)
        return local_adain(fine, target, radius).to(target.dtype)

    def forward(self, fine_ref, coarse_ref, coarse_target):
        if fine_ref.shape[-2] % SIZE_MULTIPLE or fine_ref.shape[-1] % SIZE_MULTIPLE:
            raise ValueError(f"MLFF-GAN needs sizes that are multiples of {SIZE_MULTIPLE}, got {tuple(fine_ref.shape[-2:])}")
        target = self.coarse_encoder(degrade(coarse_target, self.coarse_degradation))
        reference = self.coarse_encoder(degrade(coarse_ref, self.coarse_degradation))
        fine = self.fine_encoder(fine_ref)
        fused = [att(t, r, self._adain(f, t, radius))
                 for att, t, r, f, radius in zip(self.attention, target, reference, fine, self.adain_radii)]
        x = torch.cat((fused[-1], target[-1]), dim=1)
        for up, skip in zip(self.up, fused[-2::-1]):
            x = torch.cat((skip, up(x)), dim=1)
        return self.head(x)


def receptive_radius(adain_radius: int = ADAIN_RADIUS) -> int:
    """Fine pixels on each side that can influence an output pixel, rounded up to :data:`SIZE_MULTIPLE`.

    Layer by layer on a grid of step g fine pixels: a k x k conv adds (k-1)/2 g, a
    stride-2 conv or 4 x 4 transposed conv adds its input step, a residual block 2 g,
    the local AdaIN its window radius times g. The path through level l is encoder
    + AdaIN + decoder from level l; the deepest dominates (176 px by default).
    """
    radii = [max(1, math.ceil(adain_radius / 2 ** level)) for level in range(len(CHANNELS))]
    encoder = [3 + 2]  # 7 x 7 conv, residual block
    for level in range(1, len(CHANNELS)):
        encoder.append(encoder[-1] + 2 ** (level - 1) + 2 * 2 ** level)
    decoder = [2 + 2]  # head: two residual blocks at step 1
    for level in range(1, len(CHANNELS)):
        decoder.append(decoder[-1] + 2 ** level + 2 * 2 ** (level - 1))
    radius = max(e + r * 2 ** level + d for level, (e, r, d) in enumerate(zip(encoder, radii, decoder)))
    return -(-radius // SIZE_MULTIPLE) * SIZE_MULTIPLE


class PatchDiscriminator(nn.Module):
    """PatchGAN critic (3 stride-2 layers from 64 filters) on (image, coarse_target); raw LSGAN scores."""

    def __init__(self, bands: int = 1, filters: int = 64, layers: int = 3):
        super().__init__()
        seq = [nn.Conv2d(2 * bands, filters, 4, stride=2, padding=2), nn.LeakyReLU(0.2, True)]
        c = filters
        for i in range(1, layers + 1):
            c_out = min(c * 2, 512)
            seq += [nn.Conv2d(c, c_out, 4, stride=2 if i < layers else 1, padding=2), nn.BatchNorm2d(c_out),
                    nn.LeakyReLU(0.2, True)]
            c = c_out
        seq.append(nn.Conv2d(c, 1, 4, stride=1, padding=2))
        self.model = nn.Sequential(*seq)

    def forward(self, image, coarse_target):
        return self.model(torch.cat((image, coarse_target), dim=1))


def discriminator_loss(critic, prediction, truth, coarse_target):
    """LSGAN critic loss ``(mean((D(truth) - 1)^2) + mean(D(prediction)^2)) / 2`` (prediction detached)."""
    real = critic(truth, coarse_target)
    fake = critic(prediction.detach(), coarse_target)
    return 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean())


def cosine_similarity(prediction, truth, eps: float = 1e-8):
    """Mean over the batch of the cosine between each sample's flattened prediction and truth."""
    p, t = prediction.flatten(1), truth.flatten(1)
    return ((p * t).sum(1) / (p.norm(dim=1) * t.norm(dim=1)).clamp_min(eps)).mean()


def content_loss(prediction, truth, mask):
    """``L1 + (1 - MS-SSIM) + (1 - cosine)`` over valid pixels: the generator loss without its GAN term.

    ``mask`` (N, 1, H, W) is 1 where the truth is valid; elsewhere the truth takes
    the (detached) prediction's value, so those pixels add no error to any term.
    """
    truth = fill_invalid(prediction, truth, mask)
    weight = mask.expand_as(prediction)
    l1 = ((prediction - truth).abs() * weight).sum() / weight.sum().clamp_min(1.0)
    return l1 + (1 - ms_ssim(prediction, truth)) + (1 - cosine_similarity(prediction, truth))


class GanTrainer:
    """Alternating LSGAN training of the generator and the PatchGAN critic (Adam at ``lr`` for both).

    Same interface as :class:`models.training.SupervisedTrainer`. Each step first
    updates the critic on (truth, coarse_target) vs (prediction, coarse_target),
    then the generator on ``0.01 * GAN + content_loss``, as the published code does.
    ``last_losses`` names both losses of the latest step for progress messages.
    Validation scores the generator by its content loss (deterministic, no critic).
    """

    def __init__(self, model, bands: int, lr: float, device, amp: bool):
        self.model = model
        self.critic = PatchDiscriminator(bands).to(device)
        self.device = device
        self.precision = training_precision(device, amp)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "float16")
        self.last_losses = {}

    min_patch = 2 * SIZE_MULTIPLE
    """Smallest training patch side: two steps of the deepest level."""

    def prepare(self, fine_batches, progress, limit=None, cache_path=None, seconds=None) -> None:
        """Nothing to pretrain."""

    def end_epoch(self, loss: float) -> None:
        """No learning-rate schedule (the published one is constant)."""

    def state_dict(self) -> Dict:
        """Generator and critic weights, both optimisers' and the GradScaler's state."""
        return {"model": self.model.state_dict(), "critic": self.critic.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "critic_optimizer": self.critic_optimizer.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: Dict) -> None:
        """Restore what :meth:`state_dict` gave."""
        self.model.load_state_dict(state["model"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        load_scaler_state(self.scaler, state["scaler"])

    def _predict(self, batch):
        with autocast(self.device, self.precision):
            return self.model(batch["fine_ref"], batch["coarse_ref"], batch["coarse_target"]).float()

    def train_step(self, batch) -> float:
        """One critic update then one generator update; returns the generator's loss."""
        self.model.train()
        self.critic.train()
        coarse_target = batch["coarse_target"]
        prediction = self._predict(batch)
        truth = fill_invalid(prediction, batch["target"], batch["mask"])

        self.critic_optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.precision):
            d_loss = discriminator_loss(self.critic, prediction, truth, coarse_target).float()
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.critic_optimizer)

        self.optimizer.zero_grad(set_to_none=True)
        self.critic.requires_grad_(False)
        with autocast(self.device, self.precision):
            adversarial = ((self.critic(prediction, coarse_target) - 1) ** 2).mean().float()
        self.critic.requires_grad_(True)
        content = content_loss(prediction, batch["target"], batch["mask"])
        g_loss = GAN_WEIGHT * adversarial + content
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.last_losses = {"generator": float(g_loss.detach()), "critic": float(d_loss.detach())}
        return self.last_losses["generator"]

    @torch.no_grad()
    def evaluate(self, batch):
        """(content loss, masked MSE in normalised units) of a validation batch."""
        self.model.eval()
        prediction = self._predict(batch)
        return (float(content_loss(prediction, batch["target"], batch["mask"])),
                float(masked_mse(prediction, batch["target"], batch["mask"])))


def build(bands: int, dropout: float = DEFAULTS["dropout"], adain: str = DEFAULTS["adain"],
          coarse_degradation: int = DEFAULTS["coarse_degradation"]) -> MLFFGenerator:
    """The generator, the network that predicts (the critic only exists during training)."""
    return MLFFGenerator(bands, dropout=dropout, adain=adain, coarse_degradation=coarse_degradation)


def make_trainer(model, bands: int, hyper, lr: float, device, amp: bool) -> GanTrainer:
    """The alternating GAN trainer of the registry's ``trainer='custom'``."""
    return GanTrainer(model, bands, lr, device, amp)
