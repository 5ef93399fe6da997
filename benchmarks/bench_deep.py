"""Deep fusion benchmarks: raw forward vs tiled fuse throughput, peak memory, training throughput.

    .venv/bin/python benchmarks/bench_deep.py [--models edcstfn,sttfn,mlffgan] [--size 1000] [--large]
                                              [--train-steps 6]

Every figure is measured for each model (default: all registered models), and
a table puts them side by side at the end.

- raw: one untiled forward pass on in-memory tensors (no I/O), the arithmetic
  limit of the machine for this model (its FLOPs per pixel are counted by
  torch's FLOP counter on a small input);
- fuse: ``lstfusion:fuse``'s engine end to end (GeoTIFF reads, normalisation,
  no-data, halo, stitching, GeoTIFF write) on the same scene; the target is
  fuse >= 80 % of raw throughput;
- --large adds a 4000 x 4000 fuse (minutes on 2 cores; the untiled forward of
  that size would need tens of GB, which is the point of tiling) compared with
  the raw throughput of the smaller scene;
- training: patches per second of training steps with the model's own trainer
  and loss (batch 16, 95 x 95 patches, rounded up to the model's size multiple;
  EDCSTFN's feature-loss encoder pass included; MLFF-GAN's critic update
  included) and the time of one epoch at the survey's size (34 triplets of
  950 x 950, patches 95 / stride 20) on this CPU, and on a GPU estimated from
  the arithmetic (stated assumption).

Each measurement runs in its own process so that its peak memory (ru_maxrss)
is its own. Threads: 2 (torch.set_num_threads).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

link_plugin()

GPU_EFFECTIVE_TFLOPS = 40.0
"""Assumed sustained mixed-precision throughput of a data-centre GPU (e.g. A100/H100) on these small convolutions."""


def peak_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def model_file(folder: str, name: str) -> str:
    """A 1-band model file of architecture ``name`` (random weights: speed does not depend on them)."""
    import torch
    from lst_fusion_plugin.models.deep.model_file import ModelFile, save_model
    from lst_fusion_plugin.models.deep.architectures import get_spec
    torch.manual_seed(0)
    spec = get_spec(name)
    net = spec.build(1)
    return save_model(os.path.join(folder, f"bench_{name}.pt"),
                      ModelFile(name, spec.hyperparameters(), 1, "kelvin", [300.0], [5.0], net.state_dict()))


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``."""
    return -(-value // multiple) * multiple


def forward_flops_per_pixel(name: str) -> float:
    """Forward FLOPs per output pixel of the 1-band network, counted on a 64 x 64 input."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from lst_fusion_plugin.models.deep.architectures import get_spec
    net = get_spec(name).build(1).eval()
    x = torch.zeros(1, 1, 64, 64)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x, x, x)
    return counter.get_total_flops() / (64 * 64)


def scene(folder: str, size: int):
    """Three size x size Kelvin rasters (fine ref, coarse ref, coarse target) with a few no-data pixels."""
    import numpy as np
    from lst_fusion_plugin.common.grid import Grid
    from lst_fusion_plugin.common.raster_io import write_array
    grid = Grid("", (0.0, 30.0, 0.0, 0.0, 0.0, -30.0), size, size)
    rng = np.random.default_rng(0)
    paths = []
    for k in range(3):
        a = (300 + rng.normal(0, 3, (size, size))).astype(np.float32)
        a[rng.integers(0, size, 100), rng.integers(0, size, 100)] = np.nan
        paths.append(write_array(os.path.join(folder, f"in{k}_{size}.tif"), a, grid, units="kelvin"))
        del a
    return paths


def run_raw(name: str, size: int) -> dict:
    import numpy as np
    import torch
    from lst_fusion_plugin.models.deep.model_file import load_model
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(model_file(tmp, name))
    net = model.network("cpu")
    padded = round_up(size, model.spec.size_multiple)  # what fuse pads an untiled scene to
    x = [torch.from_numpy(np.random.default_rng(k).normal(0, 1, (1, 1, padded, padded)).astype(np.float32))
         for k in range(3)]
    with torch.inference_mode():
        net(*[t[..., :64, :64] for t in x])  # warm-up
        start = time.perf_counter()
        net(*x)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "mpx_per_s": size * size / 1e6 / seconds, "peak_mb": peak_mb()}


def run_fuse(name: str, size: int, tile: int) -> dict:
    import torch
    from lst_fusion_plugin.models.deep.predict import fuse_paths
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        model = model_file(tmp, name)
        paths = scene(tmp, size)
        base = peak_mb()
        start = time.perf_counter()
        result = fuse_paths(model, *paths, os.path.join(tmp, "out.tif"), device="cpu", tile_size=tile)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "mpx_per_s": size * size / 1e6 / seconds, "peak_mb": peak_mb(),
            "peak_before_fuse_mb": base, "tiles": result["tiles"]}


def run_train(name: str, steps: int, batch: int, patch: int) -> dict:
    import torch
    from lst_fusion_plugin.models.deep.architectures import get_spec
    torch.set_num_threads(2)
    torch.manual_seed(0)
    spec = get_spec(name)
    patch = round_up(patch, spec.size_multiple)
    net = spec.build(1)
    trainer = spec.make_trainer(net, 1, spec.hyperparameters(), spec.learning_rate, torch.device("cpu"), False)
    loss = getattr(trainer, "loss", None)
    if hasattr(loss, "pretrained"):
        loss.pretrained = True  # count the pretrained feature-loss pass, as in real training
    shape = (batch, 1, patch, patch)
    data = {k: torch.randn(shape) for k in ("fine_ref", "coarse_ref", "coarse_target", "target")}
    data["mask"] = torch.ones((batch, 1, patch, patch))
    trainer.train_step(data)  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(data)
    seconds = time.perf_counter() - start
    return {"patches_per_s": steps * batch / seconds, "patch": patch, "peak_mb": peak_mb(),
            "flops_per_pixel": forward_flops_per_pixel(name)}


def child(args) -> dict:
    """Run one measurement ([kind, model, numbers...]) in a fresh interpreter; returns its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--child"] + [str(a) for a in args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def survey_patches() -> int:
    """Training patches per epoch at the survey's size: 34 triplets of 950 x 950, patch 95, stride 20."""
    import numpy as np
    from lst_fusion_plugin.models.deep.train import patch_positions
    return 34 * len(patch_positions(np.ones((950, 950), bool), 95, 20, 0.0))


def main() -> None:
    from lst_fusion_plugin.models.deep.architectures import get_spec, model_names
    parser = argparse.ArgumentParser(description="Deep fusion benchmarks")
    parser.add_argument("--models", default=",".join(model_names()))
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--large", action="store_true", help="also fuse a 4000 x 4000 scene (minutes)")
    parser.add_argument("--train-steps", type=int, default=4)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, name, *rest = args.child
        function = {"raw": run_raw, "fuse": run_fuse, "train": run_train}[kind]
        print(json.dumps(function(name, *[int(v) for v in rest])))
        return
    print(f"1-band models, CPU, 2 torch threads, {os.cpu_count()} cores visible (shared machine)")
    patches = survey_patches()
    rows = []
    for name in args.models.split(","):
        spec = get_spec(name)
        print(f"--- {spec.display_name}: halo {spec.halo} px, sizes multiple of {spec.size_multiple}")
        raw = child(["raw", name, args.size])
        fuse = child(["fuse", name, args.size, args.tile])
        train = child(["train", name, args.train_steps, 16, 95])
        flops = train["flops_per_pixel"]
        print(f"{args.size} x {args.size}: raw untiled forward {raw['seconds']:.1f} s = {raw['mpx_per_s']:.3f} Mpx/s "
              f"(peak {raw['peak_mb']:.0f} MB, {flops / 1e6:.2f} MFLOP/px, "
              f"{flops * raw['mpx_per_s'] / 1e3:.1f} GFLOP/s)")
        print(f"{args.size} x {args.size}: tiled fuse end to end {fuse['seconds']:.1f} s = {fuse['mpx_per_s']:.3f} "
              f"Mpx/s ({fuse['tiles']} tiles of {args.tile}, peak {fuse['peak_mb']:.0f} MB); "
              f"fuse / raw = {100 * fuse['mpx_per_s'] / raw['mpx_per_s']:.0f} %")
        large = None
        if args.large:
            large = child(["fuse", name, 4000, args.tile])
            print(f"4000 x 4000: tiled fuse end to end {large['seconds']:.0f} s = {large['mpx_per_s']:.3f} Mpx/s "
                  f"({large['tiles']} tiles, peak {large['peak_mb']:.0f} MB); fuse / raw({args.size}) = "
                  f"{100 * large['mpx_per_s'] / raw['mpx_per_s']:.0f} %")
        p = train["patch"]
        gpu = GPU_EFFECTIVE_TFLOPS * 1e12 / (3 * flops * p * p)
        epoch_cpu_h = patches / train["patches_per_s"] / 3600
        print(f"training: {train['patches_per_s']:.2f} patches/s (batch 16 of {p} x {p}, peak {train['peak_mb']:.0f} MB)")
        print(f"survey epoch ({patches} patches): {epoch_cpu_h:.1f} h on this CPU; about {patches / gpu / 60:.1f} min "
              f"on a GPU sustaining {GPU_EFFECTIVE_TFLOPS:.0f} TFLOP/s (estimate: {gpu:.0f} patches/s, "
              f"forward+backward = 3 x forward, loss networks not counted)")
        rows.append((spec.display_name, flops / 1e6, raw["mpx_per_s"], fuse["mpx_per_s"],
                     100 * fuse["mpx_per_s"] / raw["mpx_per_s"], max(raw["peak_mb"], fuse["peak_mb"]),
                     large["mpx_per_s"] if large else None, train["patches_per_s"], epoch_cpu_h, patches / gpu / 60))
    print()
    print(f"| model | MFLOP/px | raw {args.size}² Mpx/s | fuse {args.size}² Mpx/s | fuse/raw | peak MB | "
          "fuse 4000² Mpx/s | train patches/s | survey epoch CPU h | survey epoch GPU min (est.) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        large = f"{r[6]:.3f}" if r[6] is not None else "-"
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.0f} % | {r[5]:.0f} | {large} | "
              f"{r[7]:.2f} | {r[8]:.1f} | {r[9]:.1f} |")


if __name__ == "__main__":
    main()
