"""The naive baseline every fusion method must beat: ``F_ref + (C_target - C_ref)`` pixel by pixel.

It adds the coarse change between the reference and the target date to the
fine reference, so it keeps the fine image's detail and follows the coarse
image's change without any spatial weighting. Kelvin inside, output in the
inputs' units; no-data where any input is no-data or physically impossible
(``tiled.PHYSICAL_RANGE_K``).
"""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from ...common.errors import InputError
from ...common.progress import Progress, ensure
from .tiled import input_stats, open_inputs, run_tiled


@dataclass
class NaiveParams:
    """Naive settings."""

    tile_size: int = 512

    def check(self) -> None:
        """InputError for settings that cannot work."""
        if self.tile_size < 16:
            raise InputError("The tile size must be at least 16 pixels.")


def naive_tile(blocks: Sequence[np.ndarray], progress=None):
    """(fine_ref + coarse_target - coarse_ref, {}) on float32 Kelvin blocks; NaN stays NaN."""
    fine_ref, coarse_ref, coarse_target = blocks
    return fine_ref + coarse_target - coarse_ref, {}


def run_naive(fine_ref: str, coarse_ref: str, coarse_target: str, out_path: str,
              params: Optional[NaiveParams] = None, progress: Optional[Progress] = None) -> Dict:
    """The naive prediction from files on one grid to a Float32 GeoTIFF; {'units', 'predicted'}."""
    params = params or NaiveParams()
    params.check()
    progress = ensure(progress)
    inputs = open_inputs({"FINE_REF": fine_ref, "COARSE_REF": coarse_ref, "COARSE_TARGET": coarse_target})
    progress.info(input_stats(inputs, progress.sub(0, 5)).dropped_message())
    counters = run_tiled(inputs, out_path, naive_tile, 0, params.tile_size, {"LST_FUSION_METHOD": "naive"},
                         progress.sub(5, 100))
    return {"units": inputs.units, "predicted": counters["predicted"]}


def predict_plan(plan, out_path: str, settings: Dict, progress: Progress) -> Dict:
    """The naive prediction of one planned date from its reference pair."""
    ref = plan.references[0]
    return run_naive(ref.fine, ref.coarse, plan.target.coarse, out_path, NaiveParams(**settings), progress)
