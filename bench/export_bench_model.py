"""Export the benchmark model: CIFAR-style ResNet-18 for 1x28x28 inputs (10 classes).

    /usr/bin/python3 bench/export_bench_model.py --out bench/.cache/resnet18.onnx

Random (seeded) weights with real BatchNorm statistics (tools/reference/architectures.py,
``resnet18_fmnist``), eval mode, exported the usual way (default constant folding, so
BatchNorm is folded into the Convs), opset 17, input ``input``, output ``logits``, dynamic
batch axis. The PyTorch state_dict is written next to it (<out stem>.pt) so
bench/torch_reference.py times exactly the same weights.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import warnings

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))

import architectures as A  # noqa: E402

ARCH = "resnet18_fmnist"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join("bench", ".cache", "resnet18.onnx"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-ort", action="store_true", help="skip the onnxruntime-node logits check")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    import onnx

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    stem = os.path.splitext(out)[0]

    t0 = time.perf_counter()
    model = A.build(ARCH, seed=args.seed)
    shape = A.input_shape(ARCH)
    x = torch.randn((2, *shape), generator=torch.Generator().manual_seed(1234))

    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            x,
            f,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    data = f.getvalue()
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    assert proto.ir_version <= 13
    n_bn = sum(1 for n in proto.graph.node if n.op_type == "BatchNormalization")
    assert n_bn == 0, f"{n_bn} BatchNormalization nodes were not folded"
    with open(out, "wb") as fh:
        fh.write(data)
    torch.save(model.state_dict(), stem + ".pt")
    meta = {
        "arch": ARCH,
        "seed": args.seed,
        "input_shape": list(shape),
        "num_classes": 10,
        "opset": 17,
        "ir_version": proto.ir_version,
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "onnx_op_types": sorted({n.op_type for n in proto.graph.node}),
        "conv_nodes": sum(1 for n in proto.graph.node if n.op_type == "Conv"),
    }
    with open(stem + ".json", "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    print(
        f"wrote {out} ({len(data) / 1e6:.1f} MB, IR {proto.ir_version}, {meta['conv_nodes']} Conv, 0 BN), "
        f"{stem}.pt, {stem}.json in {time.perf_counter() - t0:.1f}s"
    )

    if not args.no_ort:
        import make_fixtures as MF

        if MF.ort_available():
            with torch.no_grad():
                y = model(x)
            rep = MF.ort_check([(ARCH, os.path.basename(out), proto, x.numpy(), {"logits": y.numpy()})])
            print(f"onnxruntime-node logits check: {rep}")
        else:
            print("onnxruntime-node check skipped (node or node_modules/onnxruntime-node missing)")


if __name__ == "__main__":
    main()
