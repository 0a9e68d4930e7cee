"""The bring-your-own-model zoo check: torchvision classifiers, both torch.onnx exporters,
compiled with the default taps, against the official GAIA-Z.

    python tools/reference/zoo.py [--arch NAME ...] [--exporters LIST] [--work DIR] [--report PATH] [--fixtures DIR]

NAME: a torchvision classifier (resnet18, ...), a pattern net of byom_archs.py, or
timm:NAME[@SIZE] for a timm model (pip install timm; random weights, input SIZE px).

Needs torch, torchvision, onnx, onnxscript and onnxruntime (PyPI; e.g. a venv with
``pip install torch torchvision onnx onnxscript onnxruntime``), and the built project
(``npm run build``): each export is compiled by ``node bin/gaia-sentinel.js compile``.

For every architecture (random weights, ``num_classes=10``, BatchNorm with random running
statistics and affine parameters, eval mode):

* reference: the official GAIA-Z (``cal_zero``): the output of every BatchNorm (recorded
  at F.batch_norm, see official_gaia_z), seed ``y.max(1)[0].sum()``, ``autograd.grad`` at
  those outputs, zero ratios over H*W, mean of squares. A clone goes downstream, so an
  in-place activation after the BN (torchvision's ``ReLU(inplace=True)``, DenseNet's
  ``F.relu(..., inplace=True)``) cannot turn the recorded tensor into the activation's
  output: the tap is the BN output before any activation.
* exports, exactly as torch writes them by default: ``torch.onnx.export(model, (x[:1],), path)``
  with the default dynamo exporter (weights in external data beside the model) and with
  ``dynamo=False`` (TorchScript), no dynamic axes: the batch of 1 is fixed in the graph
  (``--fixtures`` writes exports with a declared dynamic batch too, see EXPORTERS).
* each export compiled with the default taps (``--taps bn``), run with onnxruntime at the
  reference batch (3: the compiled graph takes any batch although the export fixed 1) and at
  batch 1 (a sample's score does not depend on its batch).

Reported per export: taps found vs hooks, the worst per-sample relative error of GAIA-Z, the
number of (sample, channel) zero ratios that differ, and those explained: a differing ratio
is explained when the tap's pre-activation tensor has, in that channel, at least as many
values within float32 rounding (1e-5 of the tensor's scale) of the activation's threshold
as positions differ (the exported folded Conv rounds differently from Conv then BN).

``--fixtures DIR`` also writes, for the architectures given, CI fixtures (the two exports,
the input and the reference scores) in DIR/<arch>/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import onnxruntime as ort
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import byom_archs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The torchvision classification architectures that have BatchNorm, one or more per family.
ZOO = [
    "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
    "efficientnet_b0", "efficientnet_v2_s",
    "regnet_x_400mf", "regnet_y_400mf",
    "densenet121", "shufflenet_v2_x1_0", "mnasnet1_0",
    "googlenet", "inception_v3", "vgg11_bn",
]
# Input sizes where 64x64 does not fit the architecture: Inception needs >= 75 px, VGG's
# adaptive pool to 7x7 exports only from a multiple of 7.
SIZE = {"inception_v3": 96, "vgg11_bn": 224}


# The public-pattern architectures (byom_archs.py): input size, --taps, and the modules the
# reference hooks (with the layout of their output).
BYOM = {
    "mixconv": (32, "bn", "bn"),
    "slice_residual": (32, "bn", "bn"),
    "fpn_resize": (32, "bn", "bn"),
    "decomposed_ln": (32, "bn", "bn"),
    "bn_act": (32, "bn", "bn"),
    "attention_mini": (32, "bn", "bn"),
    "convnext_mini": (32, "op:LayerNormalization", "layernorm"),
    "convnext_tiny": (64, "op:LayerNormalization", "layernorm"),
}


def _narrow():
    """Narrow torchvision variants small enough to commit as CI fixtures (same code paths,
    fewer channels)."""
    from torchvision.models import DenseNet, EfficientNet, RegNet, ShuffleNetV2, mobilenet_v2, mobilenet_v3_small
    from torchvision.models.efficientnet import _efficientnet_conf
    from torchvision.models.regnet import BlockParams

    def efficientnet():
        setting, last = _efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.25)
        return EfficientNet(setting, 0.2, last_channel=last, num_classes=10)

    return {
        "mobilenet_v2_w025": lambda: mobilenet_v2(num_classes=10, width_mult=0.25),
        "mobilenet_v3_small_w025": lambda: mobilenet_v3_small(num_classes=10, width_mult=0.25),
        "efficientnet_b0_w025": efficientnet,
        "regnet_y_tiny": lambda: RegNet(BlockParams.from_init_params(depth=4, w_0=8, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25), num_classes=10),
        "shufflenet_v2_tiny": lambda: ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=10),
        "densenet_tiny": lambda: DenseNet(growth_rate=8, block_config=(2, 2, 2), num_init_features=16, num_classes=10),
    }


NARROW = _narrow()
# What test/fixtures/zoo holds (tools/reference/zoo.py --fixtures test/fixtures/zoo): exports
# with a dynamic batch, and for a few also torch's defaults (fixed batch 1).
FIXTURES_WITH_DEFAULT_EXPORTS = ["shufflenet_v2_tiny", "densenet_tiny", "regnet_y_tiny", "slice_residual"]
CI_FIXTURES = [a for a in NARROW if a != "mobilenet_v2_w025"] + ["mixconv", "slice_residual", "fpn_resize", "decomposed_ln", "bn_act", "convnext_mini", "attention_mini"]


def build(arch: str, seed: int = 0, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    if arch in byom_archs.ARCHS:
        model = byom_archs.ARCHS[arch](**kwargs)
    elif arch in NARROW:
        model = NARROW[arch]()
    elif arch.startswith("timm:"):
        import timm  # optional: only for --arch timm:NAME

        model = timm.create_model(arch[len("timm:"):].split("@")[0], pretrained=False, num_classes=10)
    else:
        extra = {"init_weights": False} if arch in ("googlenet", "inception_v3") else {}
        model = getattr(torchvision.models, arch)(weights=None, num_classes=10, **extra, **kwargs)
    randomize_batchnorm(model, seed)
    return model.eval()


def randomize_batchnorm(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial BN statistics: a fold into the Conv changes the weights for real."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)


@dataclass
class Reference:
    """The official GAIA-Z of one batch, and what explains a differing zero ratio."""

    gaia_z: Optional[np.ndarray]  # None: the model has no BatchNorm
    ratios: List[np.ndarray]  # (B, C) per tap, forward order
    logits: np.ndarray
    grads: List[np.ndarray] = field(default_factory=list)  # per tap, in the tap's own layout
    tap_shapes: List[tuple] = field(default_factory=list)  # NCHW
    relu_inputs: List[torch.Tensor] = field(default_factory=list)


def official_gaia_z(model: torch.nn.Module, x: torch.Tensor, kind: str = "bn") -> Reference:
    """GAIA-Z at the official taps (see the module doc).

    The taps are recorded where the normalisation is computed: every call of
    F.batch_norm on a feature map ("bn"; nn.BatchNorm2d and modules that fuse a BN with its
    activation, like timm's BatchNormAct2d, all call it), or of F.layer_norm ("layernorm";
    nn.LayerNorm and ConvNeXt's LayerNorm2d, which normalises a channels-last permutation).
    That is the BN's output before any activation, as the official hooks see it on models
    without fused modules. The recorded tensor's clone goes downstream, so an in-place op
    after it (ReLU(inplace=True), x[:, :c] += y) cannot change what was recorded."""
    taps: List[torch.Tensor] = []
    channels_last: List[bool] = []
    relu_inputs: List[torch.Tensor] = []
    functional = torch.nn.functional
    original = {"bn": functional.batch_norm, "layernorm": functional.layer_norm}[kind]

    def recording(*args, **kwargs):
        y = original(*args, **kwargs)
        if y.dim() != 4:
            return y
        taps.append(y)
        # layer_norm normalises the trailing axes: on a 4-D tensor, the channels are last.
        channels_last.append(kind == "layernorm")
        return y.clone()

    # Inputs of the ReLU-family modules, to explain a zero ratio that differs (see compare).
    handles = [m.register_forward_hook(lambda mod, i, o: relu_inputs.append(i[0].detach()))
               for m in model.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.Hardtanh))]
    setattr(functional, original.__name__, recording)
    try:
        with torch.enable_grad():
            xg = x.detach().clone().requires_grad_(True)
            y = model(xg)
            if not taps:  # no BatchNorm: the compiler must refuse the default taps
                return Reference(None, [], y.detach().numpy())
            grads = torch.autograd.grad(y.max(1)[0].sum(), taps)
    finally:
        setattr(functional, original.__name__, original)
        for h in handles:
            h.remove()
    ratios = []
    for g, last in zip(grads, channels_last):
        if last:
            g = g.permute(0, 3, 1, 2)
        ratios.append(((g != 0).sum(dim=(2, 3)).double() / (g.shape[2] * g.shape[3])).numpy())
    r = np.concatenate(ratios, axis=1)
    return Reference(
        gaia_z=(r * r).mean(axis=1),
        ratios=ratios,
        logits=y.detach().numpy(),
        grads=[g.detach().numpy() for g in grads],
        tap_shapes=[tuple(t.permute(0, 3, 1, 2).shape if last else t.shape) for t, last in zip(taps, channels_last)],
        relu_inputs=relu_inputs,
    )


# How each export is written. "*-default" are torch.onnx.export's defaults exactly: the batch
# of the example input (1) fixed in the graph, which the compiler makes dynamic; the others
# declare a dynamic batch, as the docs recommend for batch inference.
EXPORTERS = {
    "torchscript-default": dict(dynamo=False),
    "dynamo-default": dict(),
    "torchscript": dict(dynamo=False, input_names=["input"], dynamic_axes={"input": {0: "batch"}}),
    "dynamo": dict(dynamic_shapes=({0: torch.export.Dim("batch")},)),
}


def export(model: torch.nn.Module, x: torch.Tensor, folder: str, variants: List[str]) -> Dict[str, str]:
    paths = {}
    for v in variants:
        os.makedirs(os.path.join(folder, v), exist_ok=True)
        paths[v] = os.path.join(folder, v, "model.onnx")
        example = x[:1] if v.endswith("-default") else x
        torch.onnx.export(model, (example,), paths[v], **EXPORTERS[v])
    return paths


def compile_model(path: str, out: str, taps: str = "bn") -> Dict[str, object]:
    cmd = ["node", os.path.join(ROOT, "bin", "gaia-sentinel.js"), "compile", "--model", path, "--out", out,
           "--taps", taps, "--heads", "logits,gaia_z,gaia_z_ratios", "--debug"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return {"ok": p.returncode == 0, "seconds": round(time.time() - t0, 1),
            "stdout": p.stdout, "stderr": p.stderr.strip().splitlines()[-1:] if p.returncode else []}


def count_taps(stdout: str) -> int:
    for line in stdout.splitlines():
        if line.startswith("taps ("):
            return int(line[len("taps ("):].split(")")[0])
    return 0


def compare(compiled: str, x: np.ndarray, ref: Reference):
    sess = ort.InferenceSession(compiled, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    logits, z, ratios = sess.run(["logits", "gaia_z", "gaia_z_ratios"], {name: x})
    # Gradient values at every tap (--debug outputs), relative to each tap's own scale: where
    # the ratios are all 1 (SiLU, GELU, LayerNorm nets) the values are what tells.
    grad_names = sorted((o.name for o in sess.get_outputs() if o.name.startswith("debug/grad/")), key=lambda n: int(n.split("/")[-1]))
    grads = sess.run(grad_names, {name: x}) if len(grad_names) == len(ref.grads) else []
    grad_err = max((float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) for a, b in zip(grads, ref.grads)), default=float("nan"))
    (z1,) = sess.run(["gaia_z"], {name: x[:1]})
    ref_all = np.concatenate(ref.ratios, axis=1)
    differing, explained = -1, 0
    if ratios.shape == ref_all.shape:
        diff = np.argwhere(np.abs(ratios.astype(np.float64) - ref_all) > 1e-7)
        differing = len(diff)
        explained = sum(explain(ref, int(b), int(k), abs(float(ratios[b, k]) - ref_all[b, k])) for b, k in diff)
    return {
        "gaia_z_rel_err": float(np.max(np.abs(z.astype(np.float64) - ref.gaia_z) / np.abs(ref.gaia_z))),
        "batch1_rel_err": float(abs(float(z1[0]) - float(z[0])) / abs(float(z[0]))),
        "logits_rel_err": float(np.abs(logits - ref.logits).max() / np.abs(ref.logits).max()),
        "grad_rel_err": grad_err,
        "ratios_differing": differing,
        "ratios_explained": explained,
        "ratios_total": int(ref_all.size),
    }


def explain(ref: Reference, b: int, k: int, delta: float) -> bool:
    """A differing ratio is explained as in the parity test: some ReLU input shaped like the
    tap (the tap itself, or the residual sum it feeds) has, in that sample and channel, at
    least as many values within float32 rounding of zero (1e-5 of its scale) as positions differ."""
    shapes = ref.tap_shapes
    offset = 0
    for shape in shapes:
        if k < offset + shape[1]:
            break
        offset += shape[1]
    c = k - offset
    area = int(np.prod(shape[2:]))
    positions = round(delta * area)
    for v in ref.relu_inputs:
        if tuple(v.shape) != shape:
            continue
        scale = float(v[b].abs().max())
        if int((v[b, c].abs() <= 1e-5 * scale).sum()) >= positions:
            return True
    return False


def run_arch(arch: str, work: str, batch: int, variants: List[str], **kwargs) -> Dict[str, object]:
    size, taps, kind = BYOM.get(arch, (32 if arch in NARROW else SIZE.get(arch, 64), "bn", "bn"))
    if arch.startswith("timm:"):
        size = int(arch.split("@")[1]) if "@" in arch else 64
    model = build(arch, **kwargs)
    x = torch.randn((batch, 3, size, size), generator=torch.Generator().manual_seed(1234))
    ref = official_gaia_z(model, x, kind)
    folder = os.path.join(work, arch.replace(":", "_").replace("@", "_"))
    shutil.rmtree(folder, ignore_errors=True)
    paths = export(model, x, folder, variants)
    row: Dict[str, object] = {"arch": arch, "input": [3, size, size], "taps_spec": taps, "hooks": len(ref.ratios), "exporters": variants,
                              "params": sum(p.numel() for p in model.parameters())}
    for exporter, path in paths.items():
        out = os.path.join(os.path.dirname(path), "model.gaia.onnx")
        c = compile_model(path, out, taps)
        res: Dict[str, object] = {"compiled": c["ok"], "compile_s": c["seconds"], "taps": count_taps(str(c["stdout"]))}
        if ref.gaia_z is None:
            # No BatchNorm in the model: the default taps must be refused, naming --taps.
            res["refused_as_expected"] = not c["ok"] and "GAIA_BAD_TAPS" in " ".join(c["stderr"])
            res["error"] = c["stderr"]
        elif c["ok"]:
            res.update(compare(out, x.numpy(), ref))
        else:
            res["error"] = c["stderr"]
        row[exporter] = res
    row["_fixture"] = {"x": x.numpy(), "gaia_z": ref.gaia_z, "grads": ref.grads, "ratios": np.concatenate(ref.ratios, axis=1) if ref.ratios else None,
                       "logits": ref.logits, "folder": folder, "taps": taps}
    return row


def write_fixture(row: Dict[str, object], dest: str) -> None:
    """One CI fixture: both exports as torch wrote them, the input, the official scores."""
    fx = row["_fixture"]
    out = os.path.join(dest, str(row["arch"]).replace(":", "_"))
    shutil.rmtree(out, ignore_errors=True)
    for exporter in row["exporters"]:
        os.makedirs(os.path.join(out, exporter))
        src = os.path.join(fx["folder"], exporter)
        for name in os.listdir(src):
            if name.startswith("model.onnx"):
                shutil.copy(os.path.join(src, name), os.path.join(out, exporter, name))
    np.save(os.path.join(out, "input.npy"), fx["x"].astype(np.float32))
    np.save(os.path.join(out, "gaia_z.npy"), fx["gaia_z"].astype(np.float32))
    np.save(os.path.join(out, "ratios.npy"), fx["ratios"].astype(np.float32))
    np.save(os.path.join(out, "logits.npy"), fx["logits"].astype(np.float32))
    meta = {k: v for k, v in row.items() if not k.startswith("_")}
    # The pattern nets are small enough to keep every tap's gradient (in the tap's own
    # layout): where ratios are all 1 (SiLU, GELU, attention), values are what tells.
    if row["arch"] in byom_archs.ARCHS:
        for i, g in enumerate(fx["grads"]):
            np.save(os.path.join(out, f"grad_{i}.npy"), g.astype(np.float32))
        meta["grads"] = len(fx["grads"])
    meta["torch"] = torch.__version__
    meta["torchvision"] = torchvision.__version__
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)


def markdown(rows: List[Dict[str, object]]) -> str:
    lines = [
        "| architecture | input | BN hooks | exporter | taps | GAIA-Z max rel. err | tap gradients max err | batch-1 rel. err | ratios differing (explained) / all |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['arch']} | | | | | not exported: {r['failed']} | | | |")
        for exp in r["exporters"]:
            e = r[exp]
            if "refused_as_expected" in e:
                verdict = "refused as it must (no BatchNorm)" if e["refused_as_expected"] else "NOT refused"
                lines.append(f"| {r['arch']} | {'x'.join(map(str, r['input']))} | 0 | {exp} | — | {verdict}: {' '.join(e['error'])[:160]} | | | |")
                continue
            if not e["compiled"]:
                lines.append(f"| {r['arch']} | {'x'.join(map(str, r['input']))} | {r['hooks']} | {exp} | — | failed: {' '.join(e['error'])} | | | |")
                continue
            lines.append(
                f"| {r['arch']} | {'x'.join(map(str, r['input']))} | {r['hooks']} | {exp} | {e['taps']} | "
                f"{e['gaia_z_rel_err']:.1e} | {e['grad_rel_err']:.1e} | {e['batch1_rel_err']:.1e} | {e['ratios_differing']} ({e['ratios_explained']}) / {e['ratios_total']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", help="architecture (repeatable); default: the whole zoo and the public patterns")
    ap.add_argument("--work", default="/tmp/gaia-zoo", help="folder for exports and compiled graphs")
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--report", help="write the JSON rows here (and a Markdown table beside it, .md)")
    ap.add_argument("--exporters", help="comma-separated export variants (default: torchscript-default,dynamo-default); see EXPORTERS")
    ap.add_argument("--fixtures", help="write CI fixtures of the architectures run into this folder (default set: CI_FIXTURES)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    rows = []
    default = CI_FIXTURES if args.fixtures else ZOO + list(BYOM)
    for arch in args.arch or default:
        t0 = time.time()
        variants = args.exporters.split(",") if args.exporters else ["torchscript-default", "dynamo-default"]
        if args.fixtures:
            variants = ["torchscript", "dynamo"] + (variants if arch in FIXTURES_WITH_DEFAULT_EXPORTS else [])
        try:
            row = run_arch(arch, args.work, args.batch, variants)
        except Exception as err:  # an export or reference failure: report it, go on with the rest
            rows.append({"arch": arch, "failed": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}", "exporters": []})
            print(json.dumps(rows[-1]), flush=True)
            continue
        if args.fixtures:
            write_fixture(row, args.fixtures)
        row.pop("_fixture")
        rows.append(row)
        print(json.dumps(row), f"({time.time() - t0:.0f} s)", flush=True)
    table = markdown(rows)
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rows, f, indent=1)
        with open(os.path.splitext(args.report)[0] + ".md", "w") as f:
            f.write(table)
    ok = all("failed" not in r for r in rows) and all(r[e].get("refused_as_expected") or r[e]["compiled"] and r[e]["gaia_z_rel_err"] <= 1e-5 and r[e]["taps"] == r["hooks"]
             and r[e]["ratios_differing"] == r[e]["ratios_explained"]
             for r in rows for e in r["exporters"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
