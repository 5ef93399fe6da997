"""The published behaviour of the deep models, pinned: MS-SSIM, EDCSTFN's two-pair fusion, feature
autoencoder and optimiser, MLFF-GAN's coarse degradation and AdaIN modes, STTFN-R's two networks
and per-pixel STC weighting, ubESTARFM's threshold in the method runner."""
import math
import os

import numpy as np
import pytest
from scipy import ndimage

import torch

from lst_fusion_plugin.models.deep import edcstfn, mlffgan, sttfn  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec  # noqa: E402
from lst_fusion_plugin.models.deep.losses import (DATA_RANGE, MS_SSIM_WEIGHTS, masked_mse,  # noqa: E402
                                                  ms_ssim, ms_ssim_scales)
from lst_fusion_plugin.workflows.methods import FusionMethod  # noqa: E402

torch.set_num_threads(2)


def conv_params(cin, cout, k):
    return cin * cout * k * k + cout


def numpy_ssim_terms(x, y, L, sigma=1.5):  # noqa: N803 (L: the data range, as in Wang et al.)
    """(mean SSIM, mean cs) with an 11 x 11 Gaussian window, valid part only (independent of torch)."""
    def filt(a):  # truncate 3.5 -> radius 5 -> 11 x 11; crop the 5-pixel border = 'valid' windows
        return ndimage.gaussian_filter(a, sigma, truncate=3.5, mode="constant")[5:-5, 5:-5]
    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (lum * cs).mean(), cs.mean()


def test_ms_ssim_one_scale_is_skimage_ssim_with_a_fixed_range():
    from skimage.metrics import structural_similarity
    rng = np.random.default_rng(0)
    x = ndimage.gaussian_filter(rng.normal(0, 1, (60, 50)), 2)
    y = x + rng.normal(0, 0.2, x.shape)
    expected = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=DATA_RANGE)
    got = ms_ssim(torch.tensor(x)[None, None], torch.tensor(y)[None, None], scales=1, normalize=False)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    assert DATA_RANGE == 4.0  # fixed: a batch with a wider range gives the same value
    wide = torch.tensor(y)[None, None].clone()
    assert float(ms_ssim(torch.tensor(x)[None, None], wide, scales=1, normalize=False)) == pytest.approx(
        float(ms_ssim(torch.tensor(x)[None, None] * 1, wide, scales=1, data_range=4.0, normalize=False)))


