"""Prediction with a trained deep model on scenes of any size, by tiles with a halo.

Each tile's read window is its core grown by the model's receptive-field radius
(``spec.halo``), so tiles reproduce the untiled prediction and no seams appear.
Tiles of equal shape are stacked into batches (on the GPU when there is one,
with float16 autocast). Memory is bounded by the tile size and batch, not by
the scene.

No-data: the network never sees raw no-data. Inputs are normalised, no-data
becomes 0 (the training mean) before the forward pass, and the output is NaN
(no-data on disk) wherever an input of the pair(s) used is no-data. With two
reference pairs a pixel valid in only one pair gets that pair's prediction.
Values are in the model's units (K or °C); inputs in other units are refused.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .device import describe_device, resolve_device
from ...common.deps import require_torch
from ...common.errors import InputError
from ...common.grid import require_same_grid
from .model_file import ModelFile, load_model
from ...common.units import units_of
from ...common.progress import Progress, ensure
from ...common.raster_io import RasterWriter, band_description, open_raster, read_band, read_grid
from ...common.tiling import Part, part_tiles

def guess_units(path: str) -> Optional[str]:
    """'kelvin' or 'celsius' from the raster's metadata or its values (see ``common.units``)."""
    return units_of(path)[0]


def require_model_units(paths: dict, units: str) -> None:
    """InputError when a named raster's units (stated or evident) differ from ``units``."""
    for name, path in paths.items():
        found = guess_units(path)
        if found and found != units:
            raise InputError(f"{name} ({path}) is in {found.capitalize()} but the model works in "
                             f"{units.capitalize()}: convert the raster (K = °C + 273.15) or use a "
                             "model trained on data in the same units.")


def read_block(path: str, bands: int, window) -> np.ndarray:
    """(bands, rows, cols) float32 of a window of a raster, NaN where no-data."""
    ds = open_raster(path)
    if ds.RasterCount < bands:
        raise InputError(f"{path} has {ds.RasterCount} band(s); the model needs {bands}.")
    return np.stack([read_band(ds, b + 1, window) for b in range(bands)])


@dataclass
class Predictor:
    """A model file's network on a device, predicting blocks in the model's units.

    ``predict`` takes a list of input sets of equal shape; each set is
    (fine_ref, coarse_ref, coarse_target) or (fine_ref, coarse_ref, fine_ref2,
    coarse_ref2, coarse_target), each (bands, rows, cols) in the model's units
    with NaN for no-data, and returns the predictions (bands, rows, cols).
    """

    model: ModelFile
    device: object
    amp: bool = True

    def __post_init__(self):
        self.torch = require_torch()
        self.net = self.model.network(self.device)
        self.spec = self.model.spec
        self.halo = max(self.spec.halo, int(getattr(self.net, "halo", 0)))
        self.amp = bool(self.amp and self.device.type == "cuda")

    def _forward(self, fine, coarse, target):
        with self.torch.autocast(device_type=self.device.type, dtype=self.torch.float16, enabled=self.amp):
            return self.net(fine, coarse, target).float()

    def _forward_two(self, f1, c1, f2, c2, target):
        with self.torch.autocast(device_type=self.device.type, dtype=self.torch.float16, enabled=self.amp):
            return self.net.forward_two(f1, c1, f2, c2, target).float()

    def _tensor(self, blocks: Sequence[np.ndarray], pad: Tuple[int, int]):
        stacked = self.torch.from_numpy(np.stack(blocks)).to(self.device)
        if pad != (0, 0):
            stacked = self.torch.nn.functional.pad(stacked, (0, pad[1], 0, pad[0]), mode="replicate")
        return stacked

    def predict(self, input_sets: List[Tuple[np.ndarray, ...]]) -> List[np.ndarray]:
        """Predictions for a batch of equal-shape input sets (see the class docstring)."""
        n_inputs = len(input_sets[0])
        rows, cols = input_sets[0][0].shape[-2:]
        m = self.spec.size_multiple
        pad = (-rows % m, -cols % m)
        normed = [[self.model.normalise(a) for a in inputs] for inputs in input_sets]
        valid = [[np.isfinite(a).all(axis=0) for a in inputs] for inputs in normed]
        tensors = [self._tensor([np.nan_to_num(s[i], nan=0.0) for s in normed], pad) for i in range(n_inputs)]
        with self.torch.inference_mode():
            if n_inputs == 3:
                out = self._forward(*tensors)
            else:
                f1, c1, f2, c2, ct = tensors
                p1, p2 = self._forward(f1, c1, ct), self._forward(f2, c2, ct)
                out = self.torch.stack([self._forward_two(f1, c1, f2, c2, ct), p1, p2])
        out = out.cpu().numpy()[..., :rows, :cols]
        results = []
        for k, v in enumerate(valid):
            if n_inputs == 3:
                pred = out[k]
                ok = v[0] & v[1] & v[2]
            else:
                ok1, ok2 = v[0] & v[1] & v[4], v[2] & v[3] & v[4]
                pred = np.where(ok1 & ok2, out[0, k], np.where(ok1, out[1, k], out[2, k]))
                ok = ok1 | ok2
            pred = self.model.denormalise(pred)
            pred[:, ~ok] = np.nan
            results.append(pred)
        return results


