"""Raw per-pixel spread (K or °C differences) of a deep model's prediction.

Two ingredients, both from the model itself:

- with two reference pairs, the disagreement of the forward and backward
  predictions (each from one pair): ``D = |P1 - P2| / 2``;
- test-time augmentation: the model predicts the inputs flipped left-right,
  flipped up-down and rotated by 180 degrees, each result is flipped back, and
  ``S`` is the standard deviation (ddof 0) of those predictions and the
  plain one (with two pairs: of the models' combined predictions).

The raw spread is ``sqrt(D^2 + S^2 + SPREAD_FLOOR^2)``; it costs 4 forward
passes per tile with one pair (the prediction: 1) and 10 with two (the
prediction: 2) (``passes`` in the result). Tiles are read with the model's halo and padded (NaN) to the model's
size multiple before any flip, so the spread does not depend on the tile size.
Split-conformal calibration turns it into an interval half-width.
"""
from typing import Optional

import numpy as np

from ...common.errors import InputError
from ...common.grid import require_same_grid
from ...common.progress import Progress, ensure
from ...common.raster_io import RasterWriter, read_grid
from ...common.tiling import count_tiles, iter_tiles
from .device import resolve_device
from .model_file import load_model
from .predict import Predictor, read_block, require_model_units

SPREAD_FLOOR = 0.1
"""Smallest raw spread (K), so that scaled scores stay finite."""
FLIPS = ((-1,), (-2,), (-2, -1))
"""Test-time augmentations: axes flipped (left-right, up-down, both = 180 degree rotation)."""


def _pad(block: np.ndarray, multiple: int) -> np.ndarray:
    """(bands, rows, cols) padded with NaN at the bottom and right to multiples of ``multiple``."""
    rows, cols = block.shape[-2:]
    return np.pad(block, ((0, 0), (0, -rows % multiple), (0, -cols % multiple)), constant_values=np.nan)


def tile_spread(predictor: Predictor, inputs, tta: bool = True) -> np.ndarray:
    """Raw spread (rows, cols) of one read block; ``inputs`` as for ``Predictor.predict`` (3 or 5 arrays)."""
    rows, cols = inputs[0].shape[-2:]
    padded = tuple(_pad(a, predictor.spec.size_multiple) for a in inputs)
    variants = [()] + (list(FLIPS) if tta else [])
    combined, disagreement = [], None
    for axes in variants:
        flipped = tuple(np.ascontiguousarray(np.flip(a, axes)) if axes else a for a in padded)
        prediction = predictor.predict([flipped])[0]
        combined.append(np.flip(prediction, axes) if axes else prediction)
    if len(inputs) == 5:
        forward = predictor.predict([padded[:2] + padded[4:]])[0]
        backward = predictor.predict([padded[2:]])[0]
        disagreement = 0.5 * np.abs(forward - backward).max(axis=0)
    stack = np.stack(combined)[..., :rows, :cols].astype(np.float64)
    spread = stack.std(axis=0).max(axis=0) if len(combined) > 1 else np.zeros((rows, cols))
    total = spread ** 2 + SPREAD_FLOOR ** 2
    if disagreement is not None:
        total = total + np.nan_to_num(disagreement[:rows, :cols].astype(np.float64), nan=0.0) ** 2
    out = np.sqrt(total)
    out[~np.isfinite(stack[0]).all(axis=0)] = np.nan
    return out


def write_deep_spread(model_path: str, fine_ref: str, coarse_ref: str, coarse_target: str, out_path: str,
                      fine_ref2: Optional[str] = None, coarse_ref2: Optional[str] = None, device: str = "auto",
                      tile_size: int = 512, tta: bool = True, progress: Optional[Progress] = None) -> dict:
    """Raw spread raster (Float32) of a model's prediction, on the inputs' grid.

    Returns {'passes' (forward passes per tile), 'tiles'}. InputError for inputs
    on different grids or in other units than the model's.
    """
    progress = ensure(progress)
    model = load_model(model_path)
    inputs = {"FINE_REF": fine_ref, "COARSE_REF": coarse_ref}
    if fine_ref2 and coarse_ref2:
        if not (model.spec.two_pair or model.spec.pairs == 2):
            raise InputError(f"{model.spec.display_name} uses one reference pair; leave the second pair empty.")
        inputs.update({"FINE_REF2": fine_ref2, "COARSE_REF2": coarse_ref2})
    inputs["COARSE_TARGET"] = coarse_target
    grid = require_same_grid({f"{k} ({v})": read_grid(v) for k, v in inputs.items()})
    require_model_units(inputs, model.units)
    predictor = Predictor(model, resolve_device(device))
    m = model.spec.size_multiple
    tile = max(m, -(-int(tile_size) // m) * m)
    halo = -(-model.spec.halo // m) * m
    rows, cols = grid.shape
    total = count_tiles(rows, cols, tile)
    with RasterWriter(out_path, grid, metadata={"LST_FUSION_LAYER": "raw spread (K)"}) as writer:
        for i, t in enumerate(iter_tiles(rows, cols, tile, halo)):
            blocks = tuple(read_block(p, model.bands, t.read) for p in inputs.values())
            writer.write(tile_spread(predictor, blocks, tta)[t.core_in_read], t.core[0], t.core[1])
            progress.step(i + 1, total)
    two = len(inputs) == 5
    passes = (1 + (len(FLIPS) if tta else 0)) * (2 if two else 1) + (2 if two else 0)
    return {"passes": passes, "tiles": total}
