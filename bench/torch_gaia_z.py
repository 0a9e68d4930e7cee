"""CPU timing of GAIA-Z in PyTorch, the two reference implementations, for
docs/BENCHMARKS.md (pattern mode, issue #15):

    /opt/torchenv/bin/python bench/torch_gaia_z.py --arch resnet50 --batches 1,16,128 --repeats 3 --json out.json

At each batch, with torch.set_num_threads(threads) (2: onnxruntime's intra-op threads):
  forward   the plain forward pass under torch.no_grad();
  official  the paper's recipe: forward hooks keep every BatchNorm2d output (retain_grad),
            the weights require gradients, seed = logits.max(1)[0].sum(), seed.backward(),
            zero ratios from the kept outputs' .grad;
  lean      frozen weights, only the input requires a gradient, torch.autograd.grad from
            the same seed to the BatchNorm outputs, the same reductions.
Each is warmed up, then timed --repeats times; medians in ms per image, by wall clock and
by CPU time (all threads; with OMP_WAIT_POLICY=PASSIVE idle threads sleep, so that is the
work done, comparable with bench/pattern.ts --cpu-time on a machine shared with other jobs). Activations run
out of place (torchvision's in-place ReLU/Hardswish would overwrite a kept BN output).

Models: an architecture of tools/reference/architectures.py (resnet18_fmnist_w16 is the
network of models/fmnist-resnet18, 28x28; random weights from seed 0, real BN statistics)
or a torchvision one at 224x224, built as tools/reference/torchvision_counts.py builds it
(seed 0, random weights, BN statistics from three training-mode passes). Timings do not
depend on the weights' values; PyTorch runs its BatchNorm layers (the ONNX models have
them folded into the convolutions where the exporter did so).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))


def build(arch: str):
    import architectures as A  # noqa: E402

    if arch in A.ARCHITECTURES:
        return A.build(arch, seed=0).eval(), tuple(A.input_shape(arch))
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 224, 224))
    return model.eval(), (3, 224, 224)


def out_of_place(model: nn.Module) -> None:
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False


def bn_modules(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def ratios(grads) -> torch.Tensor:
    r = torch.cat([(g != 0).sum(dim=(2, 3)).to(g.dtype) / (g.shape[2] * g.shape[3]) for g in grads], dim=1)
    return (r * r).mean(dim=1)


def official(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    taps = []

    def keep(mod, inp, out):
        out.retain_grad()
        taps.append(out)

    handles = [m.register_forward_hook(keep) for m in bn_modules(model)]
    try:
        for p in model.parameters():
            p.requires_grad_(True)
            p.grad = None
        y = model(x)
        y.max(1)[0].sum().backward()
    finally:
        for h in handles:
            h.remove()
    return ratios([t.grad for t in taps])


def lean(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    taps = []
    handles = [m.register_forward_hook(lambda mod, i, o: taps.append(o)) for m in bn_modules(model)]
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        with torch.enable_grad():
            y = model(x.detach().requires_grad_(True))
            grads = torch.autograd.grad(y.max(1)[0].sum(), taps)
    finally:
        for h in handles:
            h.remove()
    return ratios(grads)


def timed(fn, warmup: int, repeats: int):
    """Wall-clock and CPU (all threads, user + system) ms of each repeat."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="resnet18_fmnist_w16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,16,128")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model, shape = build(args.arch)
    out_of_place(model)
    rows = []
    for b in [int(s) for s in args.batches.split(",") if s.strip()]:
        x = torch.randn((b, *shape), generator=torch.Generator().manual_seed(b))
        z_official, z_lean = official(model, x), lean(model, x)
        assert torch.equal(z_official, z_lean), "the official and lean GAIA-Z differ"

        def fwd():
            with torch.no_grad():
                return model(x)

        t = {
            "forward": timed(fwd, args.warmup, args.repeats),
            "official": timed(lambda: official(model, x), args.warmup, args.repeats),
            "lean": timed(lambda: lean(model, x), args.warmup, args.repeats),
        }
        row = {
            "batch": b,
            **{f"{k}_ms_per_image": statistics.median(wall) / b for k, (wall, _) in t.items()},
            **{f"{k}_cpu_ms_per_image": statistics.median(cpu) / b for k, (_, cpu) in t.items()},
            "ms_all": {k: wall for k, (wall, _) in t.items()},
            "cpu_ms_all": {k: cpu for k, (_, cpu) in t.items()},
        }
        rows.append(row)
        print(
            f"{args.arch} batch {b:4d}: forward {row['forward_ms_per_image']:9.3f}  official {row['official_ms_per_image']:9.3f}  "
            f"lean {row['lean_ms_per_image']:9.3f} ms/img  (official/forward {row['official_ms_per_image'] / row['forward_ms_per_image']:.2f}x, "
            f"lean/forward {row['lean_ms_per_image'] / row['forward_ms_per_image']:.2f}x); CPU ms/img: forward "
            f"{row['forward_cpu_ms_per_image']:.3f}  official {row['official_cpu_ms_per_image']:.3f}  lean {row['lean_cpu_ms_per_image']:.3f}",
            flush=True,
        )
        # Written after every batch: a large batch that runs out of memory keeps the others.
        if args.json_out:
            report = {"arch": args.arch, "threads": args.threads, "repeats": args.repeats, "statistic": "median",
                      "torch_version": torch.__version__, "results": rows}
            with open(args.json_out, "w") as f:
                json.dump(report, f, indent=1)
                f.write("\n")


if __name__ == "__main__":
    main()
