"""Sanity checks for the bundled models/fmnist-cnn model.

    /usr/bin/python3 tools/train/check_fmnist_model.py [--no-test-set] [--no-ort]

1. manifest.json agrees with model.onnx (input/output names and shapes, 10 labels, no BN left);
2. the sample PNGs (samples/id, samples/ood), preprocessed as the manifest says, are run through
   the ONNX graph (float64 numpy evaluator; onnx 1.12 has no onnx.reference): accuracy on the ID
   samples (label from the file name), mean max-softmax (MSP) on ID vs OOD, and the MSP AUROC;
3. the whole Fashion-MNIST test set through the ONNX graph: accuracy must match the manifest;
4. if node and node_modules/onnxruntime-node are present, the samples through onnxruntime-node
   (the runtime gaia-sentinel uses) must give the same logits;
5. informational, if tools/reference/gaia_reference.py imports: GAIA-Z / GAIA-A / energy on the
   ID vs OOD samples (PyTorch autograd reference on a float64 rebuild of the folded graph, each
   folded Conv output being the tap), with AUROCs.
Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_common as C  # noqa: E402


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score(pos) > score(neg)) + 0.5 P(tie)."""
    d = pos[:, None] - neg[None, :]
    return float((d > 0).mean() + 0.5 * (d == 0).mean())


def load_set(folder: str, pattern: str, spec: dict):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    xs, labels = [], []
    for f in files:
        m = re.fullmatch(pattern, os.path.basename(f))
        assert m, f
        labels.append(int(m.group(1)))
        with Image.open(f) as im:
            xs.append(C.preprocess_image(im, spec))
    return files, np.stack(xs), np.array(labels)


