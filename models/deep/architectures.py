"""Registry of the deep fusion models: name -> :class:`ModelSpec`.

Importing this module does not import torch: a spec names the module that
holds the network (``models/<module>.py``) and imports it only when a network,
a loss or a trainer is needed. Adding a model means writing that module and
adding one :func:`register` call at the end of this file.

A model module provides:

- ``build(bands, **hyper) -> torch.nn.Module`` whose ``forward(fine_ref,
  coarse_ref, coarse_target)`` takes three (N, bands, H, W) float tensors on the
  fine grid, normalised with the statistics stored in the model file, and
  returns the prediction of the fine image at the target date, same shape;
- for ``trainer='supervised'``: ``make_loss(bands, **hyper)`` returning a
  ``torch.nn.Module`` called as ``loss(pred, target, mask)`` (mask: (N, 1, H, W),
  1 where the target is valid); it may have a ``pretrain(fine_batches, device,
  progress, limit, cache_path, seconds)`` method run once before training (e.g. an
  autoencoder; at most ``limit`` batches and ``seconds``, reused from ``cache_path``);
- for ``trainer='custom'`` (e.g. a GAN): ``make_trainer(model, bands, hyper, lr,
  device, amp)`` returning an object with the interface of
  :class:`models.training.SupervisedTrainer`: attributes ``amp`` (bool) and
  ``min_patch`` (int), methods ``prepare(fine_batches, progress, limit,
  cache_path, seconds)``, ``end_epoch(validation_loss)``, ``train_step(batch) -> float``,
  ``evaluate(batch) -> (loss, masked MSE)``,
  ``state_dict() -> dict`` and ``load_state_dict(state)``; the state holds
  everything needed to resume training (the model's and any critic's weights,
  every optimiser's and the GradScaler's state, whatever ``prepare`` learned),
  as tensors and plain values only (it is saved in the resume checkpoint, read
  with ``weights_only=True``); only ``model``'s weights go into the model file
  (a discriminator is not saved there);
- for ``two_pair=True``: the network's ``forward_two(fine_ref, coarse_ref,
  fine_ref2, coarse_ref2, coarse_target)`` predicting from a pair before and a
  pair after the target (all normalised (N, bands, H, W) tensors), the model's
  own way (EDCSTFN fuses features, STTFN weights two directional predictions);
  with ``two_pair_training`` also ``forward_pairs(...)`` (same arguments)
  returning the two one-pair predictions whose losses training averages.
"""
import importlib
from dataclasses import dataclass, field
from typing import Dict, List, Mapping


