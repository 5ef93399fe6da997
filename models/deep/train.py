"""Training of the registered deep fusion models on a series of dated fine/coarse pairs.

Samples are triplets of consecutive fine dates (reference pair, target pair):
each consecutive couple gives a forward (earlier -> later) and a backward
sample. Validation dates are chosen by date, spread over the series, and no
training sample uses a validation date's images, so there is no leakage.
Images are held in memory (float32, normalised); patches (default 95 x 95,
stride 20, the survey's setting) with more than ``max_invalid`` no-data are
skipped, remaining no-data is filled with 0 (the mean) in the inputs and
masked out of the loss. Normalisation statistics (mean and standard deviation
per band over the valid pixels of the training images, fine and coarse) are
stored in the model file.

With ``simulate_coarse`` the coarse images are simulated from the fine ones
(block mean over the coarse pixel, bilinear back) and, for every training
fine image, ``synthetic_targets`` synthetic target dates are generated
(:mod:`.coarse_simulation`), so that even a single fine date can train a
model; the log and the model file say so.
"""
import copy
import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .architectures import get_spec
from .coarse_simulation import simulate_coarse, synthetic_target
from .device import describe_device, resolve_device
from .predict import guess_units, read_block
from ...common.deps import require_torch
from ...common.errors import Cancelled, InputError
from ...common.grid import require_same_grid
from .model_file import ModelFile, save_model
from . import checkpoint as train_checkpoint
from ...common.pairs import read_pairs
from ...common.progress import Progress, ensure
from ...common.raster_io import band_count, read_grid


@dataclass
class TrainConfig:
    """Training options. ``learning_rate`` 0 means the model's published rate.

    ``coarse_factor``: coarse pixel size in fine pixels, used only with
    ``simulate_coarse`` (33 for MODIS 1 km over Landsat 30 m). ``resume``:
    continue from the resume checkpoint beside the output file, when there is
    one (:mod:`.train_checkpoint`). ``initial_model``: a model file whose weights,
    hyperparameters and normalisation training starts from (fine-tuning); empty
    = random initialisation. ``cache_dir``: where pretrained loss parts (EDCSTFN's
    feature autoencoder) are kept for reuse on the same data; None = the user's
    cache folder (:func:`default_cache_dir`), "" = no cache. ``pretrain_share``:
    the loss's pretraining runs at most this share of the training batches
    (epochs x batches per epoch) and, with a time budget, of ``max_seconds``.
    ``max_seconds`` > 0: a time budget (pretraining included); when it is spent,
    the current epoch ends after its batch, is validated, and training stops.
    """

    model: str = "edcstfn"
    epochs: int = 30
    batch_size: int = 16
    patience: int = 5
    learning_rate: float = 0.0
    patch: int = 95
    stride: int = 20
    seed: int = 0
    validation_fraction: float = 0.2
    device: str = "auto"
    amp: bool = True
    simulate_coarse: bool = False
    coarse_factor: int = 33
    synthetic_targets: int = 4
    max_invalid: float = 0.1
    hyperparameters: Dict = field(default_factory=dict)
    resume: bool = False
    initial_model: str = ""
    cache_dir: Optional[str] = None
    pretrain_share: float = 0.1
    max_seconds: float = 0.0


@dataclass
class Sample:
    """Keys of the images of one training/validation sample in the image store.

    A two-pair sample (models with ``two_pair_training``) also names the pair
    after the target (``fine_ref2``, ``coarse_ref2``); ``fine_ref`` is then the pair before.
    """

    fine_ref: str
    coarse_ref: str
    coarse_target: str
    target: str
    fine_ref2: Optional[str] = None
    coarse_ref2: Optional[str] = None

    @property
    def keys(self) -> List[str]:
        """The image keys the sample reads."""
        return [k for k in (self.fine_ref, self.coarse_ref, self.fine_ref2, self.coarse_ref2,
                            self.coarse_target, self.target) if k]


def choose_validation_dates(dates: List, fraction: float) -> List:
    """round(fraction x n) dates spread evenly over the series, never the first or last; none when n < 3."""
    n = len(dates)
    k = min(int(round(fraction * n)), n - 2)
    if n < 3 or k <= 0:
        return []
    picks = np.linspace(1, n - 2, k).round().astype(int)
    return [dates[i] for i in sorted(set(picks.tolist()))]


