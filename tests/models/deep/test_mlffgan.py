"""MLFF-GAN: published architecture (parameter counts), locality (halo, tiling), GAN training, model files."""
import numpy as np
import pytest

import torch

from helpers import write_tif  # noqa: E402
from lst_fusion_plugin.models.deep.predict import fuse_paths  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import ModelFile, load_model, save_model  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array  # noqa: E402
from lst_fusion_plugin.models.deep import mlffgan  # noqa: E402
from lst_fusion_plugin.models.deep.box_filter import box_mean  # noqa: E402
from lst_fusion_plugin.models.deep.losses import ms_ssim  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec  # noqa: E402

torch.set_num_threads(2)


def conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def res(c):
    return 2 * conv(c, c, 3)


def bn(c):
    return 2 * c


def published_generator_count(bands):
    """Hand count of Song et al.'s generator (model.py of the public code, read not copied)."""
    ch = (16, 32, 64, 128, 256)
    encoder = conv(bands, 16, 7) + res(16) + sum(conv(a, b, 3) + res(b) for a, b in zip(ch, ch[1:]))
    attention = sum(2 * (conv(c, c, 1) + bn(c)) + conv(c, 1, 1) + bn(1) for c in ch)
    decoder = (conv(512, 128, 4) + res(128) + conv(256, 64, 4) + res(64) + conv(128, 32, 4) + res(32)
               + conv(64, 16, 4) + res(16))
    head = res(32) + conv(32, 16, 1) + res(16) + conv(16, bands, 1)
    return 2 * encoder + attention + decoder + head


def published_critic_count(bands):
    """pix2pixHD NLayerDiscriminator(input 2 x bands, ndf 64, 3 layers): 4 x 4 convs, BN after the middle ones."""
    return (conv(2 * bands, 64, 4) + conv(64, 128, 4) + bn(128) + conv(128, 256, 4) + bn(256)
            + conv(256, 512, 4) + bn(512) + conv(512, 1, 4))


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("bands", [1, 3])
def test_parameter_counts_match_the_published_architecture(bands):
    assert count(mlffgan.MLFFGenerator(bands)) == published_generator_count(bands)
    assert count(mlffgan.PatchDiscriminator(bands)) == published_critic_count(bands)


def test_one_band_generator_has_about_5_9_million_parameters():
    assert count(mlffgan.MLFFGenerator(1)) == 5_917_360
    assert count(mlffgan.PatchDiscriminator(1)) == 2_765_505


def test_shapes_and_size_multiple():
    net = mlffgan.MLFFGenerator(2).eval()
    x = torch.randn(3, 2, 48, 80)
    with torch.no_grad():
        assert net(x, x, x).shape == (3, 2, 48, 80)
        assert mlffgan.PatchDiscriminator(2)(x, x).shape == (3, 1, 9, 13)
        with pytest.raises(ValueError, match="multiples of 16"):
            net(x[..., :40], x[..., :40], x[..., :40])


def test_registry_entry_matches_the_module():
    spec = get_spec("mlffgan")
    assert spec.size_multiple == mlffgan.SIZE_MULTIPLE == 16
    assert mlffgan.receptive_radius() == mlffgan.MLFFGenerator(1, coarse_degradation=0).halo == 176
    assert spec.halo == 176 + mlffgan.DEGRADATION_HALO == mlffgan.MLFFGenerator(1).halo == 224
    assert spec.halo % spec.size_multiple == 0
    assert spec.learning_rate == 2e-4 and spec.trainer == "custom"
    assert not spec.takes_second_pair


def test_local_adain_matches_windowed_statistics():
    content, style = torch.randn(1, 2, 20, 24), torch.randn(1, 2, 20, 24) * 3 + 5
    out = mlffgan.local_adain(content, style, 3)
    r, c = 10, 4  # window clipped on the left: columns 1..7
    win = (slice(None), slice(None), slice(r - 3, r + 4), slice(c - 3, c + 4))
    cw, sw = content[win].reshape(2, -1), style[win].reshape(2, -1)
    expected = ((content[0, :, r, c] - cw.mean(1)) / torch.sqrt(cw.var(1, unbiased=False) + 1e-5)
                * torch.sqrt(sw.var(1, unbiased=False) + 1e-5) + sw.mean(1))
    torch.testing.assert_close(out[0, :, r, c], expected, rtol=1e-4, atol=1e-4)


