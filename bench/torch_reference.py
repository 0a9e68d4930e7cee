"""CPU timing of the PyTorch reference for the benchmark ResNet-18.

    /usr/bin/python3 bench/torch_reference.py --threads 2 --batches 1,32,128 --repeats 5 --json out.json

Times, at each batch size, with torch.set_num_threads(threads):
  (a) forward: the plain forward pass under torch.no_grad(),
  (b) gaia_z:  the PyTorch reference GAIA-Z - forward hooks on every BatchNorm2d, forward,
               seed = logits.max(1)[0].sum(), torch.autograd.grad to all BN outputs, and the
               score reductions (tools/reference/gaia_reference.py: gaia_z_only).
Each is warmed up, then timed ``--repeats`` times; the median is reported in ms per image.
Weights come from the state_dict written by bench/export_bench_model.py (same weights as
the ONNX model); if it is missing they are rebuilt from the same seed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))

import architectures as A  # noqa: E402
import gaia_reference as G  # noqa: E402

ARCH = "resnet18_fmnist"


def load_model(weights: str, seed: int):
    if os.path.exists(weights):
        ctor, _ = A.ARCHITECTURES[ARCH]
        model = ctor()
        model.load_state_dict(torch.load(weights, map_location="cpu"))
        source = weights
    else:
        print(f"warning: {weights} not found, rebuilding {ARCH} from seed {seed}", file=sys.stderr)
        model = A.build(ARCH, seed=seed)
        source = f"rebuilt(seed={seed})"
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval(), source


def conv_backends(model, x):
    """Which ATen convolution backend each Conv2d uses for this input (private API, best effort).

    Note: torch 1.13 sends small batch-1 convolutions (N*C*H*W <= 20480 with 3x3 or 1x1
    kernels) to the im2col 'Slow2d' path instead of oneDNN; with the Debian build's generic
    BLAS that path is far slower, which dominates batch-1 timings."""
    counts = {}
    sel = getattr(torch._C, "_select_conv_backend", None)
    if sel is None:
        return counts

    def hook(m, inputs):
        try:
            b = sel(inputs[0], m.weight, m.bias, list(m.stride), list(m.padding), list(m.dilation), False, [0, 0], m.groups)
            name = str(b).split(".")[-1]
        except Exception:  # noqa: BLE001
            name = "unknown"
        counts[name] = counts.get(name, 0) + 1

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return counts


def timed(fn, warmup: int, repeats: int):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--weights", default=os.path.join(REPO, "bench", ".cache", "resnet18.pt"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model, source = load_model(args.weights, args.seed)
    shape = A.input_shape(ARCH)
    batches = [int(b) for b in args.batches.split(",") if b.strip()]

    results = []
    for b in batches:
        x = torch.randn((b, *shape), generator=torch.Generator().manual_seed(b))

        def fwd():
            with torch.no_grad():
                return model(x)

        def gaia():
            return G.gaia_z_only(model, x)

        z = gaia()
        assert z.shape == (b,) and bool(torch.isfinite(z).all())
        t_fwd = timed(fwd, args.warmup, args.repeats)
        t_gz = timed(gaia, args.warmup, args.repeats)
        row = {
            "batch": b,
            "forward_ms_per_image": statistics.median(t_fwd) / b,
            "gaia_z_ms_per_image": statistics.median(t_gz) / b,
            "forward_ms_per_batch": statistics.median(t_fwd),
            "gaia_z_ms_per_batch": statistics.median(t_gz),
            "forward_ms_all": t_fwd,
            "gaia_z_ms_all": t_gz,
            "conv_backends": conv_backends(model, x),
        }
        results.append(row)
        print(
            f"batch {b:4d}: forward {row['forward_ms_per_image']:8.3f} ms/image   "
            f"gaia_z {row['gaia_z_ms_per_image']:8.3f} ms/image   "
            f"(ratio {row['gaia_z_ms_per_image'] / row['forward_ms_per_image']:.2f}x)  conv backends {row['conv_backends']}",
            flush=True,
        )

    report = {
        "model": ARCH,
        "weights": source,
        "input_shape": list(shape),
        "device": "cpu",
        "threads": args.threads,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "statistic": "median",
        "torch_version": torch.__version__,
        "blas": "generic" if "BLAS_INFO=generic" in torch.__config__.show() else "see torch.__config__.show()",
        "results": results,
    }
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json_out}")


if __name__ == "__main__":
    main()