def ort_logits(model_path: str, x: np.ndarray):
    if shutil.which("node") is None or not os.path.isdir(os.path.join(C.REPO, "node_modules", "onnxruntime-node")):
        return None
    tmp = tempfile.mkdtemp(prefix="fmnist_ort_")
    try:
        xin, yout = os.path.join(tmp, "x.f32"), os.path.join(tmp, "y.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(xin)
        shape = ",".join(str(d) for d in x.shape)
        subprocess.run(
            ["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_logits.mjs"), model_path, xin, shape, yout],
            cwd=C.REPO, check=True, capture_output=True, text=True, timeout=120,
        )
        return np.fromfile(yout, dtype="<f4").reshape(len(x), -1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def torch_from_onnx(proto):
    """float64 PyTorch rebuild of the folded graph (Conv+bias -> TapIdentity -> ReLU, ...,
    GlobalAveragePool, Flatten, Gemm) with the attributes gaia_reference expects (pool, fc)."""
    import torch
    import torch.nn as nn
    from onnx import numpy_helper

    sys.path.insert(0, os.path.join(C.REPO, "tools", "reference"))
    import gaia_reference as GR

    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float64)) for t in proto.graph.initializer}
    body, fc = [], None
    for node in proto.graph.node:
        a = C._attrs(node)
        if node.op_type == "Conv":
            w = init[node.input[1]]
            conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", [1, 1])),
                             padding=tuple(a.get("pads", [0, 0, 0, 0])[:2])).double()
            assert a.get("pads", [0] * 4)[:2] == a.get("pads", [0] * 4)[2:]
            conv.weight.data.copy_(w)
            conv.bias.data.copy_(init[node.input[2]])
            body += [conv, GR.TapIdentity()]
        elif node.op_type == "Relu":
            body.append(nn.ReLU())
        elif node.op_type == "Gemm":
            assert C._attrs(node).get("transB", 0) == 1
            w = init[node.input[1]]
            fc = nn.Linear(w.shape[1], w.shape[0]).double()
            fc.weight.data.copy_(w)
            fc.bias.data.copy_(init[node.input[2]])
        else:
            assert node.op_type in ("GlobalAveragePool", "Flatten"), node.op_type

    class Rebuilt(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*body)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = fc

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.body(x)), 1))

    return Rebuilt().eval(), GR


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=C.MODEL_DIR)
    ap.add_argument("--no-test-set", action="store_true", help="skip the 10000-image test-set pass")
    ap.add_argument("--no-ort", action="store_true", help="skip the onnxruntime-node comparison")
    ap.add_argument("--no-gaia", action="store_true", help="skip the GAIA-Z/GAIA-A reference scores")
    args = ap.parse_args()

    import onnx

    model_path = os.path.join(args.model_dir, "model.onnx")
    proto = onnx.load(model_path)
    onnx.checker.check_model(proto)
    with open(os.path.join(args.model_dir, "manifest.json")) as fh:
        man = json.load(fh)
    spec = man["input"]

    # 1. manifest vs graph
    gi, go = proto.graph.input[0], proto.graph.output[0]
    in_dims = [d.dim_param or d.dim_value for d in gi.type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in go.type.tensor_type.shape.dim]
    assert gi.name == spec["name"] and go.name == man["output"]["name"], (gi.name, go.name)
    assert isinstance(in_dims[0], str) and spec["shape"][0] is None and in_dims[1:] == spec["shape"][1:], in_dims
    assert out_dims[1:] == man["output"]["shape"][1:] == [len(man["labels"])] == [10], out_dims
    assert not any(n.op_type == "BatchNormalization" for n in proto.graph.node)
    size = os.path.getsize(model_path)
    print(f"model.onnx: {size} bytes, opset {proto.opset_import[0].version}, IR {proto.ir_version}, "
          f"input {gi.name} {in_dims}, output {go.name} {out_dims}: manifest agrees")

    # 2. samples
    sdir = os.path.join(args.model_dir, "samples")
    _, x_id, y_id = load_set(os.path.join(sdir, "id"), r"fmnist-test-\d{4}-(\d)\.png", spec)
    _, x_ood, d_ood = load_set(os.path.join(sdir, "ood"), r"digits-\d{4}-(\d)\.png", spec)
    z_id = C.run_onnx_numpy(proto, {spec["name"]: x_id})[go.name]
    z_ood = C.run_onnx_numpy(proto, {spec["name"]: x_ood})[go.name]
    p_id, p_ood = C.softmax(z_id), C.softmax(z_ood)
    msp_id, msp_ood = p_id.max(1), p_ood.max(1)
    acc_id = float((p_id.argmax(1) == y_id).mean())
    ood_pred = np.bincount(p_ood.argmax(1), minlength=10)
    print(f"samples: ID {len(x_id)} images, accuracy {acc_id:.4f} ({int(round(acc_id * len(x_id)))}/{len(x_id)})")
    print(f"  mean max-softmax: ID {msp_id.mean():.4f} (median {np.median(msp_id):.4f}), "
          f"OOD {msp_ood.mean():.4f} (median {np.median(msp_ood):.4f}) over {len(x_ood)} digit images")
    print(f"  MSP AUROC (ID positive): {auroc(msp_id, msp_ood):.4f}")
    print("  OOD digits predicted as: " + ", ".join(f"{man['labels'][k]} {n}" for k, n in enumerate(ood_pred) if n))
    assert acc_id >= 0.8, acc_id

    # 3. test set through the ONNX graph
    if not args.no_test_set:
        xte_u8, yte, _ = C.load_split("t10k")
        x = ((xte_u8.astype(np.float32) * np.float32(spec["scale"]) - np.float32(spec["mean"][0]))
             / np.float32(spec["std"][0]))[:, None]
        pred = np.concatenate([
            C.run_onnx_numpy(proto, {spec["name"]: x[i : i + 500]})[go.name].argmax(1) for i in range(0, len(x), 500)
        ])
        acc = float((pred == yte).mean())
        print(f"test set via ONNX graph (numpy): accuracy {acc:.4f} on {len(yte)}; manifest says "
              f"{man['metrics']['test_accuracy']}")
        assert abs(acc - man["metrics"]["test_accuracy"]) <= 2e-4, acc

    # 4. onnxruntime-node
    if not args.no_ort:
        x_all = np.concatenate([x_id, x_ood])
        z_ort = ort_logits(model_path, x_all)
        if z_ort is None:
            print("onnxruntime-node check skipped (node or node_modules/onnxruntime-node missing)")
        else:
            z_ref = np.concatenate([z_id, z_ood])
            err = float(np.abs(z_ort - z_ref).max())
            same = bool((z_ort.argmax(1) == z_ref.argmax(1)).all())
            print(f"onnxruntime-node on the {len(x_all)} samples: max |dlogit| vs numpy {err:.2e}, argmax identical {same}")
            assert err < 1e-3 and same
    # 5. GAIA scores (informational)
    if not args.no_gaia:
        try:
            import torch

            model, GR = torch_from_onnx(proto)
        except Exception as e:  # tools/reference is optional here
            print(f"GAIA reference scores skipped ({type(e).__name__}: {e})")
        else:
            r_id = GR.gaia_scores(model, torch.from_numpy(x_id).double())
            r_ood = GR.gaia_scores(model, torch.from_numpy(x_ood).double())
            err = float(np.abs(r_id.logits.numpy() - z_id).max())
            assert err < 1e-6, err
            print(f"GAIA reference on the samples ({len(r_id.taps)} taps = folded Conv outputs; AUROC: ID vs OOD, "
                  f"OOD scored as positive):")
            for key, higher_is_ood in (("gaia_z", True), ("gaia_a", True), ("msp", False), ("energy", False)):
                s_id, s_ood = getattr(r_id, key).numpy(), getattr(r_ood, key).numpy()
                a = auroc(s_ood, s_id) if higher_is_ood else auroc(-s_ood, -s_id)
                print(f"  {key:7s} mean ID {s_id.mean():.4g}, OOD {s_ood.mean():.4g}; AUROC {a:.4f}")
    print("OK")


if __name__ == "__main__":
    main()