def pooled_box_mean(x, radius):
    """Box mean by average pooling: slower, but its gradient is exactly 0 outside each window."""
    k = 2 * radius + 1
    x = torch.nn.functional.avg_pool2d(x, (k, 1), stride=1, padding=(radius, 0), count_include_pad=False)
    return torch.nn.functional.avg_pool2d(x, (1, k), stride=1, padding=(0, radius), count_include_pad=False)


@pytest.mark.parametrize("radius", [1, 5, 32])
def test_box_mean_equals_clipped_average_pooling(radius):
    x = torch.randn(2, 3, 48, 70)
    torch.testing.assert_close(box_mean(x, radius), pooled_box_mean(x, radius), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_receptive_field_is_within_the_halo_and_the_halo_is_tight(monkeypatch):
    monkeypatch.setattr(mlffgan, "box_mean", pooled_box_mean)  # exact zeros outside the support

    def reach(net):
        inputs = [torch.randn(1, 1, 576, 32, requires_grad=True) for _ in range(3)]
        net(*inputs)[..., 288:304, :].sum().backward()
        out = []
        for x in inputs:
            rows = torch.nonzero(x.grad[0, 0].abs().sum(1))
            out += [288 - int(rows.min()), int(rows.max()) - 303]
        return max(out)

    local = mlffgan.MLFFGenerator(1, coarse_degradation=0).eval()
    assert reach(local) == local.halo == 176  # the bound is attained: no wasted halo
    degraded = mlffgan.MLFFGenerator(1).eval()  # the published coarse degradation reaches further
    assert 176 < reach(degraded) <= degraded.halo


def random_rasters(tmp_path, shape, seed=0):
    """Random fine and blocky coarse rasters (K) on a 30 m UTM grid; returns their paths."""
    rng = np.random.default_rng(seed)
    transform = (500000.0, 30.0, 0.0, 6100000.0, 0.0, -30.0)
    base = rng.normal(300, 3, shape).astype(np.float32)
    coarse = np.kron(rng.normal(300, 2, (shape[0] // 10 + 1, shape[1] // 10 + 1)),
                     np.ones((10, 10)))[:shape[0], :shape[1]].astype(np.float32)
    paths = {}
    for name, array in (("fine", base), ("coarse_ref", coarse), ("coarse_target", coarse + 2 + base / 100)):
        paths[name] = write_tif(tmp_path / f"{name}.tif", array, transform, 32755, -9999.0)
    return paths


def model_file(tmp_path, net):
    spec = get_spec("mlffgan")
    model = ModelFile("mlffgan", spec.hyperparameters(), 1, "kelvin", [300.0], [3.0],
                      {k: v for k, v in net.state_dict().items()})
    return save_model(str(tmp_path / "mlffgan.pt"), model)


@pytest.mark.slow
def test_tiled_prediction_equals_untiled(tmp_path):
    torch.manual_seed(0)
    net = mlffgan.MLFFGenerator(1)
    path = model_file(tmp_path, net)
    p = random_rasters(tmp_path, (375, 40))  # not multiples of 16: padded at the far edges
    args = (path, p["fine"], p["coarse_ref"], p["coarse_target"])
    whole = fuse_paths(*args, str(tmp_path / "whole.tif"), tile_size=4096)
    tiled = fuse_paths(*args, str(tmp_path / "tiled.tif"), tile_size=180)  # rounded to 192
    assert whole["tiles"] == 1 and tiled["tiles"] == 2  # the first read window stops at row 368
    a, b = read_array(str(tmp_path / "whole.tif")), read_array(str(tmp_path / "tiled.tif"))
    assert np.isfinite(a).all()
    assert np.abs(a - b).max() < 1e-3


@pytest.mark.slow
def test_a_halo_short_of_the_receptive_field_changes_the_result():
    """Cutting the input 176 px past a block leaves it exact; 32 px does not (random weights fade fast)."""
    torch.manual_seed(0)
    net = mlffgan.MLFFGenerator(1, coarse_degradation=0).eval()
    x = [torch.randn(1, 1, 384, 32) for _ in range(3)]
    with torch.no_grad():
        whole = net(*x)[..., :192, :]
        short = net(*[a[..., :192 + 32, :] for a in x])[..., :192, :]
        enough = net(*[a[..., :192 + 176, :] for a in x])[..., :192, :]
    assert (whole - enough).abs().max() < 1e-6
    assert (whole - short).abs().max() > 1e-4


def learnable_batch(n=6, size=32, seed=0):
    """Fine target = fine_ref + the coarse change, with smooth structure (normalised units)."""
    g = torch.Generator().manual_seed(seed)
    fine_ref = torch.nn.functional.avg_pool2d(torch.randn(n, 1, size + 4, size + 4, generator=g), 5, 1)
    coarse_ref = torch.nn.functional.avg_pool2d(fine_ref, 8, 8).repeat_interleave(8, 2).repeat_interleave(8, 3)
    change = torch.randn(n, 1, 1, 1, generator=g) * 0.5
    coarse_target = coarse_ref + change
    mask = torch.ones(n, 1, size, size)
    mask[0, :, :4, :4] = 0
    return {"fine_ref": fine_ref, "coarse_ref": coarse_ref, "coarse_target": coarse_target,
            "target": fine_ref + change, "mask": mask}


@pytest.mark.slow
def test_gan_training_steps_lower_the_generator_loss_and_report_both_losses():
    torch.manual_seed(0)
    spec = get_spec("mlffgan")
    net = spec.build(1)
    trainer = spec.make_trainer(net, 1, spec.hyperparameters(), spec.learning_rate, torch.device("cpu"), amp=False)
    assert trainer.min_patch == 32
    batch = learnable_batch(n=4)
    before, _ = trainer.evaluate(batch)
    for _ in range(8):
        loss = trainer.train_step(batch)
        assert set(trainer.last_losses) == {"generator", "critic"}
        assert loss == trainer.last_losses["generator"] and np.isfinite(trainer.last_losses["critic"])
    after, mse = trainer.evaluate(batch)
    assert after < 0.8 * before
    assert np.isfinite(mse)


def test_content_loss_ignores_masked_pixels():
    batch = learnable_batch()
    pred = batch["target"].clone()
    pred[0, :, :4, :4] += 10.0  # wrong only where the target is no-data
    assert float(mlffgan.content_loss(pred, batch["target"], batch["mask"])) < 1e-4
    pred[1, :, :4, :4] += 10.0
    assert float(mlffgan.content_loss(pred, batch["target"], batch["mask"])) > 0.05


def test_generator_loss_terms_follow_the_published_weights():
    torch.manual_seed(0)
    critic = mlffgan.PatchDiscriminator(1)
    batch = learnable_batch()
    pred = batch["target"] + 0.3 * torch.randn_like(batch["target"])
    mask = torch.ones_like(batch["mask"])
    d = critic(pred, batch["coarse_target"])
    cos = torch.nn.functional.cosine_similarity(pred.flatten(1), batch["target"].flatten(1)).mean()
    expected = (0.01 * ((d - 1) ** 2).mean() + (pred - batch["target"]).abs().mean()
                + 1 - ms_ssim(pred, batch["target"]) + 1 - cos)
    adversarial = ((critic(pred, batch["coarse_target"]) - 1) ** 2).mean()
    total = mlffgan.GAN_WEIGHT * adversarial + mlffgan.content_loss(pred, batch["target"], mask)
    torch.testing.assert_close(total, expected, rtol=1e-5, atol=1e-6)


def test_model_file_keeps_the_generator_only_and_round_trips(tmp_path):
    torch.manual_seed(1)
    net = mlffgan.MLFFGenerator(1)
    path = model_file(tmp_path, net)
    loaded = load_model(path)
    assert set(loaded.state_dict) == set(net.state_dict())
    assert not any(k.startswith("critic") for k in loaded.state_dict)
    x = [torch.randn(1, 1, 32, 48) for _ in range(3)]
    with torch.no_grad():
        torch.testing.assert_close(loaded.network()(*x), net.eval()(*x))