def patch_positions(valid: np.ndarray, patch: int, stride: int, max_invalid: float) -> List[Tuple[int, int]]:
    """Top-left corners (row, col) of patches whose share of invalid pixels is at most ``max_invalid``.

    ``valid`` is (rows, cols) bool; patches step by ``stride`` and the last row
    and column of patches are moved to touch the image edge.
    """
    rows, cols = valid.shape
    if rows < patch or cols < patch:
        return []
    starts_r = sorted(set(list(range(0, rows - patch + 1, stride)) + [rows - patch]))
    starts_c = sorted(set(list(range(0, cols - patch + 1, stride)) + [cols - patch]))
    integral = np.pad((~valid).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    limit = max_invalid * patch * patch
    out = []
    for r in starts_r:
        for c in starts_c:
            bad = integral[r + patch, c + patch] - integral[r, c + patch] - integral[r + patch, c] + integral[r, c]
            if bad <= limit:
                out.append((r, c))
    return out


class TrainingData:
    """Normalised images in memory, the samples and their patch positions."""

    def __init__(self, images: Dict[str, np.ndarray], train: List[Sample], val: List[Sample],
                 config: TrainConfig):
        self.images = images
        self.train = train
        self.val = val
        self.config = config
        self.train_patches = self._positions(train, config.stride)
        self.val_patches = self._positions(val, config.patch)

    def _positions(self, samples: List[Sample], stride: int) -> List[Tuple[int, int, int]]:
        out = []
        for i, s in enumerate(samples):
            valid = np.ones(self.images[s.target].shape[1:], bool)
            for key in s.keys:
                valid &= np.isfinite(self.images[key]).all(axis=0)
            out += [(i, r, c) for r, c in patch_positions(valid, self.config.patch, stride,
                                                          self.config.max_invalid)]
        return out

    def batches(self, samples: List[Sample], positions, batch_size: int, rng=None) -> List[List]:
        """``positions`` cut into batches of one kind (one-pair or two-pair samples), shuffled with ``rng``."""
        out = []
        for two in (False, True):
            kind = [q for q in positions if (samples[q[0]].fine_ref2 is not None) == two]
            if rng is not None:
                kind = [kind[i] for i in rng.permutation(len(kind))]
            out += [kind[i:i + batch_size] for i in range(0, len(kind), batch_size)]
        if rng is not None:
            out = [out[i] for i in rng.permutation(len(out))]
        return out

    def batch(self, samples: List[Sample], positions, torch, device) -> Dict:
        """Tensors fine_ref, coarse_ref, coarse_target, target (N, bands, p, p) and mask (N, 1, p, p),
        plus fine_ref2, coarse_ref2 for a batch of two-pair samples."""
        p = self.config.patch
        names = ["fine_ref", "coarse_ref", "coarse_target", "target"]
        if samples[positions[0][0]].fine_ref2 is not None:
            names += ["fine_ref2", "coarse_ref2"]
        arrays = {k: [] for k in names}
        for i, r, c in positions:
            s = samples[i]
            for key in arrays:
                arrays[key].append(self.images[getattr(s, key)][:, r:r + p, c:c + p])
        stacked = {k: np.stack(v) for k, v in arrays.items()}
        mask = np.ones((len(positions), 1, p, p), np.float32)
        for v in stacked.values():
            mask *= np.isfinite(v).all(axis=1, keepdims=True)
        out = {k: torch.from_numpy(np.nan_to_num(v, nan=0.0)).to(device) for k, v in stacked.items()}
        out["mask"] = torch.from_numpy(mask).to(device)
        return out


def _load_series(pairs_path: str, config: TrainConfig, progress: Progress):
    """(pairs with a fine image usable for training, band count, units) of a pairs table."""
    pairs = read_pairs(pairs_path)
    usable = [p for p in pairs if p.fine and (p.coarse or config.simulate_coarse)]
    skipped = [p for p in pairs if p.fine and not (p.coarse or config.simulate_coarse)]
    if skipped:
        progress.info(f"{len(skipped)} date(s) with a fine image but no coarse image are not used: "
                      + ", ".join(str(p.date) for p in skipped))
    if not usable:
        raise InputError(f"{pairs_path} has no date with both a fine and a coarse image.")
    files = {}
    for p in usable:
        files[f"fine {p.date} ({p.fine})"] = p.fine
        if p.coarse and not config.simulate_coarse:
            files[f"coarse {p.date} ({p.coarse})"] = p.coarse
    require_same_grid({name: read_grid(path) for name, path in files.items()})
    counts = {path: band_count(path) for path in files.values()}
    if len(set(counts.values())) > 1:
        raise InputError("The images of the series have different band counts: "
                         + ", ".join(f"{p}: {n}" for p, n in counts.items()))
    units = {path: guess_units(path) for path in files.values()}
    known = set(u for u in units.values() if u)
    if len(known) > 1:
        raise InputError("The series mixes Kelvin and Celsius images: "
                         + ", ".join(f"{p}: {u}" for p, u in units.items() if u)
                         + ". Convert them to one unit first.")
    unit = known.pop() if known else "kelvin"
    if unit == "kelvin" and not any(units.values()):
        progress.info("The images do not state their units and their values do not reveal them; "
                      "assuming Kelvin.")
    return usable, next(iter(counts.values())), unit


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/lst_fusion_plugin`` (``~/.cache/lst_fusion_plugin`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lst_fusion_plugin")


def pretrain_cache_path(config: TrainConfig, architecture: str, hyper: Dict, data: "TrainingData") -> Optional[str]:
    """Cache file of a loss's pretrained part: a hash of the training targets, patches and settings."""
    folder = default_cache_dir() if config.cache_dir is None else config.cache_dir
    if not folder:
        return None
    digest = hashlib.sha256(json.dumps([architecture, hyper, config.patch, config.stride, config.seed,
                                        config.batch_size, config.max_invalid, config.epochs,
                                        config.pretrain_share], sort_keys=True).encode())
    for key in sorted({s.target for s in data.train}):
        digest.update(np.ascontiguousarray(data.images[key]).tobytes())
    return os.path.join(folder, f"{architecture}_loss_{digest.hexdigest()[:24]}.pt")


def load_initial_model(path: str, architecture: str, hyper: Dict, overrides: Dict):
    """The model file to fine-tune, checked against the model being trained; InputError saying what differs.

    Its hyperparameters are kept, updated with ``overrides`` (the ones given for
    training); the weights must fit the resulting network exactly.
    """
    from .model_file import load_model
    model = load_model(path)
    if model.architecture != architecture:
        raise InputError(f"The initial model {path} is a {model.spec.display_name} model, but "
                         f"{get_spec(architecture).display_name} is being trained: choose the same MODEL "
                         "or another initial model.")
    different = {k: (model.hyperparameters.get(k), v) for k, v in overrides.items()
                 if model.hyperparameters.get(k) != hyper[k]}
    net = get_spec(architecture).build(model.bands, **dict(model.hyperparameters, **overrides))
    try:
        net.load_state_dict(model.state_dict, strict=True)
    except RuntimeError as err:
        raise InputError(f"The initial model {path} does not fit the hyperparameters "
                         f"{json.dumps(different)} given for training (its layers differ): "
                         f"{str(err).splitlines()[0]}") from err
    return model


def prepare_data(pairs_path: str, config: TrainConfig, progress: Progress, two_pair: bool = False,
                 normalisation: Optional[Tuple[List[float], List[float]]] = None):
    """Load the series, build train/validation samples, normalise; returns (data, mean, std, info).

    One-pair samples: every couple of consecutive training dates, both directions.
    With ``two_pair`` (and at least three training dates) the training samples are
    instead the triplets of consecutive training dates (pair before, target, pair
    after), as the two-pair models were published; validation dates between two
    training dates are then scored with both pairs. ``normalisation`` (mean, std
    per band) replaces the statistics of the training images (fine-tuning keeps
    the initial model's).
    """
    pairs, bands, units = _load_series(pairs_path, config, progress)
    dates = [p.date for p in pairs]
    val_dates = set(choose_validation_dates(dates, config.validation_fraction))
    train_dates = [d for d in dates if d not in val_dates]
    raw = {}
    for k, p in enumerate(pairs):
        progress.check()
        fine = read_block(p.fine, bands, None)
        raw[f"F{p.date}"] = fine
        raw[f"C{p.date}"] = (simulate_coarse(fine, config.coarse_factor) if config.simulate_coarse
                             else read_block(p.coarse, bands, None))
        progress.step(k + 1, len(pairs))

    def couples(ds) -> List[Sample]:
        out = []
        for a, b in zip(ds[:-1], ds[1:]):
            out += [Sample(f"F{a}", f"C{a}", f"C{b}", f"F{b}"), Sample(f"F{b}", f"C{b}", f"C{a}", f"F{a}")]
        return out

    def triplet(a, t, b) -> Sample:
        return Sample(f"F{a}", f"C{a}", f"C{t}", f"F{t}", f"F{b}", f"C{b}")

    two_pair = two_pair and len(train_dates) >= 3
    if two_pair:
        train = [triplet(a, t, b) for a, t, b in zip(train_dates, train_dates[1:], train_dates[2:])]
    else:
        train = couples(train_dates)
    val = []
    for d in sorted(val_dates):
        i = dates.index(d)
        refs = [ref for ref in (dates[i - 1], dates[i + 1]) if ref not in val_dates]
        if two_pair and len(refs) == 2:
            val.append(triplet(refs[0], d, refs[1]))
        else:
            val += [Sample(f"F{ref}", f"C{ref}", f"C{d}", f"F{d}") for ref in refs]
    if config.simulate_coarse:
        rng = np.random.default_rng(config.seed)
        for d in train_dates:
            for k in range(config.synthetic_targets):
                key = f"S{d}#{k}"
                raw[f"F{key}"] = synthetic_target(raw[f"F{d}"], config.coarse_factor, rng)
                raw[f"C{key}"] = simulate_coarse(raw[f"F{key}"], config.coarse_factor)
                train += [Sample(f"F{d}", f"C{d}", f"C{key}", f"F{key}"),
                          Sample(f"F{key}", f"C{key}", f"C{d}", f"F{d}")]
        progress.info(f"SIMULATED COARSE IMAGES: the coarse images were simulated from the fine ones "
                      f"(mean over {config.coarse_factor} x {config.coarse_factor} fine pixels, bilinear "
                      f"back to the fine grid), the real coarse images were not used, and "
                      f"{config.synthetic_targets} synthetic target dates were generated from each of "
                      f"the {len(train_dates)} training fine image(s).")
    if not train:
        raise InputError(f"Only {len(train_dates)} fine date(s) remain for training "
                         f"({len(val_dates)} kept for validation): at least two are needed. Add fine "
                         "dates, lower the validation fraction, or turn on 'simulate coarse images "
                         "from the fine ones'.")
    used = {k for s in train for k in s.keys}
    values = [raw[k].reshape(bands, -1) for k in sorted(used)]
    mean, std = [], []
    for b in range(bands):
        total, total2, count = 0.0, 0.0, 0
        for v in values:
            x = v[b][np.isfinite(v[b])].astype(np.float64)
            total, total2, count = total + x.sum(), total2 + (x * x).sum(), count + x.size
        if count == 0:
            raise InputError("The training images have no valid pixel.")
        m = total / count
        mean.append(m)
        std.append(max(math.sqrt(max(total2 / count - m * m, 0.0)), 1e-3))
    if normalisation is not None:
        if len(normalisation[0]) != bands:
            raise InputError(f"The initial model has {len(normalisation[0])} band(s); the series has {bands}.")
        mean, std = [float(v) for v in normalisation[0]], [float(v) for v in normalisation[1]]
    norm_mean = np.asarray(mean, np.float32)[:, None, None]
    norm_std = np.asarray(std, np.float32)[:, None, None]
    images = {k: ((v - norm_mean) / norm_std).astype(np.float32) for k, v in raw.items()}
    data = TrainingData(images, train, val, config)
    info = {"dates": [str(d) for d in dates], "train_dates": [str(d) for d in train_dates],
            "validation_dates": [str(d) for d in sorted(val_dates)], "bands": bands, "units": units,
            "train_samples": len(train), "validation_samples": len(val), "two_pair_samples": two_pair,
            "train_patches": len(data.train_patches), "validation_patches": len(data.val_patches)}
    return data, mean, std, info


def train_model(pairs_path: str, out_path: str, config: TrainConfig,
                progress: Optional[Progress] = None) -> Dict:
    """Train ``config.model`` on the pairs table and write the model file to ``out_path``.

    The best epoch is the one of lowest validation RMSE (K, what a user judges
    a model by; EDCSTFN's published loss mixes feature and MS-SSIM terms whose
    epoch-to-epoch ups and downs need not follow it), and training stops early
    after ``patience`` epochs without a lower one; the best epoch's weights are
    saved. A cancel after at least
    one finished epoch saves the best weights so far and returns normally
    (``summary['cancelled']`` is True). Returns a summary dict (plain values).

    After every finished epoch a resume checkpoint ``out_path + '.resume'`` is
    written (:mod:`.train_checkpoint`); it is removed when training ends
    (last epoch or early stop) and kept after a cancel or a crash. With
    ``config.resume`` training continues after the checkpoint's epoch (up to
    ``config.epochs``); a checkpoint of another model, other options or another
    pairs table is refused with an InputError; without a checkpoint training
    starts from the beginning.
    """
    progress = ensure(progress)
    torch = require_torch()
    try:
        spec = get_spec(config.model)
        hyper = spec.hyperparameters(config.hyperparameters)
    except ValueError as err:
        raise InputError(str(err)) from err
    initial = None
    if config.initial_model:
        initial = load_initial_model(config.initial_model, spec.name, hyper, config.hyperparameters)
        hyper = spec.hyperparameters(dict(initial.hyperparameters, **config.hyperparameters))
    if config.patch < 1 or config.stride < 1 or config.batch_size < 1 or config.epochs < 1:
        raise InputError("Patch size, stride, batch size and epochs must be positive.")
    patch = -(-config.patch // spec.size_multiple) * spec.size_multiple
    if patch != config.patch:
        progress.info(f"{spec.display_name} works on sizes that are multiples of {spec.size_multiple}: "
                      f"patches of {patch} x {patch} pixels instead of {config.patch} x {config.patch}.")
        config = dataclasses.replace(config, patch=patch)
    device = resolve_device(config.device)
    resume_path = train_checkpoint.checkpoint_path(out_path)
    expected = train_checkpoint.identity(spec.name, hyper, config, pairs_path)
    checkpoint = None
    if config.resume and os.path.isfile(resume_path):
        checkpoint = train_checkpoint.load_checkpoint(resume_path)
        train_checkpoint.require_match(resume_path, checkpoint, expected)
    elif config.resume:
        progress.info(f"No resume checkpoint {resume_path}: training from the start.")
    elif os.path.isfile(resume_path):
        progress.info(f"RESUME is off: the resume checkpoint {resume_path} will be replaced after the first epoch.")
    torch.manual_seed(config.seed)
    np_rng = np.random.default_rng(config.seed)
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False

    data, mean, std, info = prepare_data(pairs_path, config, progress.sub(0, 5), spec.two_pair_training,
                                         (initial.mean, initial.std) if initial else None)
    if initial is not None and initial.units != info["units"]:
        raise InputError(f"The initial model {config.initial_model} works in {initial.units.capitalize()} but "
                         f"the series is in {info['units'].capitalize()}: convert the series "
                         "(K = °C + 273.15) or start from another model.")
    mean, std = [float(v) for v in mean], [float(v) for v in std]
    expected.update(dates=info["dates"], normalisation={"mean": mean, "std": std})
    if checkpoint is not None:
        train_checkpoint.require_match(resume_path, checkpoint, expected)
    if not data.train_patches:
        raise InputError(f"No training patch of {config.patch} x {config.patch} pixels with at most "
                         f"{100 * config.max_invalid:.0f} % no-data: the images are too small or too "
                         "empty. Lower the patch size or raise the allowed no-data share.")
    bands = info["bands"]
    net = spec.build(bands, **hyper)
    if initial is not None:
        net.load_state_dict(initial.state_dict, strict=True)
        progress.info(f"Fine-tuning from {config.initial_model} ({initial.describe()}); its normalisation "
                      "and hyperparameters are kept.")
    net = net.to(device)
    lr = config.learning_rate or spec.learning_rate
    trainer = spec.make_trainer(net, bands, hyper, lr, device, config.amp)
    precision = trainer.precision
    if config.patch < trainer.min_patch:
        raise InputError(f"The {spec.display_name} loss needs patches of at least {trainer.min_patch} pixels; "
                         f"PATCH_SIZE is {config.patch}.")
    progress.info(f"Training {spec.display_name} on {describe_device(device)}"
                  f"{'' if precision == 'float32' else ' with ' + precision + ' mixed precision'}: "
                  f"{info['train_samples']} training "
                  f"samples ({info['train_patches']} patches of {config.patch} x {config.patch}, stride "
                  f"{config.stride}), {info['validation_samples']} validation samples "
                  f"({info['validation_patches']} patches) on dates "
                  f"{', '.join(info['validation_dates']) or 'none'}; normalisation mean "
                  f"{', '.join(f'{m:.2f}' for m in mean)}, std {', '.join(f'{s:.2f}' for s in std)} "
                  f"({info['units']}).")
    if not data.val_patches:
        progress.info("No validation date: training runs all epochs without early stopping, and the "
                      "model file has no validation score.")

    batch_size = config.batch_size
    n_batches = len(data.batches(data.train, data.train_patches, batch_size))

    pretrain_rng = np.random.default_rng([config.seed, 1])  # own stream: a cached pretraining changes nothing

    def fine_batches():
        for positions in data.batches(data.train, data.train_patches, batch_size, pretrain_rng):
            yield data.batch(data.train, positions, torch, device)["target"]

    best = {"loss": math.inf, "state": None, "epoch": 0, "rmse": None}
    history, bad_epochs, cancelled, start, seconds_before = [], 0, False, time.time(), 0.0
    pretrain_seconds = 0.0
    if checkpoint is None:
        limit = max(1, int(math.ceil(config.pretrain_share * config.epochs * n_batches)))
        trainer.prepare(fine_batches, progress.sub(5, 10), limit,
                        pretrain_cache_path(config, spec.name, hyper, data),
                        config.pretrain_share * config.max_seconds if config.max_seconds > 0 else None)
        pretrain_seconds = time.time() - start
    else:
        trainer.load_state_dict(checkpoint["trainer"])
        train_checkpoint.restore_rng(checkpoint["rng"], np_rng, device, torch)
        best, history, bad_epochs = dict(checkpoint["best"]), list(checkpoint["history"]), checkpoint["bad_epochs"]
        seconds_before = checkpoint["seconds"]
        progress.info(f"Resuming after epoch {checkpoint['epoch']} from {resume_path} (best epoch "
                      f"{best['epoch']}).")
    first_epoch, last_epoch = len(history) + 1, config.epochs
    if data.val_patches and bad_epochs >= config.patience:
        progress.info(f"No improvement for {bad_epochs} epoch(s) already, which reaches the patience "
                      f"({config.patience}): no further epoch.")
        last_epoch = len(history)
    fit = progress.sub(10, 100)
    total_batches = n_batches * config.epochs
    last_log = 0.0
    try:
        for epoch in range(first_epoch, last_epoch + 1):
            losses = []
            for b, positions in enumerate(data.batches(data.train, data.train_patches, batch_size, np_rng)):
                losses.append(trainer.train_step(data.batch(data.train, positions, torch, device)))
                done = (epoch - 1) * n_batches + b + 1
                now = time.time()
                if now - last_log >= 5 or b in (0, n_batches - 1):
                    eta = (now - start) / (done - (first_epoch - 1) * n_batches) * (total_batches - done)
                    fit.info(f"epoch {epoch}/{config.epochs}, batch {b + 1}/{n_batches}: loss "
                             f"{losses[-1]:.4f} (epoch mean {np.mean(losses):.4f}){_named_losses(trainer)}; "
                             f"ETA at most {_duration(eta)}")
                    last_log = now
                fit.step(done, total_batches)
                if config.max_seconds > 0 and seconds_before + now - start >= config.max_seconds:
                    break
            out_of_time = config.max_seconds > 0 and seconds_before + time.time() - start >= config.max_seconds
            record = {"epoch": epoch, "train_loss": float(np.mean(losses)), "batches": len(losses)}
            if data.val_patches:
                val_loss, val_rmse = _validate(trainer, data, torch, device, batch_size, std)
                record.update(validation_loss=val_loss, validation_rmse=val_rmse)
                improved = best["rmse"] is None or val_rmse < best["rmse"]
            else:
                val_loss, val_rmse, improved = None, None, True
            trainer.end_epoch(val_loss if val_loss is not None else record["train_loss"])
            record["seconds"] = round(seconds_before + time.time() - start, 1)
            history.append(record)
            if improved:
                best.update(loss=val_loss if val_loss is not None else math.inf, epoch=epoch,
                            rmse=val_rmse, state=copy.deepcopy({k: v.cpu() for k, v in net.state_dict().items()}))
                bad_epochs = 0
            else:
                bad_epochs += 1
            train_checkpoint.save_checkpoint(resume_path, {
                **expected, "epoch": epoch, "history": history, "best": best, "bad_epochs": bad_epochs,
                "trainer": trainer.state_dict(), "rng": train_checkpoint.rng_state(np_rng, device, torch),
                "seconds": seconds_before + time.time() - start})
            fit.info(f"epoch {epoch}: training loss {record['train_loss']:.4f}"
                     + (f", validation loss {val_loss:.4f}, RMSE {val_rmse:.3f}" if val_loss is not None else "")
                     + (" (best)" if improved and val_loss is not None else ""))
            if data.val_patches and bad_epochs >= config.patience:
                fit.info(f"Early stop: no improvement for {config.patience} epoch(s); keeping epoch {best['epoch']}.")
                break
            if out_of_time:
                fit.info(f"Time budget of {_duration(config.max_seconds)} spent after {len(losses)} batch(es) of "
                         f"epoch {epoch}; keeping epoch {best['epoch']}.")
                break
    except Cancelled:
        if best["state"] is None:
            raise
        cancelled = True
        progress.info(f"Cancelled: saving the best weights so far (epoch {best['epoch']}).")

    units = info["units"]
    model = ModelFile(spec.name, hyper, bands, units, mean, std, best["state"],
                      training={**{k: v for k, v in info.items() if k not in ("bands", "units")},
                                "epochs_run": len(history), "best_epoch": best["epoch"],
                                "batch_size": batch_size, "learning_rate": lr, "patch": config.patch,
                                "stride": config.stride, "seed": config.seed, "device": str(device),
                                "precision": precision, "simulated_coarse": config.simulate_coarse,
                                "coarse_factor": config.coarse_factor if config.simulate_coarse else None,
                                "synthetic_targets": config.synthetic_targets if config.simulate_coarse else 0,
                                "max_invalid": config.max_invalid, "cancelled": cancelled,
                                "resumed_after_epoch": first_epoch - 1,
                                "initial_model": os.path.basename(config.initial_model) or None,
                                "pretrain_seconds": round(pretrain_seconds, 1),
                                "seconds": round(seconds_before + time.time() - start, 1),
                                "history": history},
                      validation=({"loss": best["loss"], "rmse": best["rmse"],
                                   "dates": info["validation_dates"]} if data.val_patches else {}))
    save_model(out_path, model)
    if not cancelled and os.path.isfile(resume_path):
        os.remove(resume_path)
    return {"model_file": out_path, "best_epoch": best["epoch"], "epochs_run": len(history),
            "validation_rmse": best["rmse"], "cancelled": cancelled,
            "train_patches": info["train_patches"], "history": history}


def _validate(trainer, data: TrainingData, torch, device, batch_size: int, std: List[float]):
    """(mean loss, RMSE in the data's units) over the validation patches."""
    losses, sq, count = [], 0.0, 0
    for positions in data.batches(data.val, data.val_patches, batch_size):
        batch = data.batch(data.val, positions, torch, device)
        loss, mse = trainer.evaluate(batch)
        n = float(batch["mask"].sum())
        losses.append(loss * len(positions))
        sq += mse * n
        count += n
    variance = float(np.mean(np.square(std)))
    return float(np.sum(losses) / len(data.val_patches)), math.sqrt(sq / max(count, 1.0) * variance)


def _named_losses(trainer) -> str:
    """', generator 0.1234, critic 0.2500' from a trainer that names its step's losses (GANs), else ''."""
    named = getattr(trainer, "last_losses", None) or {}
    return "".join(f", {name} {value:.4f}" for name, value in named.items())


def _duration(seconds: float) -> str:
    """'42 s', '3.5 min' or '2.1 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