def fuse_paths(model_path: str, fine_ref: str, coarse_ref: str, coarse_target: str, out_path: str,
               fine_ref2: Optional[str] = None, coarse_ref2: Optional[str] = None,
               device: str = "auto", tile_size: int = 512, batch_tiles: int = 0,
               progress: Optional[Progress] = None, part: Optional[Part] = None) -> dict:
    """Predict the fine image at the target date and write it to ``out_path`` (Float32 GeoTIFF).

    Inputs must share one grid (coarse images aligned onto the fine grid) and the
    model's units and band count. ``batch_tiles`` 0 means 1 on the CPU and 8 on
    CUDA. Returns {'tiles', 'valid_fraction' (of the whole grid), 'device', 'model'}. With
    ``part`` only that strip of tiles is predicted, into a raster of the strip.
    """
    progress = ensure(progress)
    model = load_model(model_path)
    spec = model.spec
    inputs = {"FINE_REF": fine_ref, "COARSE_REF": coarse_ref}
    second = {"FINE_REF2": fine_ref2, "COARSE_REF2": coarse_ref2}
    if any(second.values()) and not all(second.values()):
        raise InputError("Give both FINE_REF2 and COARSE_REF2 for a second reference pair, or neither.")
    if all(second.values()):
        if not spec.takes_second_pair:
            raise InputError(f"{spec.display_name} uses one reference pair; leave FINE_REF2 and COARSE_REF2 empty.")
        inputs.update(second)
    elif spec.pairs == 2:
        raise InputError(f"{spec.display_name} needs two reference pairs: give FINE_REF2 and COARSE_REF2 "
                         "(a pair after the target date).")
    inputs["COARSE_TARGET"] = coarse_target
    grid = require_same_grid({f"{k} ({v})": read_grid(v) for k, v in inputs.items()})
    require_model_units(inputs, model.units)
    torch_device = resolve_device(device)
    predictor = Predictor(model, torch_device)
    progress.info(f"Model: {model.describe()}; device {describe_device(torch_device)}.")

    m = spec.size_multiple
    tile = max(m, -(-int(tile_size) // m) * m)
    halo = -(-predictor.halo // m) * m
    batch = batch_tiles or (8 if torch_device.type == "cuda" else 1)
    rows, cols = grid.shape
    window, tiles = part_tiles(rows, cols, tile, halo, part)
    total = len(tiles)
    if not tiles:
        return {"tiles": 0, "valid_fraction": 0.0, "device": str(torch_device), "model": model.architecture}
    paths = list(inputs.values())
    valid = 0
    done = 0
    with RasterWriter(out_path, grid.window(*window), model.bands, units=model.units,
                      descriptions=[band_description("LST", model.units)] * model.bands,
                      metadata={"LST_FUSION_MODEL": model.architecture,
                                "LST_FUSION_MODEL_FILE": model_path}) as writer:
        pending = []

        def flush():
            nonlocal valid, done
            preds = predictor.predict([sets for _, sets in pending])
            for (t, _), pred in zip(pending, preds):
                core = pred[(slice(None),) + t.core_in_read]
                writer.write(core, t.core[0] - window[0], t.core[1])
                valid += int(np.isfinite(core).all(axis=0).sum())
            done += len(pending)
            pending.clear()
            progress.step(done, total)

        for t in tiles:
            sets = tuple(read_block(p, model.bands, t.read) for p in paths)
            if pending and pending[0][1][0].shape != sets[0].shape:
                flush()
            pending.append((t, sets))
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
    return {"tiles": total, "valid_fraction": valid / float(rows * cols),
            "device": str(torch_device), "model": model.architecture}


def predict_plan(plan, out_path: str, settings: dict, progress: Progress) -> dict:
    """A trained model (``settings['model_file']``, ``settings['device']``) for one planned date.

    Uses the second reference pair when the plan has one.
    """
    first = plan.references[0]
    second = plan.references[1] if len(plan.references) == 2 else None
    return fuse_paths(settings["model_file"], first.fine, first.coarse, plan.target.coarse, out_path,
                      fine_ref2=second.fine if second else None, coarse_ref2=second.coarse if second else None,
                      device=settings.get("device", "auto"), progress=progress)
