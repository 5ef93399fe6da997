"""The default trainer of supervised deep models: Adam on the model's loss, AMP on CUDA.

A batch is a dict of tensors on the training device: ``fine_ref``,
``coarse_ref``, ``coarse_target``, ``target`` (N, bands, H, W), normalised,
no-data already filled, and ``mask`` (N, 1, H, W), 1 where every input and the
target are valid. A two-pair training batch (models with ``two_pair_training``)
also holds ``fine_ref2`` and ``coarse_ref2``, the pair after the target: the
training loss is then the mean of the losses of the two one-pair predictions
(``model.forward_pairs``), and validation scores the two-pair prediction
(``model.forward_two``). Custom trainers (e.g. for GANs) offer the same methods, and may
name the losses of their latest step in ``last_losses`` ({name: value}) for the
progress log.

``state_dict()`` / ``load_state_dict(state)`` carry everything resuming needs
(a dict of tensors and plain values, loadable with ``weights_only=True``): the
model's weights, the optimiser's and the GradScaler's state and the loss's
state (e.g. EDCSTFN's pretrained autoencoder), so :meth:`prepare` is not run
again on resume.
"""
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch

from .device import training_precision
from .losses import masked_mse


def autocast(device: torch.device, precision: str):
    """Autocast for a training precision of :func:`.device.training_precision`: 'float16' (CUDA),
    'bfloat16' (CPU); a no-op for anything else ('float32')."""
    if precision == "float16":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")


def load_scaler_state(scaler: "torch.amp.GradScaler", state: Dict) -> None:
    """Restore a GradScaler's state when both it and the saved one are in use.

    A scaler is only enabled for mixed precision on CUDA; resuming a CPU run on
    a GPU (or the reverse) starts the scale afresh.
    """
    if scaler.is_enabled() and state:
        scaler.load_state_dict(state)


class SupervisedTrainer:
    """Trains ``model`` with Adam at ``lr`` (and ``weight_decay``) on ``loss(pred, target, mask)``.

    ``loss`` may offer ``min_size`` (smallest patch side it accepts) and
    ``pretrain(fine_batches, device, progress, limit, cache_path, seconds)`` (run by
    :meth:`prepare`). ``plateau_patience`` > 0 adds ReduceLROnPlateau (factor 0.1,
    that patience) stepped by :meth:`end_epoch` with the epoch's validation loss.
    """

    def __init__(self, model: torch.nn.Module, loss: torch.nn.Module, lr: float,
                 device: torch.device, amp: bool, weight_decay: float = 0.0, plateau_patience: int = 0):
        self.model = model
        self.loss = loss.to(device)
        self.device = device
        self.precision = training_precision(device, amp)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "float16")
        self.scheduler = (torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, factor=0.1,
                                                                     patience=plateau_patience)
                          if plateau_patience > 0 else None)

    def end_epoch(self, loss: float) -> None:
        """Step the learning-rate schedule (if any) with the epoch's validation (or training) loss."""
        if self.scheduler is not None:
            self.scheduler.step(loss)

    @property
    def min_patch(self) -> int:
        """Smallest training patch side (pixels) the loss accepts."""
        return int(getattr(self.loss, "min_size", 1))

    def prepare(self, fine_batches: Callable[[], Iterator[torch.Tensor]], progress,
                limit: Optional[int] = None, cache_path: Optional[str] = None,
                seconds: Optional[float] = None) -> None:
        """Run the loss's pretraining (if any; at most ``limit`` batches and ``seconds``) on fine
        patches (N, bands, H, W)."""
        if hasattr(self.loss, "pretrain"):
            self.loss.pretrain(fine_batches, self.device, progress, limit, cache_path, seconds)

    def state_dict(self) -> Dict:
        """Model, optimiser, scheduler, GradScaler and loss state (tensors on their device, plain values)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "loss": self.loss.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {}}

    def load_state_dict(self, state: Dict) -> None:
        """Restore what :meth:`state_dict` gave (strictly: every weight must fit)."""
        self.model.load_state_dict(state["model"])
        self.loss.load_state_dict(state["loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        load_scaler_state(self.scaler, state["scaler"])
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])

    def _forward(self, batch) -> Tuple[torch.Tensor, torch.Tensor]:
        """(prediction, loss); a two-pair batch averages the two pairs' losses when training."""
        two = "fine_ref2" in batch
        with autocast(self.device, self.precision):
            if two and self.model.training:
                preds = self.model.forward_pairs(batch["fine_ref"], batch["coarse_ref"], batch["fine_ref2"],
                                                 batch["coarse_ref2"], batch["coarse_target"])
            elif two:
                preds = [self.model.forward_two(batch["fine_ref"], batch["coarse_ref"], batch["fine_ref2"],
                                                batch["coarse_ref2"], batch["coarse_target"])]
            else:
                preds = [self.model(batch["fine_ref"], batch["coarse_ref"], batch["coarse_target"])]
        preds = [p.float() for p in preds]
        loss = sum(self.loss(p, batch["target"], batch["mask"]) for p in preds) / len(preds)
        return preds[0], loss

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
