#!/usr/bin/python3
"""Train the reference model: a CIFAR-style ResNet-18 on Fashion-MNIST, exported to ONNX.

    /usr/bin/python3 scripts/data/build_sets.py                # data/sets/fmnist-{train,calib,eval}
    /usr/bin/python3 tools/reference/train_resnet18.py         # -> models/fmnist-resnet18/{model.onnx,manifest.json}

Architecture (tools/reference/architectures.py ``resnet18_cifar(width)``): 3x3 stem
conv-BN-ReLU (stride 1, no max-pool), BasicBlocks [2, 2, 2, 2] at widths (w, 2w, 4w, 8w)
with 1x1-conv+BN stride-2 shortcuts where the shape changes, global average pool,
Linear(8w -> 10). Default w = 16: 0.70 M parameters, a 2.8 MB ONNX file.

Data: the IDX files written by scripts/data/build_sets.py: trains on data/sets/fmnist-train
only. Inputs are normalised as (v/255 - 0.2860)/0.3530. Augmentation: random horizontal flip
(p = 0.5) and a random 28x28 crop of the image padded by 2 px of black (v = 0).
Optimiser: SGD (momentum 0.9, Nesterov, weight decay 5e-4 on conv/linear weights only) with a
one-cycle learning rate (peak --lr), batch 128. The model of the last epoch is the model: no
early stopping and no model selection. The test set (fmnist-calib + fmnist-eval, together
the 10k Fashion-MNIST test set) is used once, after training, for the reported accuracies.

CPU only, seeded (torch.manual_seed, deterministic algorithms, a seeded torch generator for the
shuffle, a seeded numpy generator for the augmentation). Export: eval mode, torch.onnx.export with default constant
folding (BatchNorm folds into the Convs), opset 17, input ``input`` [N,1,28,28] with dynamic
batch, output ``logits`` [N,10]. The export is checked against the PyTorch model with a float64
numpy evaluation of the ONNX graph.

Options: --width W --epochs N --lr LR --seed S --threads T --data DIR --out-dir DIR
         --max-steps K (debug / timing: stop each epoch after K steps)
         --checkpoint PATH (default data/train/fmnist-resnet18.pt; --export-only reuses it)
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import io
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "train"))
import architectures as A  # noqa: E402
from fmnist_common import LABELS, MEAN, SIDE, STD, read_idx  # noqa: E402
from fmnist_common import run_onnx_numpy as run_graph_numpy  # noqa: E402

PAD = 2


# ----------------------------------------------------------------------------------------
# data (IDX files written by scripts/data/build_sets.py)
# ----------------------------------------------------------------------------------------


def load_set(root: str, name: str):
    d = os.path.join(root, name)
    if not os.path.isdir(d):
        sys.exit(f"error: {d} missing: run /usr/bin/python3 scripts/data/build_sets.py first")
    x = read_idx(os.path.join(d, "images-idx3-ubyte"))
    y = read_idx(os.path.join(d, "labels-idx1-ubyte")).astype(np.int64)
    with open(os.path.join(d, "manifest.json")) as fh:
        man = json.load(fh)
    assert x.shape == (man["count"], SIDE, SIDE) and y.shape == (man["count"],), (x.shape, y.shape)
    h = hashlib.sha256()
    h.update(x.tobytes())
    h.update(y.astype(np.uint8).tobytes())
    return x, y, man, h.hexdigest()


def normalise(x_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [B,H,W] -> float32 [B,1,H,W], (v/255 - MEAN)/STD."""
    return ((x_u8.float() / 255.0 - MEAN) / STD).unsqueeze(1)


def augment(x_u8: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """Random horizontal flip (p=0.5) and a random 28x28 crop of the image zero-padded by PAD px
    (numpy: fast and deterministic). uint8 [B,H,W] -> uint8 tensor [B,H,W]."""
    b = x_u8.shape[0]
    flip = rng.random(b) < 0.5
    dy = rng.integers(0, 2 * PAD + 1, b)
    dx = rng.integers(0, 2 * PAD + 1, b)
    x = np.where(flip[:, None, None], x_u8[:, :, ::-1], x_u8)
    xp = np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD)))  # value 0 = black background
    win = np.lib.stride_tricks.sliding_window_view(xp, (SIDE, SIDE), axis=(1, 2))  # [B, 5, 5, 28, 28]
    return torch.from_numpy(np.ascontiguousarray(win[np.arange(b), dy, dx]))


@torch.no_grad()
def predict(model, x_u8: torch.Tensor, bs: int = 500) -> torch.Tensor:
    model.eval()
    return torch.cat([model(normalise(x_u8[i : i + bs])) for i in range(0, len(x_u8), bs)])


