"""Train the bundled default model: a small CNN on Fashion-MNIST, exported to ONNX.

    /usr/bin/python3 tools/train/train_fmnist_cnn.py            # writes models/fmnist-cnn/{model.onnx,manifest.json}

CPU only, seeded (torch.manual_seed, deterministic algorithms, a seeded shuffle/augment
generator). Data: the IDX files of the Debian package dataset-fashion-mnist, read directly
(gzip or not). Architecture (1x28x28 in, 10 logits out):

    conv3x3(1->16)-BN-ReLU, conv3x3(16->32, s2)-BN-ReLU, conv3x3(32->32)-BN-ReLU,
    conv3x3(32->64, s2)-BN-ReLU, conv3x3(64->64)-BN-ReLU, AdaptiveAvgPool2d(1), Flatten,
    Linear(64->10)

Inputs are normalised as (v/255 - 0.2860)/0.3530. Training: AdamW + one-cycle LR, batch 128,
random horizontal flips. The test set is used once, after training, for the reported accuracy
(no model selection on it). Export: eval mode, torch.onnx.export with default constant folding
(BatchNorm folds into the Convs), opset 17, input ``input`` [N,1,28,28] with dynamic batch,
output ``logits`` [N,10]. The export is checked against the PyTorch model with a float64 numpy
evaluation of the ONNX graph (tools/train/fmnist_common.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_common as C  # noqa: E402


def build_model() -> nn.Sequential:
    def block(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, 16, 1),
        *block(16, 32, 2),
        *block(32, 32, 1),
        *block(32, 64, 2),
        *block(64, 64, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def normalise(x_u8: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(x_u8.astype(np.float32)).unsqueeze(1)
    return (x / 255.0 - C.MEAN) / C.STD


@torch.no_grad()
def predict(model, x: torch.Tensor, bs: int = 1000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + bs]) for i in range(0, len(x), bs)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=C.MODEL_DIR)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-3, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0, help="debug: stop each epoch after this many steps")
    args = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    xtr_u8, ytr_np, sha_train = C.load_split("train")
    xte_u8, yte_np, sha_test = C.load_split("t10k")
    xtr, ytr = normalise(xtr_u8), torch.from_numpy(ytr_np)
    xte, yte = normalise(xte_u8), torch.from_numpy(yte_np)
    print(f"data: train {tuple(xtr.shape)}, test {tuple(xte.shape)} "
          f"(train mean/std of v/255: {xtr_u8.mean() / 255:.4f}/{(xtr_u8 / 255).std():.4f})")

    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    steps_per_epoch = (len(xtr) + args.batch - 1) // args.batch
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.25
    )
    gen = torch.Generator().manual_seed(args.seed + 1)

    t_train = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        flip = torch.rand(len(xtr), generator=gen) < 0.5
        seen, loss_sum, correct = 0, 0.0, 0
        t_ep = time.perf_counter()
        for step in range(steps_per_epoch):
            idx = perm[step * args.batch : (step + 1) * args.batch]
            xb, yb = xtr[idx], ytr[idx]
            fb = flip[idx]
            if fb.any():
                xb = xb.clone()
                xb[fb] = xb[fb].flip(-1)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / seen:.4f}, train acc {correct / seen:.4f}, "
              f"{time.perf_counter() - t_ep:.1f}s", flush=True)
    train_s = time.perf_counter() - t_train

    model.eval()
    logits_te = predict(model, xte)
    test_acc = (logits_te.argmax(1) == yte).float().mean().item()
    print(f"test accuracy {test_acc:.4f} on {len(yte)} images; training {train_s:.1f}s, {n_params} parameters")

    # ---- export ----------------------------------------------------------------------
    import onnx

    f = io.BytesIO()
    x_dummy = xte[:2].clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            x_dummy,
            f,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    data = f.getvalue()
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    ops = [n.op_type for n in proto.graph.node]
    assert "BatchNormalization" not in ops, f"BatchNormalization not folded: {ops}"
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [1, 28, 28] and isinstance(dims[0], str), dims

    # check the folded export against the PyTorch model (float64 numpy evaluation of the graph)
    xs = xte[:256].numpy()
    ref = logits_te[:256].double().numpy()
    got = C.run_onnx_numpy(proto, {"input": xs})["logits"]
    err = float(np.abs(got - ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    print(f"export: {len(data)} bytes, ops {sorted(set(ops))}, numpy-vs-torch max |dlogit| {err:.2e}, argmax agree {agree}")
    assert err < 1e-3 and agree == 1.0

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "model.onnx"), "wb") as fh:
        fh.write(data)

    manifest = {
        "name": "fmnist-cnn",
        "task": "image-classification",
        "input": {
            "name": "input",
            "dtype": "float32",
            "shape": [None, 1, 28, 28],
            "layout": "NCHW",
            "channels": "gray",
            "gray": "bt601",
            "resize": {
                "mode": "contain",
                "width": 28,
                "height": 28,
                "interpolation": "bilinear",
                "align": "center",
                "background": 0,
            },
            "scale": 1 / 255,
            "mean": [C.MEAN],
            "std": [C.STD],
        },
        "output": {"name": "logits", "shape": [None, 10], "kind": "logits"},
        "labels": C.LABELS,
        "provenance": {
            "dataset": f"Fashion-MNIST via Debian package dataset-fashion-mnist {C.dpkg_version('dataset-fashion-mnist')}",
            "dataset_sha256": {"train": sha_train, "test": sha_test},
            "license": "MIT (Fashion-MNIST)",
            "trained_by": "tools/train/train_fmnist_cnn.py",
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "opset": 17,
            "seed": args.seed,
            "epochs": args.epochs,
            "batch": args.batch,
            "optimizer": f"AdamW(weight_decay={args.weight_decay}) + OneCycleLR(max_lr={args.lr})",
            "augmentation": "random horizontal flip (p=0.5)",
            "parameters": n_params,
        },
        "metrics": {"test_accuracy": round(test_acc, 4), "test_samples": int(len(yte))},
    }
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    print(f"wrote {args.out_dir}/model.onnx and manifest.json; total {time.perf_counter() - t_start:.1f}s")


if __name__ == "__main__":
    main()
