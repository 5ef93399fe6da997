"""STTFN: architecture, receptive field, STC weighting against a direct computation, tiling, training."""
import numpy as np
import pytest

import torch

from helpers import write_tif  # noqa: E402
from lst_fusion_plugin.models.deep.predict import fuse_paths  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import ModelFile, save_model  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array  # noqa: E402
from lst_fusion_plugin.models.deep import sttfn  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec  # noqa: E402

torch.set_num_threads(2)


def test_parameter_count_by_hand():
    bands, width, branch = 1, 64, 16
    multiscale = sum(bands * branch * k * k + branch for k in (3, 5, 7))
    extraction = 9 * bands * branch + branch
    fuse = 4 * branch * width + width
    blocks = 4 * 2 * (9 * width * width + width)
    out = 9 * width * bands + bands
    net = sttfn.STTFN(bands)
    one = multiscale + extraction + fuse + blocks + out
    assert sum(p.numel() for p in net.parameters()) == 2 * one == 603_394  # forward and backward nets


def test_prediction_is_fine_reference_plus_predicted_change_on_any_size():
    net = sttfn.STTFN(2, width=8).eval()
    f, c1, c2 = (torch.randn(2, 2, 37, 23) for _ in range(3))
    with torch.no_grad():
        out = net(f, c1, c2)
        assert out.shape == (2, 2, 37, 23)
        torch.testing.assert_close(out - f, net.change(f, c1, c2))
        # the change depends on the coarse images only through their difference
        torch.testing.assert_close(net(f, c1 + 1.5, c2 + 1.5), out)


def test_receptive_radius_is_exact():
    net = sttfn.STTFN(1, width=8).eval()
    x = [torch.randn(1, 1, 41, 41, requires_grad=True) for _ in range(3)]
    net(*x)[0, 0, 20, 20].backward()
    rows, cols = torch.nonzero(x[1].grad[0, 0], as_tuple=True)  # the coarse change: through the 7 x 7 branch
    assert int(rows.max()) - 20 == 20 - int(rows.min()) == sttfn.receptive_radius() == 12
    assert 20 - int(cols.min()) == 12
    rows, _ = torch.nonzero(x[0].grad[0, 0], as_tuple=True)  # the fine reference: through a 3 x 3 conv
    assert 20 - int(rows.min()) == 10


def test_registry_entry_matches_the_module():
    spec = get_spec("sttfn")
    assert spec.halo == sttfn.receptive_radius() == sttfn.STTFN(1).halo == 12
    assert spec.size_multiple == 1 and spec.two_pair and spec.takes_second_pair


def test_stc_weighting_against_a_direct_computation():
    rng = np.random.default_rng(3)
    pa, pb, ct = (rng.normal(0, 1, (19, 17)) for _ in range(3))
    out = sttfn.stc_combine(*(torch.tensor(a)[None, None] for a in (pa, pb, ct)))[0, 0].numpy()
    for i, j in [(0, 0), (9, 8), (18, 16), (4, 15)]:
        ea = abs(pa[i, j] - ct[i, j]) + sttfn.STC_EPS  # per pixel, as in the paper
        eb = abs(pb[i, j] - ct[i, j]) + sttfn.STC_EPS
        expected = (pa[i, j] / ea + pb[i, j] / eb) / (1 / ea + 1 / eb)
        assert out[i, j] == pytest.approx(expected, rel=1e-9)


def test_stc_prefers_the_prediction_consistent_with_the_coarse_target():
    ct = torch.zeros(1, 1, 40, 40)
    good, bad = ct + 0.001, ct + 2.0
    out = sttfn.stc_combine(good, bad, ct)
    assert float(out.max()) < 0.02
    torch.testing.assert_close(sttfn.stc_combine(bad, bad, ct), bad)


def two_pair_rasters(tmp_path, shape=(96, 84)):
    rng = np.random.default_rng(0)
    transform = (500000.0, 30.0, 0.0, 6100000.0, 0.0, -30.0)
    arrays = {"fine1": rng.normal(300, 3, shape), "coarse1": rng.normal(300, 2, shape),
              "fine2": rng.normal(305, 3, shape), "coarse2": rng.normal(304, 2, shape),
              "target": rng.normal(302, 2, shape)}
    arrays["fine2"][10:14, 60:64] = np.nan  # no-data in the second pair only
    return {k: write_tif(tmp_path / f"{k}.tif", np.nan_to_num(a, nan=-9999.0).astype(np.float32),
                         transform, 32755, -9999.0) for k, a in arrays.items()}


@pytest.mark.slow
def test_two_pair_fusion_tiled_equals_untiled(tmp_path):
    """3 x 3 tiles of 32 px (edge and interior tiles) with the 12 px halo; the halo does not depend on
    the width, so a narrow net (16) proves the same as the default one at a fraction of the time."""
    torch.manual_seed(0)
    spec = get_spec("sttfn")
    hyper = spec.hyperparameters({"width": 16})
    net = spec.build(1, **hyper)
    assert net.halo == spec.halo == 12
    path = save_model(str(tmp_path / "sttfn.pt"), ModelFile("sttfn", hyper, 1, "kelvin",
                                                           [302.0], [3.0], net.state_dict()))
    p = two_pair_rasters(tmp_path)
    args = (path, p["fine1"], p["coarse1"], p["target"])
    kw = {"fine_ref2": p["fine2"], "coarse_ref2": p["coarse2"]}
    fuse_paths(*args, str(tmp_path / "whole.tif"), tile_size=4096, **kw)
    result = fuse_paths(*args, str(tmp_path / "tiled.tif"), tile_size=32, **kw)
    assert result["tiles"] == 9
    a, b = read_array(str(tmp_path / "whole.tif")), read_array(str(tmp_path / "tiled.tif"))
    assert np.isfinite(a).all()  # one valid pair is enough
    assert np.abs(a - b).max() < 1e-3


@pytest.mark.slow
def test_training_steps_lower_the_loss_on_a_learnable_change():
    """Target change = 1.5 x the coarse change, smoothed: the net must learn more than the identity."""
    torch.manual_seed(0)
    spec = get_spec("sttfn")
    net = spec.build(1, width=16)
    trainer = spec.make_trainer(net, 1, {"width": 16}, spec.learning_rate, torch.device("cpu"), amp=False)
    g = torch.Generator().manual_seed(0)
    fine = torch.randn(8, 1, 24, 24, generator=g)
    c1 = torch.randn(8, 1, 24, 24, generator=g)
    c2 = c1 + torch.randn(8, 1, 1, 1, generator=g)
    batch = {"fine_ref": fine, "coarse_ref": c1, "coarse_target": c2,
             "target": fine + 1.5 * (c2 - c1), "mask": torch.ones(8, 1, 24, 24)}
    before, _ = trainer.evaluate(batch)
    for _ in range(40):
        trainer.train_step(batch)
    after, mse = trainer.evaluate(batch)
    assert after < 0.3 * before and after == pytest.approx(mse)