# ----------------------------------------------------------------------------------------
# float64 numpy evaluation of the exported graph
# ----------------------------------------------------------------------------------------


def run_onnx_numpy(proto, x: np.ndarray) -> np.ndarray:
    """The exported graph's single output on input x, in float64 numpy (tools/train/fmnist_common.py)."""
    return run_graph_numpy(proto, {proto.graph.input[0].name: x})[proto.graph.output[0].name]


# ----------------------------------------------------------------------------------------


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for ln in fh:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def export(model: nn.Module, example: torch.Tensor) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, example, f,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            # torch >= 2.9 defaults to the dynamo exporter; keep the TorchScript one (same graph as torch 1.13)
            **({"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}),
        )
    return f.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(REPO, "data", "sets"))
    ap.add_argument("--out-dir", default=os.path.join(REPO, "models", "fmnist-resnet18"))
    ap.add_argument("--checkpoint", default=os.path.join(REPO, "data", "train", "fmnist-resnet18.pt"))
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0, help="debug/timing: stop each epoch after this many steps")
    ap.add_argument("--export-only", action="store_true", help="skip training; load --checkpoint and export")
    args = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    xtr_np, ytr_np, man_tr, sha_tr = load_set(args.data, "fmnist-train")
    xca_np, yca_np, man_ca, sha_ca = load_set(args.data, "fmnist-calib")
    xev_np, yev_np, man_ev, sha_ev = load_set(args.data, "fmnist-eval")
    xtr, ytr = torch.from_numpy(xtr_np.copy()), torch.from_numpy(ytr_np)
    print(f"data: train {tuple(xtr.shape)}; calib {len(yca_np)}, eval {len(yev_np)} (test halves, not used in training); "
          f"train mean/std of v/255: {xtr_np.mean() / 255:.4f}/{(xtr_np / 255).std():.4f}", flush=True)

    model = A.resnet18_cifar(args.width, in_ch=1, num_classes=10)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: resnet18_cifar(width={args.width}), {n_params} parameters", flush=True)

    steps_per_epoch = len(xtr) // args.batch  # drop the last partial batch
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    epoch_times, train_s, history = [], 0.0, []
    if args.export_only:
        ck = torch.load(args.checkpoint)
        model.load_state_dict(ck["state_dict"])
        epoch_times, train_s, history = ck["epoch_times"], ck["train_s"], ck["history"]
        saved = ck["args"]
        for k in ("width", "epochs", "batch", "lr", "weight_decay", "seed"):
            setattr(args, k, saved[k])
        print(f"loaded {args.checkpoint} (trained {train_s:.0f}s)")
    else:
        decay = [p for n, p in model.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
        opt = torch.optim.SGD(
            [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=args.lr, momentum=0.9, nesterov=True)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2,
            div_factor=20.0, final_div_factor=200.0)
        gen = torch.Generator().manual_seed(args.seed + 1)  # shuffling
        aug_rng = np.random.default_rng(args.seed + 2)  # augmentation
        t_train = time.perf_counter()
        for epoch in range(args.epochs):
            model.train()
            perm = torch.randperm(len(xtr), generator=gen)
            seen, loss_sum, correct = 0, 0.0, 0
            t_ep = time.perf_counter()
            for step in range(steps_per_epoch):
                idx = perm[step * args.batch : (step + 1) * args.batch]
                xb, yb = normalise(augment(xtr_np[idx.numpy()], aug_rng)), ytr[idx]
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                seen += len(idx)
                loss_sum += loss.item() * len(idx)
                correct += (logits.argmax(1) == yb).sum().item()
            dt = time.perf_counter() - t_ep
            epoch_times.append(round(dt, 1))
            history.append({"epoch": epoch + 1, "loss": round(loss_sum / seen, 4), "train_acc": round(correct / seen, 4)})
            print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / seen:.4f}, train acc (augmented) "
                  f"{correct / seen:.4f}, lr {sched.get_last_lr()[0]:.4f}, {dt:.1f}s", flush=True)
        train_s = time.perf_counter() - t_train
        os.makedirs(os.path.dirname(args.checkpoint), exist_ok=True)
        torch.save({"state_dict": model.state_dict(), "args": vars(args), "epoch_times": epoch_times,
                    "train_s": train_s, "history": history}, args.checkpoint)
        print(f"training {train_s:.1f}s; checkpoint {args.checkpoint}", flush=True)

    # ---- the one measurement on the test set ------------------------------------------
    model.eval()
    lg_ca, lg_ev = predict(model, torch.from_numpy(xca_np.copy())), predict(model, torch.from_numpy(xev_np.copy()))
    ok_ca = (lg_ca.argmax(1).numpy() == yca_np)
    ok_ev = (lg_ev.argmax(1).numpy() == yev_np)
    test_acc = float(np.concatenate([ok_ca, ok_ev]).mean())
    print(f"test accuracy {test_acc:.4f} on {len(ok_ca) + len(ok_ev)} images "
          f"(eval half {ok_ev.mean():.4f}, calib half {ok_ca.mean():.4f})", flush=True)

    # ---- export ----------------------------------------------------------------------
    import onnx

    data = export(model, normalise(torch.from_numpy(xev_np[:2].copy())))
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    ops = [n.op_type for n in proto.graph.node]
    assert "BatchNormalization" not in ops, f"BatchNormalization not folded: {sorted(set(ops))}"
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [1, 28, 28] and isinstance(dims[0], str), dims
    assert proto.graph.input[0].name == "input" and proto.graph.output[0].name == "logits"
    n_check = 64
    got = run_onnx_numpy(proto, normalise(torch.from_numpy(xev_np[:n_check].copy())).numpy())
    ref = lg_ev[:n_check].double().numpy()
    err = float(np.abs(got - ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    op_counts = {o: ops.count(o) for o in sorted(set(ops))}
    print(f"export: {len(data)} bytes, ops {op_counts}, numpy-vs-torch max |dlogit| {err:.2e} "
          f"on {n_check} eval images, argmax agree {agree}", flush=True)
    assert err < 1e-3 and agree == 1.0

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "model.onnx"), "wb") as fh:
        fh.write(data)

    v_fm = man_tr["source"]["version"]
    manifest = {
        "name": "fmnist-resnet18",
        "task": "image-classification",
        "input": {
            "name": "input",
            "dtype": "float32",
            "shape": [None, 1, 28, 28],
            "layout": "NCHW",
            "channels": "gray",
            "gray": "bt601",
            "resize": {"mode": "contain", "width": 28, "height": 28, "interpolation": "bilinear",
                       "align": "center", "background": 0},
            "scale": 1 / 255,
            "mean": [MEAN],
            "std": [STD],
        },
        "output": {"name": "logits", "shape": [None, 10], "kind": "logits"},
        "labels": LABELS,
        "provenance": {
            "dataset": f"Fashion-MNIST via Debian package dataset-fashion-mnist {v_fm}",
            "dataset_sha256": {"train": sha_tr, "calib": sha_ca, "eval": sha_ev},
            "dataset_sets": "data/sets/fmnist-train (training), data/sets/fmnist-calib + fmnist-eval (the test set, "
                            "measured once after training), built by scripts/data/build_sets.py",
            "license": "MIT (Fashion-MNIST)",
            "trained_by": "tools/reference/train_resnet18.py",
            "architecture": f"CIFAR-style ResNet-18 (tools/reference/architectures.py resnet18_cifar({args.width})): "
                            f"3x3 stem conv-BN-ReLU, no max-pool, BasicBlocks [2,2,2,2] at widths "
                            f"{[args.width * k for k in (1, 2, 4, 8)]}, 1x1-conv+BN stride-2 shortcuts, global average "
                            f"pool, Linear({8 * args.width}->10)",
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "opset": 17,
            "seed": args.seed,
            "epochs": args.epochs,
            "width": args.width,
            "batch": args.batch,
            "optimizer": f"SGD(momentum=0.9, nesterov=True, weight_decay={args.weight_decay} on conv/linear weights) "
                         f"+ OneCycleLR(max_lr={args.lr}, pct_start=0.2, div_factor=20, final_div_factor=200)",
            "augmentation": f"random horizontal flip (p=0.5), random 28x28 crop after {PAD}-px zero padding",
            "parameters": n_params,
            "training_wall_time_s": round(train_s, 1),
            "epoch_time_s": round(float(np.median(epoch_times)), 1) if epoch_times else None,
            "threads": args.threads,
            "cpu": cpu_name(),
        },
        "metrics": {
            "test_accuracy": round(test_acc, 4),
            "test_samples": int(len(ok_ca) + len(ok_ev)),
            "eval_half_accuracy": round(float(ok_ev.mean()), 4),
            "eval_half_samples": int(len(ok_ev)),
            "calib_half_accuracy": round(float(ok_ca.mean()), 4),
        },
    }
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    print(f"wrote {args.out_dir}/model.onnx ({len(data)} bytes) and manifest.json; total {time.perf_counter() - t_start:.1f}s")


if __name__ == "__main__":
    main()