def test_ms_ssim_five_scales_is_the_published_product():
    rng = np.random.default_rng(1)
    x = ndimage.gaussian_filter(rng.normal(0, 1, (176, 176)), 3)
    y = 0.8 * x + ndimage.gaussian_filter(rng.normal(0, 0.5, x.shape), 1) + 0.1
    expected, a, b = 1.0, x, y
    for level, w in enumerate(MS_SSIM_WEIGHTS):
        ssim, cs = numpy_ssim_terms(a, b, DATA_RANGE)
        term = ssim if level == 4 else cs  # luminance only at the coarsest scale
        expected *= ((term + 1) / 2) ** w   # the authors' normalize=True
        if level == 4:
            break
        a = a.reshape(a.shape[0] // 2, 2, -1, 2).mean((1, 3))
        b = b.reshape(b.shape[0] // 2, 2, -1, 2).mean((1, 3))
    got = ms_ssim(torch.tensor(x)[None, None], torch.tensor(y)[None, None])
    assert float(got) == pytest.approx(expected, rel=1e-4)  # float32 sums over 176 x 176


def test_ms_ssim_small_patch_fallback_uses_the_scales_that_fit():
    assert [ms_ssim_scales(s) for s in (8, 21, 22, 44, 95, 175, 176, 500)] == [1, 1, 2, 3, 4, 4, 5, 5]
    rng = np.random.default_rng(2)
    x = ndimage.gaussian_filter(rng.normal(0, 1, (95, 95)), 2)
    y = x + rng.normal(0, 0.3, x.shape)
    weights = np.array(MS_SSIM_WEIGHTS[:4]) / sum(MS_SSIM_WEIGHTS[:4])
    expected, a, b = 1.0, x, y
    for level, w in enumerate(weights):
        ssim, cs = numpy_ssim_terms(a, b, DATA_RANGE)
        expected *= (((ssim if level == 3 else cs) + 1) / 2) ** w
        n = a.shape[0] // 2 * 2
        a = a[:n, :n].reshape(n // 2, 2, n // 2, 2).mean((1, 3))
        b = b[:n, :n].reshape(n // 2, 2, n // 2, 2).mean((1, 3))
    got = ms_ssim(torch.tensor(x)[None, None], torch.tensor(y)[None, None])
    assert float(got) == pytest.approx(expected, rel=1e-6)
    tiny = torch.rand(1, 1, 8, 8)
    assert float(ms_ssim(tiny, tiny)) == pytest.approx(1.0, abs=1e-6)


def test_edcstfn_two_pairs_weight_the_residual_features_and_decode_once():
    torch.manual_seed(0)
    net = edcstfn.Edcstfn(1).eval()
    f1, c1, f2, c2, ct = (torch.randn(2, 1, 20, 18) for _ in range(5))
    with torch.no_grad():
        out = net.forward_two(f1, c1, f2, c2, ct)
        r1 = net.residual_encoder(torch.cat([c1, f1, ct], 1))
        r2 = net.residual_encoder(torch.cat([c2, f2, ct], 1))
        x1, x2 = net.fine_encoder(f1) + r1, net.fine_encoder(f2) + r2
        inv1, inv2 = 1 / (r1.abs() + 1e-8), 1 / (r2.abs() + 1e-8)
        expected = net.decoder(inv1 / (inv1 + inv2) * x1 + inv2 / (inv1 + inv2) * x2)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        # not the average of two decoded predictions (the former behaviour)
        assert (out - 0.5 * (net(f1, c1, ct) + net(f2, c2, ct))).abs().max() > 1e-3
        # the same pair twice is the one-pair prediction
        torch.testing.assert_close(net.forward_two(f1, c1, f1, c1, ct), net(f1, c1, ct), rtol=1e-5, atol=1e-5)


def test_two_pair_training_averages_the_losses_of_both_predictions():
    torch.manual_seed(1)
    spec = get_spec("edcstfn")
    net = spec.build(1)
    trainer = spec.make_trainer(net, 1, {"feature_weight": 0.0}, 1e-3, torch.device("cpu"), False)
    batch = {k: torch.randn(2, 1, 24, 24) for k in ("fine_ref", "coarse_ref", "fine_ref2", "coarse_ref2",
                                                      "coarse_target", "target")}
    batch["mask"] = torch.ones(2, 1, 24, 24)
    net.train()
    _, loss = trainer._forward(batch)
    p1 = net(batch["fine_ref"], batch["coarse_ref"], batch["coarse_target"])
    p2 = net(batch["fine_ref2"], batch["coarse_ref2"], batch["coarse_target"])
    target, mask = batch["target"], batch["mask"]
    expected = 0.5 * (trainer.loss(p1, target, mask) + trainer.loss(p2, target, mask))
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    net.eval()  # validation scores the two-pair prediction
    pred, _ = trainer._forward(batch)
    torch.testing.assert_close(pred, net.forward_two(*(batch[k] for k in ("fine_ref", "coarse_ref", "fine_ref2",
                                                                          "coarse_ref2", "coarse_target"))))


def test_edcstfn_feature_autoencoder_is_the_small_hourglass():
    ae = edcstfn.FeatureAutoEncoder(1)
    convs = [m for m in ae.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and [c.stride for c in convs] == [(1, 1), (2, 2), (1, 1), (1, 1)]
    expected = conv_params(1, 32, 3) + conv_params(32, 64, 3) + conv_params(64, 32, 3) + conv_params(32, 1, 3)
    assert sum(p.numel() for p in ae.parameters()) == expected == 37_569
    x = torch.randn(3, 1, 33, 40)
    assert ae.encoder(x).shape == (3, 64, 17, 20) and ae(x).shape == x.shape
    loss = edcstfn.CompoundLoss(1, 1.0, 0.8, 5, 10)
    with torch.no_grad():
        out = loss.autoencoder(x)
        expected_loss = (out - x).abs().mean() + 0.8 * (1 - ms_ssim(out, x))
        assert float(loss.autoencoder_loss(x)) == pytest.approx(float(expected_loss), rel=1e-5)


def test_edcstfn_optimiser_and_schedule_are_the_published_ones():
    spec = get_spec("edcstfn")
    assert (spec.learning_rate, spec.weight_decay, spec.plateau_patience) == (1e-3, 1e-6, 5)
    trainer = spec.make_trainer(spec.build(1), 1, {}, spec.learning_rate, torch.device("cpu"), False)
    assert trainer.optimizer.defaults["weight_decay"] == 1e-6
    lrs = []
    for _ in range(8):
        trainer.end_epoch(1.0)  # no improvement after the first epoch
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
    assert lrs[:6] == [1e-3] * 6 and lrs[6] == pytest.approx(1e-4)
    assert get_spec("sttfn").plateau_patience == 0 and get_spec("sttfn").weight_decay == 0.0


def test_mlffgan_degrades_the_coarse_inputs_as_published():
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 64, 48, generator=rng)
    out = mlffgan.degrade(x, 16)
    small = x[..., ::16, ::16]  # 1/16 by nearest sampling: the first pixel of each block
    torch.testing.assert_close(out, torch.nn.functional.interpolate(small, size=(64, 48), mode="bicubic"))
    changed = x.clone()
    changed[..., 1::16, 3::16] += 5.0  # pixels that are not sampled do not matter
    torch.testing.assert_close(mlffgan.degrade(changed, 16), out)
    torch.testing.assert_close(mlffgan.degrade(torch.full((1, 1, 32, 32), 2.5), 16), torch.full((1, 1, 32, 32), 2.5))
    # the generator applies it (training and prediction alike) unless turned off
    torch.manual_seed(0)
    net = mlffgan.build(1, dropout=0.0).eval()
    f = torch.randn(1, 1, 64, 64)
    c1, c2 = torch.randn(1, 1, 64, 64), torch.randn(1, 1, 64, 64)
    c1b = c1.clone()
    c1b[..., 5::16, 5::16] += 3.0
    with torch.no_grad():
        torch.testing.assert_close(net(f, c1, c2), net(f, c1b, c2))
        off = mlffgan.build(1, dropout=0.0, coarse_degradation=0).eval()
        off.load_state_dict(net.state_dict())
        assert (off(f, c1, c2) - off(f, c1b, c2)).abs().max() > 1e-4
    assert get_spec("mlffgan").defaults["coarse_degradation"] == 16
    with pytest.raises(ValueError, match="divisor of 16"):
        mlffgan.build(1, coarse_degradation=12)


def test_mlffgan_adain_modes_local_default_and_global_as_published():
    assert get_spec("mlffgan").defaults["adain"] == "local"
    content, style = torch.randn(2, 3, 16, 16) * 2 + 1, torch.randn(2, 3, 16, 16) * 0.5 - 3
    out = mlffgan.global_adain(content, style)
    torch.testing.assert_close(out.mean((2, 3)), style.mean((2, 3)), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out.std((2, 3), unbiased=False), style.std((2, 3), unbiased=False),
                               rtol=1e-3, atol=1e-3)
    net = get_spec("mlffgan").build(1, adain="global")
    assert net.adain == "global"
    with pytest.raises(ValueError, match="adain must be one of local, global"):
        get_spec("mlffgan").build(1, adain="patch")


def test_sttfn_r_has_separate_forward_and_backward_networks_and_per_pixel_stc():
    spec = get_spec("sttfn")
    assert "reconstruction" in spec.display_name and spec.two_pair_training
    net = sttfn.STTFN(1).eval()
    one = (conv_params(1, 16, 3) + conv_params(1, 16, 5) + conv_params(1, 16, 7) + conv_params(1, 16, 3)
           + conv_params(64, 64, 1) + 8 * conv_params(64, 64, 3) + conv_params(64, 1, 3))
    assert sum(p.numel() for p in net.parameters()) == 2 * one
    f1, c1, f2, c2, ct = (torch.randn(1, 1, 30, 30) for _ in range(5))
    with torch.no_grad():
        a, b = net.forward_pairs(f1, c1, f2, c2, ct)
        torch.testing.assert_close(a, f1 + net.forward_net(f1, c1, ct))
        torch.testing.assert_close(b, f2 + net.backward_net(f2, c2, ct))
        wa, wb = 1 / ((a - ct).abs() + sttfn.STC_EPS), 1 / ((b - ct).abs() + sttfn.STC_EPS)
        torch.testing.assert_close(net.forward_two(f1, c1, f2, c2, ct), (wa * a + wb * b) / (wa + wb))
        torch.testing.assert_close(net(f1, c1, ct), 0.5 * (f1 + net.forward_net(f1, c1, ct) + f1
                                                            + net.backward_net(f1, c1, ct)))


def test_ubestarfm_in_series_tools_uses_the_authors_one_sigma_threshold():
    assert FusionMethod("ubestarfm").method_settings() == {"num_classes": 2.0, "bias_correction": True}
    assert FusionMethod("ubestarfm", settings={"num_classes": 3.0}).method_settings()["num_classes"] == 3.0
    assert FusionMethod("estarfm").method_settings() == {"bias_correction": False}


def test_masked_mse_is_the_mean_over_valid_pixels():
    p, t = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert float(masked_mse(p, t, mask)) == pytest.approx((1 + 4) / 2)
    assert math.isfinite(float(masked_mse(p, t, torch.zeros_like(mask))))


def test_float16_weights_in_a_model_file_are_upcast_on_loading(tmp_path):
    from lst_fusion_plugin.models.deep.model_file import ModelFile, load_model, save_model
    torch.manual_seed(0)
    spec = get_spec("mlffgan")
    net = spec.build(1)
    half = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    path = save_model(str(tmp_path / "half.pt"), ModelFile("mlffgan", spec.hyperparameters(), 1, "kelvin",
                                                           [300.0], [3.0], half))
    full = save_model(str(tmp_path / "full.pt"), ModelFile("mlffgan", spec.hyperparameters(), 1, "kelvin",
                                                           [300.0], [3.0], net.state_dict()))
    assert os.path.getsize(path) < 0.55 * os.path.getsize(full)
    model = load_model(path)
    assert all(v.dtype == torch.float32 for v in model.state_dict.values() if v.is_floating_point())
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        a, b = model.network()(x, x, x + 0.5), load_model(full).network()(x, x, x + 0.5)
    assert (a - b).abs().max() < 0.05 and a.dtype == torch.float32
