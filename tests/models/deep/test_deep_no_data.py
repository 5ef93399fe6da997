"""No-data holes in the inputs of STTFN (two pairs) and MLFF-GAN (one pair): the output's no-data
pattern follows the documented rule exactly.

Rule (models.deep.predict): with one pair a pixel is predicted where the fine reference, the
coarse reference and the coarse target are all valid; with two pairs, where the coarse target
and at least one whole pair are valid, from that pair alone when the other is not.
"""
import numpy as np
import pytest

import torch

from helpers import write_tif  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import ModelFile, save_model  # noqa: E402
from lst_fusion_plugin.models.deep.predict import fuse_paths  # noqa: E402

torch.set_num_threads(2)
TRANSFORM = (500000.0, 30.0, 0.0, 6100000.0, 0.0, -30.0)
SHAPE = (80, 72)


def random_model(tmp_path, name, **hyperparameters):
    torch.manual_seed(0)
    spec = get_spec(name)
    hyper = spec.hyperparameters(hyperparameters)
    net = spec.build(1, **hyper)
    return save_model(str(tmp_path / f"{name}.pt"),
                      ModelFile(name, hyper, 1, "kelvin", [302.0], [3.0], net.state_dict()))


def scene_with_holes(tmp_path):
    """Paths of the five rasters (no-data -9999) and the boolean hole masks written into them."""
    rng = np.random.default_rng(4)
    arrays = {"fine1": rng.normal(300, 3, SHAPE), "coarse1": rng.normal(300, 2, SHAPE),
              "fine2": rng.normal(305, 3, SHAPE), "coarse2": rng.normal(304, 2, SHAPE),
              "target": rng.normal(302, 2, SHAPE)}
    holes = {name: np.zeros(SHAPE, bool) for name in arrays}
    holes["fine1"][10:25, 5:30] = True          # a cloud in the first fine reference
    holes["fine2"][18:40, 20:45] = True         # another, overlapping it, in the second
    holes["target"][48:64, 40:56] = True        # a missing coarse block on the target date
    holes["coarse1"][70:, :8] = True            # and one on the first reference date
    paths = {name: write_tif(tmp_path / f"{name}.tif", np.where(holes[name], -9999.0, a).astype(np.float32),
                             TRANSFORM, 32755, -9999.0) for name, a in arrays.items()}
    return paths, holes


@pytest.mark.parametrize("tile_size", [4096, 40])
def test_sttfn_no_data_pattern_with_two_pairs_and_one(tmp_path, tile_size):
    model = random_model(tmp_path, "sttfn", width=8)
    p, holes = scene_with_holes(tmp_path)
    ok1 = ~(holes["fine1"] | holes["coarse1"] | holes["target"])
    ok2 = ~(holes["fine2"] | holes["coarse2"] | holes["target"])
    one = fuse_paths(model, p["fine1"], p["coarse1"], p["target"], str(tmp_path / "one.tif"), tile_size=tile_size)
    two = fuse_paths(model, p["fine1"], p["coarse1"], p["target"], str(tmp_path / "two.tif"),
                     fine_ref2=p["fine2"], coarse_ref2=p["coarse2"], tile_size=tile_size)
    first, both = read_array(str(tmp_path / "one.tif")), read_array(str(tmp_path / "two.tif"))
    np.testing.assert_array_equal(np.isfinite(first), ok1)
    np.testing.assert_array_equal(np.isfinite(both), ok1 | ok2)
    assert one["valid_fraction"] == pytest.approx(ok1.mean()) and two["valid_fraction"] == pytest.approx(
        (ok1 | ok2).mean())
    # where only the first pair is valid the two-pair output is the first pair's prediction
    only1 = ok1 & ~ok2
    assert only1.sum() > 100
    np.testing.assert_allclose(both[only1], first[only1], atol=1e-4)
    # where both are valid it is a blend, not a copy of either
    assert np.abs(both[ok1 & ok2] - first[ok1 & ok2]).max() > 1e-3


@pytest.mark.slow
def test_mlffgan_no_data_pattern(tmp_path):
    model = random_model(tmp_path, "mlffgan")
    p, holes = scene_with_holes(tmp_path)
    # one tile (padded to multiples of 16): tiled runs equal untiled ones (test_mlffgan.py)
    result = fuse_paths(model, p["fine1"], p["coarse1"], p["target"], str(tmp_path / "out.tif"))
    out = read_array(str(tmp_path / "out.tif"))
    expected = ~(holes["fine1"] | holes["coarse1"] | holes["target"])
    np.testing.assert_array_equal(np.isfinite(out), expected)
    assert result["valid_fraction"] == pytest.approx(expected.mean())
    assert np.all((out[expected] > 200) & (out[expected] < 400))