@dataclass(frozen=True)
class ModelSpec:
    """What the framework needs to know about a deep model before importing torch.

    ``pairs``: reference pairs the model needs at inference (1, or 2 when it
    always combines a pair before and one after the target). ``two_pair``: a
    one-pair model can also use a second pair through its network's
    ``forward_two``. ``two_pair_training``: it is trained on triplets (pair
    before, target, pair after) with the mean of both pairs' losses.
    ``halo``: receptive-field radius in fine pixels of the network with its
    default hyperparameters, used as the tile halo (a network may state a larger
    one in its ``halo`` attribute). ``size_multiple``: the height and width given
    to the network must be multiples of this (1 for fully convolutional nets
    without down-sampling). ``learning_rate``, ``weight_decay``: the published
    Adam settings; ``plateau_patience`` > 0: ReduceLROnPlateau (factor 0.1) with
    that patience, as published.
    """

    name: str
    display_name: str
    module: str
    pairs: int
    defaults: Mapping = field(default_factory=dict)
    halo: int = 0
    size_multiple: int = 1
    learning_rate: float = 1e-3
    trainer: str = "supervised"
    two_pair: bool = False
    two_pair_training: bool = False
    weight_decay: float = 0.0
    plateau_patience: int = 0
    reference: str = ""

    def _module(self):
        return importlib.import_module(f"{__package__}.{self.module}")

    def hyperparameters(self, overrides: Mapping = None) -> Dict:
        """The defaults updated with ``overrides``; unknown names raise ValueError."""
        hyper = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key not in hyper:
                raise ValueError(f"{self.name} has no hyperparameter '{key}' "
                                 f"(it has: {', '.join(sorted(hyper)) or 'none'}).")
            hyper[key] = type(hyper[key])(value) if hyper[key] is not None else value
        return hyper

    def build(self, bands: int, **hyper):
        """The network (a torch.nn.Module) for ``bands`` bands with hyperparameters ``hyper``."""
        return self._module().build(bands, **self.hyperparameters(hyper))

    def make_loss(self, bands: int, **hyper):
        """The training loss module of a supervised model."""
        return self._module().make_loss(bands, **self.hyperparameters(hyper))

    def make_trainer(self, model, bands: int, hyper: Mapping, lr: float, device, amp: bool):
        """The object that trains ``model`` (see :class:`models.deep.trainer.SupervisedTrainer`)."""
        if self.trainer == "custom":
            return self._module().make_trainer(model, bands, self.hyperparameters(hyper), lr, device, amp)
        from .trainer import SupervisedTrainer
        return SupervisedTrainer(model, self.make_loss(bands, **hyper), lr, device, amp,
                                 self.weight_decay, self.plateau_patience)

    @property
    def takes_second_pair(self) -> bool:
        """True when the network can predict from a pair before and a pair after the target."""
        return self.two_pair or self.pairs == 2


_REGISTRY: Dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry (names are unique, lower case)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model '{spec.name}' is already registered")
    if spec.pairs not in (1, 2):
        raise ValueError("pairs must be 1 or 2")
    _REGISTRY[spec.name] = spec
    return spec


def model_names() -> List[str]:
    """Registered model names, in registration order (the order of the MODEL enum)."""
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model; ValueError listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown deep model '{name}'; known models: "
                         f"{', '.join(model_names())}.") from None


register(ModelSpec(
    name="edcstfn",
    display_name="EDCSTFN (Tan et al. 2019)",
    module="edcstfn",
    pairs=1,
    two_pair=True,
    two_pair_training=True,
    defaults={"feature_weight": 1.0, "ssim_weight": 0.8, "ssim_scales": 5, "pretrain_batches": 100},
    halo=5,
    size_multiple=1,
    learning_rate=1e-3,
    weight_decay=1e-6,
    plateau_patience=5,
    reference="Tan, Z., Di, L., Zhang, M., Guo, L., Gao, M. (2019). An enhanced deep convolutional "
              "model for spatiotemporal image fusion. Remote Sensing 11(24), 2898.",
))

register(ModelSpec(
    name="sttfn",
    display_name="STTFN-R (our reconstruction after Yin et al. 2021; no public code)",
    module="sttfn",
    pairs=1,
    two_pair=True,
    two_pair_training=True,
    defaults={"width": 64},
    halo=12,
    size_multiple=1,
    learning_rate=1e-3,
    reference="Yin, Z., Wu, P., Foody, G. M., Wu, Y., Liu, Z., Du, Y., Ling, F. (2021). Spatiotemporal "
              "fusion of land surface temperature based on a convolutional neural network. IEEE "
              "Transactions on Geoscience and Remote Sensing 59(2), 1808-1822.",
))

register(ModelSpec(
    name="mlffgan",
    display_name="MLFF-GAN (Song et al. 2022)",
    module="mlffgan",
    pairs=1,
    defaults={"dropout": 0.5, "adain": "local", "coarse_degradation": 16},
    halo=224,
    size_multiple=16,
    learning_rate=2e-4,
    trainer="custom",
    reference="Song, B., Liu, P., Li, J., Wang, L., Zhang, L., He, G., Chen, L., Liu, J. (2022). MLFF-GAN: "
              "a multilevel feature fusion with GAN for spatiotemporal remote sensing images. IEEE "
              "Transactions on Geoscience and Remote Sensing 60, 4410816.",
))
