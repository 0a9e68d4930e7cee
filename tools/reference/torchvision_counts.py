"""Official GAIA-Z non-zero counts for a torchvision classifier at 224x224, for
bench/pattern-official.ts: builds the model (random weights, seed 0, BN statistics from
three training-mode passes), exports it with the TorchScript exporter (opset 17, dynamic
batch) and writes, for the input the caller wrote, the number of non-zero gradient entries
of sum_b max_c logits at every BatchNorm output, per (sample, channel), as int32.

    /opt/torchenv/bin/python tools/reference/torchvision_counts.py --arch resnet50 \
        --onnx /tmp/pat/resnet50.onnx --input x.f32 --batch 16 --counts c.i32

Each BN hook hands the network a copy of its output, so in-place residual adds and
activations (torchvision's Bottleneck, inplace Hardswish) do not overwrite the tensor whose
gradient is taken.
"""

import argparse

import numpy as np
import torch
import torchvision


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--counts", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    m = getattr(torchvision.models, args.arch)(weights=None)
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(8, 3, 224, 224))
    m.eval()
    torch.onnx.export(m, (torch.randn(1, 3, 224, 224),), args.onnx, dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    x = torch.from_numpy(np.fromfile(args.input, dtype=np.float32).reshape(args.batch, 3, 224, 224))
    taps = []

    def hook(mod, inp, out):
        taps.append(out)
        return out * 1.0

    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.register_forward_hook(hook)
    y = m(x)
    grads = torch.autograd.grad(y.max(dim=1).values.sum(), taps)
    counts = torch.cat([(g != 0).sum((2, 3)).to(torch.int32) for g in grads], 1)
    counts.numpy().tofile(args.counts)
    print(f"{args.arch}: {len(taps)} taps, counts {tuple(counts.shape)}")


if __name__ == "__main__":
    main()
