"""GradNorm as the paper ran it (official code: one sample at a time, autograd to the last
layer's weights) vs the closed form batched, in PyTorch on the reference architecture
(resnet18_cifar(16), random weights: cost does not depend on them), 1 thread.

    /opt/torchenv/bin/python bench/gradnorm_torch.py [--images 128]
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
import architectures as A  # noqa: E402
import baselines_reference as R  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = A.build("resnet18_fmnist_w16", seed=0)
    x = torch.randn((args.images, 1, 28, 28), generator=torch.Generator().manual_seed(0))

    def timed(fn):
        fn()
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000 / args.images)
        return sorted(ts)[len(ts) // 2]

    def forward():
        with torch.no_grad():
            model(x)

    def closed_form():
        with torch.no_grad():
            _, _, pen, _ = R._features(model, x)
            p = torch.softmax(model.fc(pen), dim=1)
            return (p - 1 / p.shape[1]).abs().sum(1) * pen.abs().sum(1)

    per_sample = timed(lambda: R.gradnorm(model, x))
    print(f"torch {torch.__version__}, 1 thread, {args.images} images, ms/image (median of {args.repeats}):")
    print(f"  forward, batch {args.images}:                      {timed(forward):.3f}")
    print(f"  GradNorm, official (batch 1, autograd):   {per_sample:.3f}")
    print(f"  GradNorm, closed form, batch {args.images}:        {timed(closed_form):.3f}")


if __name__ == "__main__":
    main()
