"""The default trainer of supervised deep models: Adam on the model's loss, AMP on CUDA.

A batch is a dict of tensors on the training device: ``fine_ref``,
``coarse_ref``, ``coarse_target``, ``target`` (N, bands, H, W), normalised,
no-data already filled, and ``mask`` (N, 1, H, W), 1 where every input and the
target are valid. Custom trainers (e.g. for GANs) offer the same methods, and may
name the losses of their latest step in ``last_losses`` ({name: value}) for the
progress log.

``state_dict()`` / ``load_state_dict(state)`` carry everything resuming needs
(a dict of tensors and plain values, loadable with ``weights_only=True``): the
model's weights, the optimiser's and the GradScaler's state and the loss's
state (e.g. EDCSTFN's pretrained autoencoder), so :meth:`prepare` is not run
again on resume.
"""
from typing import Callable, Dict, Iterator, Tuple

import torch

from .losses import masked_mse


def autocast(device: torch.device, amp: bool):
    """Mixed-precision context (float16 autocast) on CUDA when ``amp``; a no-op elsewhere."""
    return torch.autocast(device_type=device.type, dtype=torch.float16,
                          enabled=bool(amp and device.type == "cuda"))


def load_scaler_state(scaler: "torch.amp.GradScaler", state: Dict) -> None:
    """Restore a GradScaler's state when both it and the saved one are in use.

    A scaler is only enabled for mixed precision on CUDA; resuming a CPU run on
    a GPU (or the reverse) starts the scale afresh.
    """
    if scaler.is_enabled() and state:
        scaler.load_state_dict(state)


class SupervisedTrainer:
    """Trains ``model`` with Adam at ``lr`` on ``loss(pred, target, mask)``.

    ``loss`` may offer ``min_size`` (smallest patch side it accepts) and
    ``pretrain(fine_batches, device, amp, progress)`` (run by :meth:`prepare`).
    """

    def __init__(self, model: torch.nn.Module, loss: torch.nn.Module, lr: float,
                 device: torch.device, amp: bool):
        self.model = model
        self.loss = loss.to(device)
        self.device = device
        self.amp = bool(amp and device.type == "cuda")
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

    @property
    def min_patch(self) -> int:
        """Smallest training patch side (pixels) the loss accepts."""
        return int(getattr(self.loss, "min_size", 1))

    def prepare(self, fine_batches: Callable[[], Iterator[torch.Tensor]], progress) -> None:
        """Run the loss's pretraining (if any) on batches of fine patches (N, bands, H, W)."""
        if hasattr(self.loss, "pretrain"):
            self.loss.pretrain(fine_batches, self.device, self.amp, progress)

    def state_dict(self) -> Dict:
        """Model, optimiser, GradScaler and loss state (tensors on their device, plain values)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "loss": self.loss.state_dict()}

    def load_state_dict(self, state: Dict) -> None:
        """Restore what :meth:`state_dict` gave (strictly: every weight must fit)."""
        self.model.load_state_dict(state["model"])
        self.loss.load_state_dict(state["loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        load_scaler_state(self.scaler, state["scaler"])

    def _forward(self, batch) -> Tuple[torch.Tensor, torch.Tensor]:
        with autocast(self.device, self.amp):
            pred = self.model(batch["fine_ref"], batch["coarse_ref"], batch["coarse_target"])
        pred = pred.float()
        return pred, self.loss(pred, batch["target"], batch["mask"])

    def train_step(self, batch) -> float:
        """One optimisation step; returns the batch's loss."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        _, loss = self._forward(batch)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    @torch.no_grad()
    def evaluate(self, batch) -> Tuple[float, float]:
        """(loss, masked MSE in normalised units) of a validation batch."""
        self.model.eval()
        pred, loss = self._forward(batch)
        return float(loss), float(masked_mse(pred, batch["target"], batch["mask"]))
