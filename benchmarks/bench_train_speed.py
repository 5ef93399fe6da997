"""Training speed of the deep models on this machine: patches per second of one optimisation step.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_train_speed.py [--patch 64] [--batch 8] [--steps 5]

For each model (EDCSTFN, STTFN-R, MLFF-GAN) the trainer of the plugin runs
``--steps`` optimisation steps on random smooth patches (after one warm-up step)
in three settings: float32; bfloat16 autocast on the CPU; float32 with
channels-last tensors and weights. It prints patches/s per setting and the ratio
to float32, and (``--check``) the loss after 30 steps on a learnable batch in
float32 and bfloat16, to see whether bfloat16 hurts the accuracy. Also the
forward-only rate, to compare an epoch with the cost of its forward+backward passes.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

link_plugin()

import torch  # noqa: E402

from lst_fusion_plugin.models.deep.architectures import get_spec, model_names  # noqa: E402


def learnable_batch(n: int, size: int, seed: int = 0, two_pair: bool = False):
    """Smooth random fine/coarse patches whose target is fine_ref + the coarse change (normalised units)."""
    g = torch.Generator().manual_seed(seed)
    pool = torch.nn.functional.avg_pool2d

    def smooth():
        return pool(torch.randn(n, 1, size + 4, size + 4, generator=g), 5, 1)

    fine, coarse_ref = smooth(), pool(smooth(), 16, 1, 8, count_include_pad=False)[..., :size, :size]
    change = torch.randn(n, 1, 1, 1, generator=g) * 0.5 + 0.3 * smooth()
    batch = {"fine_ref": fine, "coarse_ref": coarse_ref, "coarse_target": coarse_ref + change,
             "target": fine + change, "mask": torch.ones(n, 1, size, size)}
    if two_pair:
        batch["fine_ref2"], batch["coarse_ref2"] = fine + change * 0.5, coarse_ref + change * 0.5
    return batch


def make_trainer(name: str, precision: str):
    spec = get_spec(name)
    torch.manual_seed(0)
    net = spec.build(1)
    trainer = spec.make_trainer(net, 1, {}, spec.learning_rate, torch.device("cpu"), False)
    trainer.precision = precision
    return trainer, spec


def rate(name: str, precision: str, patch: int, batch_size: int, steps: int) -> tuple:
    """(training patches/s, forward-only patches/s)."""
    trainer, spec = make_trainer(name, precision)
    batch = learnable_batch(batch_size, patch, two_pair=spec.two_pair_training)
    if precision == "channels_last":
        trainer.model.to(memory_format=torch.channels_last)
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
    trainer.train_step(batch)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(batch)
    train = steps * batch_size / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.evaluate(batch)
    return train, steps * batch_size / (time.perf_counter() - start)


def accuracy(name: str, precision: str, patch: int, batch_size: int, steps: int = 30) -> float:
    """Masked MSE (normalised units, evaluated in float32) after ``steps`` steps on a learnable batch."""
    trainer, spec = make_trainer(name, precision)
    batch = learnable_batch(batch_size, patch, seed=1, two_pair=spec.two_pair_training)
    for _ in range(steps):
        trainer.train_step(batch)
    trainer.precision = "float32"
    return trainer.evaluate(batch)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--models", default=",".join(model_names()))
    parser.add_argument("--check", action="store_true", help="also compare the loss after 30 steps")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, patches {args.patch} x {args.patch}, "
          f"batch {args.batch}")
    print("| model | setting | train patches/s | x float32 | forward-only patches/s |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        base = None
        for precision in ("float32", "bfloat16", "channels_last"):
            train, forward = rate(name, precision, args.patch, args.batch, args.steps)
            base = base or train
            print(f"| {name} | {precision} | {train:.2f} | {train / base:.2f} | {forward:.2f} |", flush=True)
        if args.check:
            for precision in ("float32", "bfloat16"):
                print(f"{name} {precision}: MSE after 30 steps "
                      f"{accuracy(name, precision, args.patch, args.batch):.4f}", flush=True)


if __name__ == "__main__":
    main()
