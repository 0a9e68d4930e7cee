"""Generate the GAIA parity fixtures in test/fixtures/parity/<arch>/.

    /usr/bin/python3 tools/reference/make_fixtures.py [--arch NAME ...] [--no-ort]

Seeded and idempotent (re-running rewrites byte-identical files). For every architecture
in architectures.PARITY_ARCHITECTURES it writes:

    model.onnx          eval model, BatchNormalization kept as nodes (TrainingMode.PRESERVE,
                        do_constant_folding=False)
    model.folded.onnx   the usual export (eval, default constant folding): BN after a Conv
                        is folded into that Conv
    input.npy           (B,C,H,W) float32, seeded standard normal, B=4
    logits.npy, msp.npy, energy.npy, gaia_z.npy, gaia_a.npy, gaia_a_o.npy
                        (pre-softmax logits, also for op_zoo whose graph output is a Softmax)
    grad_<l>.npy        (B,C,H,W) GAIA-Z seed gradient at tap l (forward order)
    ratio_<l>.npy       (B,C) fraction of non-zero gradient positions at tap l
    expected.json       metadata: taps, ONNX node mapping, shapes, cross-checks

Checks performed (the script fails loudly if one does not hold):
  * onnx.checker on both exports, IR version <= 13, BN nodes present in model.onnx,
  * every tap maps to exactly one ONNX node in each export; a folded Conv's weight/bias
    equal the Conv+BN fold computed from the PyTorch parameters,
  * float32 vs float64 PyTorch scores (noise floor), and the float32 scores of a PyTorch
    model folded the same way as model.folded.onnx,
  * op_zoo only: every op it is meant to cover (with its flavour: LeakyRelu alpha 0.1,
    Sub/Div by a constant, broadcast Mul of two activations, Pad then a padding-0 Conv,
    step-1 Slices, stride-2 Conv on an even size, dilated and grouped Convs, ...) lies
    between the first tap and the Softmax input, in both exports,
  * (unless --no-ort or node/onnxruntime-node are missing) both exports are run with
    onnxruntime-node and logits, every tap tensor, the last feature map and the
    penultimate features are compared with PyTorch.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import architectures as A  # noqa: E402
import gaia_reference as G  # noqa: E402

OUT_ROOT = os.path.join(REPO, "test", "fixtures", "parity")
OPSET = 17
BATCH = 4
MODEL_SEED = 0
INPUT_SEED = 1234
KEPT = "model.onnx"
FOLDED = "model.folded.onnx"


# ----------------------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------------------


def export(model: nn.Module, x: torch.Tensor, keep_bn: bool) -> bytes:
    f = io.BytesIO()
    kwargs = dict(
        opset_version=OPSET,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    if keep_bn:
        # PRESERVE with an eval-mode model skips the eval peephole (Conv+BN fusion) and
        # emits BatchNormalization(training_mode=0); no constant folding keeps param names.
        kwargs.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, f, **kwargs)
    assert not model.training
    return f.getvalue()


class Graph:
    def __init__(self, proto: onnx.ModelProto):
        self.proto = proto
        self.nodes = list(proto.graph.node)
        self.inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.by_name = {}
        for n in self.nodes:
            assert n.name not in self.by_name, f"duplicate node name {n.name}"
            self.by_name[n.name] = n

    def bn_for_module(self, module: str):
        hits = [n for n in self.nodes if n.op_type == "BatchNormalization" and n.input[1] == module + ".weight"]
        assert len(hits) <= 1
        return hits[0] if hits else None

    def op_types(self):
        return sorted({n.op_type for n in self.nodes})

    def count(self, op):
        return sum(1 for n in self.nodes if n.op_type == op)

    def single(self, op):
        hits = [n for n in self.nodes if n.op_type == op]
        assert len(hits) == 1, (op, len(hits))
        return hits[0]


def check_model(data: bytes) -> onnx.ModelProto:
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    assert proto.ir_version <= 13, proto.ir_version
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    dim0 = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "batch", dim0
    return proto


def map_taps(model: nn.Module, res: G.GaiaResult, kept: Graph, folded: Graph):
    """Tap -> ONNX node in both exports; also returns (conv module, bn module) fold pairs."""
    bn_mods = dict(model.named_modules())
    taps_json, fold_pairs = [], []
    for tap, inner in zip(res.taps, res.inner):
        bn = bn_mods[tap.module]
        kbn = kept.bn_for_module(tap.module)
        assert kbn is not None, f"no BatchNormalization for {tap.module} in {KEPT}"
        entry = {
            "index": tap.index,
            "module": tap.module,
            "shape": list(tap.shape),
            "onnx_node": {KEPT: kbn.name},
            "onnx_output": {KEPT: kbn.output[0]},
            "gaia_a_inner": bool(inner),
        }
        fbn = folded.bn_for_module(tap.module)
        if fbn is not None:
            entry["onnx_node"][FOLDED] = fbn.name
            entry["onnx_output"][FOLDED] = fbn.output[0]
            entry["folded_into_conv"] = False
            prod = kept.producer.get(kbn.input[0])
            entry["bn_input_producer"] = prod.op_type if prod is not None else "graph input"
        else:
            conv = kept.producer[kbn.input[0]]
            assert conv.op_type == "Conv", (tap.module, conv.op_type)
            fconv = folded.by_name.get(conv.name)
            assert fconv is not None and fconv.op_type == "Conv", (tap.module, conv.name)
            conv_module = conv.input[1][: -len(".weight")]
            assert conv.input[1] == conv_module + ".weight"
            # numeric proof that this Conv absorbed this BN
            w = kept.inits[conv.input[1]].astype(np.float64)
            b = kept.inits[conv.input[2]].astype(np.float64) if len(conv.input) > 2 else np.zeros(w.shape[0])
            gamma = bn.weight.detach().double().numpy()
            beta = bn.bias.detach().double().numpy()
            mean = bn.running_mean.double().numpy()
            var = bn.running_var.double().numpy()
            scale = gamma / np.sqrt(var + bn.eps)
            assert len(fconv.input) == 3, "folded conv without bias"
            fw = folded.inits[fconv.input[1]]
            fb = folded.inits[fconv.input[2]]
            np.testing.assert_allclose(fw, w * scale[:, None, None, None], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(fb, (b - mean) * scale + beta, rtol=1e-5, atol=1e-5)
            entry["onnx_node"][FOLDED] = fconv.name
            entry["onnx_output"][FOLDED] = fconv.output[0]
            entry["folded_into_conv"] = True
            entry["folded_conv"] = {
                "module": conv_module,
                "original_weight": conv.input[1],
                "original_bias": conv.input[2] if len(conv.input) > 2 else None,
                "folded_weight": fconv.input[1],
                "folded_bias": fconv.input[2],
            }
            fold_pairs.append((conv_module, tap.module))
        taps_json.append(entry)
    # nothing else disappeared or stayed unexpectedly
    stayed = sum(1 for t in taps_json if not t["folded_into_conv"])
    assert folded.count("BatchNormalization") == stayed
    assert kept.count("BatchNormalization") == len(taps_json)
    return taps_json, fold_pairs


def conv_naming_report(kept: Graph, folded: Graph, taps_json):
    """How Convs look in the folded export, folded or not."""
    folded_names = {t["onnx_node"][FOLDED] for t in taps_json if t["folded_into_conv"]}
    rows = []
    for n in folded.nodes:
        if n.op_type != "Conv":
            continue
        k = kept.by_name.get(n.name)
        rows.append(
            {
                "node": n.name,
                "absorbed_bn": n.name in folded_names,
                "weight": n.input[1],
                "bias": n.input[2] if len(n.input) > 2 else None,
                "bias_in_unfolded_export": (len(k.input) > 2) if k is not None else None,
            }
        )
    # the rule observed with torch 1.13: folded <=> initializers renamed to onnx::Conv_<n>
    for r in rows:
        renamed = r["weight"].startswith("onnx::") and (r["bias"] or "").startswith("onnx::")
        assert renamed == r["absorbed_bn"], r
        if r["absorbed_bn"]:
            assert r["bias"] is not None
    return rows


# ----------------------------------------------------------------------------------------
# PyTorch model folded like the ONNX export (how much do scores move?)
# ----------------------------------------------------------------------------------------


def _set_module(root: nn.Module, qualname: str, new: nn.Module):
    parent_name, _, child = qualname.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def torch_folded(model: nn.Module, fold_pairs):
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval()
    for conv_name, bn_name in fold_pairs:
        fused = fuse_conv_bn_eval(m.get_submodule(conv_name), m.get_submodule(bn_name))
        _set_module(m, conv_name, fused)
        _set_module(m, bn_name, G.TapIdentity())
    return m.eval()


def folded_crosscheck(model, fold_pairs, x, res):
    mf = torch_folded(model, fold_pairs)
    rf = G.gaia_scores(mf, x)
    assert [t.module for t in rf.taps] == [t.module for t in res.taps]
    return {
        "gaia_z_max_rel_err": G.max_rel_err(rf.gaia_z, res.gaia_z),
        "gaia_a_max_rel_err": G.max_rel_err(rf.gaia_a, res.gaia_a),
        "logits_max_abs_err": float((rf.logits - res.logits).abs().max()),
        "zero_mask_mismatches": int(sum(int(((a != 0) != (b != 0)).sum()) for a, b in zip(rf.grads, res.grads))),
    }


# ----------------------------------------------------------------------------------------
# onnxruntime-node check
# ----------------------------------------------------------------------------------------


def ort_available() -> bool:
    return shutil.which("node") is not None and os.path.isdir(os.path.join(REPO, "node_modules", "onnxruntime-node"))


def with_outputs(proto: onnx.ModelProto, names) -> bytes:
    p = copy.deepcopy(proto)
    existing = {o.name for o in p.graph.output}
    for n in names:
        if n not in existing:
            p.graph.output.append(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None))
            existing.add(n)
    return p.SerializeToString()


def ort_check(cases):
    """cases: list of (arch, file, proto, x, {tensor name: reference array})."""
    tmp = tempfile.mkdtemp(prefix="gaia_ort_")
    try:
        manifest = []
        for k, (arch, fname, proto, x, refs) in enumerate(cases):
            mpath = f"m{k}.onnx"
            with open(os.path.join(tmp, mpath), "wb") as f:
                f.write(with_outputs(proto, list(refs)))
            np.ascontiguousarray(x, dtype="<f4").tofile(os.path.join(tmp, f"in{k}.bin"))
            outs = []
            for j, (name, arr) in enumerate(refs.items()):
                np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(tmp, f"ref{k}_{j}.bin"))
                outs.append({"name": name, "file": f"ref{k}_{j}.bin"})
            manifest.append(
                {"id": f"{arch}/{fname}", "model": mpath, "input": {"file": f"in{k}.bin", "shape": list(x.shape)}, "outputs": outs}
            )
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        proc = subprocess.run(
            ["node", os.path.join(HERE, "ort_check.mjs"), tmp], cwd=REPO, capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            raise RuntimeError(f"ort_check.mjs failed:\n{proc.stderr}")
        report = {}
        for line in proc.stdout.splitlines():
            r = json.loads(line)
            worst = 0.0
            for o in r["results"]:
                assert "error" not in o, (r["id"], o)
                rel = o["max_abs"] / max(o["ref_max_abs"], 1e-12)
                assert rel < 1e-4, (r["id"], o)
                worst = max(worst, rel)
            report[r["id"]] = {"tensors": len(r["results"]), "max_err_rel_to_range": worst}
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------
# op_zoo: which ops lie between the first tap and the logits
# ----------------------------------------------------------------------------------------


def softmax_input(g: Graph):
    """For a model whose output is a final Softmax: the Softmax's input (the logits)."""
    sm = g.producer["logits"]
    assert sm.op_type == "Softmax", sm.op_type
    return sm.input[0]


def nodes_between(g: Graph, src: str, dst: str):
    """Nodes that read (transitively) from tensor src and that tensor dst depends on, in
    graph order (the producer of src excluded)."""
    down = {src}
    for n in g.nodes:
        if any(i in down for i in n.input):
            down.update(n.output)
    down.discard(src)
    up = {dst}
    for n in reversed(g.nodes):
        if any(o in up for o in n.output):
            up.update(i for i in n.input if i)
    return [n for n in g.nodes if any(o in down for o in n.output) and any(o in up for o in n.output)]


# ops op_zoo must place between its first tap and its logits (in both exports)
OP_ZOO_REQUIRED = [
    "LeakyRelu", "HardSigmoid", "HardSwish", "Tanh", "Sub", "Div", "Mul", "Add", "Identity",
    "Pad", "Slice", "Split", "Concat", "Transpose", "MatMul", "Shape", "Gather", "Unsqueeze",
    "Squeeze", "Reshape", "MaxPool", "Conv", "ReduceMean", "Dropout", "GlobalAveragePool", "Gemm",
]


def conv_input_shapes(model: nn.Module, x: torch.Tensor):
    """PyTorch-side input shape of every Conv2d module (onnx shape inference cannot see
    past a Pad whose pads are computed, as torch exports F.pad)."""
    shapes, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_pre_hook(lambda mod, i, name=name: shapes.__setitem__(name, list(i[0].shape))))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return shapes


def op_zoo_coverage(proto: onnx.ModelProto, g: Graph, first_tap: str, conv_in):
    """Checks that every required op (with the required flavour) lies between the first tap
    and the logits; returns {op type: [node names]} for those nodes. conv_in: PyTorch input
    shape per Conv module (node "/<module>/Conv")."""
    logits = softmax_input(g)
    between = nodes_between(g, first_tap, logits)
    cov = {}
    for n in between:
        cov.setdefault(n.op_type, []).append(n.name)
    missing = [op for op in OP_ZOO_REQUIRED if op not in cov]
    assert not missing, f"ops missing between the first tap and the logits: {missing}"
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]
    for name, arr in g.inits.items():
        shapes[name] = list(arr.shape)
    attrs = lambda n: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}  # noqa: E731
    const = lambda t: g.inits.get(t) if t in g.inits else (  # noqa: E731
        numpy_helper.to_array(attrs(g.producer[t])["value"]) if t in g.producer and g.producer[t].op_type == "Constant" else None
    )
    is_act = lambda t: const(t) is None  # noqa: E731
    found = {k: False for k in (
        "leaky_0.1", "sub_const", "div_const", "mul_bcast_acts", "add_param_11", "pad_then_conv_p0",
        "slice_spatial", "slice_channel", "conv_s2_even", "conv_dil2", "conv_group2", "maxpool_2",
        "matmul_const", "squeeze", "unsqueeze",
    )}
    for n in between:
        a = attrs(n)
        if n.op_type == "LeakyRelu" and abs(a["alpha"] - 0.1) < 1e-7:
            found["leaky_0.1"] = True
        if n.op_type == "Sub" and is_act(n.input[0]) and not is_act(n.input[1]):
            found["sub_const"] = True
        if n.op_type == "Div" and is_act(n.input[0]) and not is_act(n.input[1]):
            found["div_const"] = True
        if n.op_type == "Mul" and all(is_act(i) for i in n.input):
            s0, s1 = shapes[n.input[0]], shapes[n.input[1]]
            if s0 != s1 and len(s0) == len(s1) == 4:
                found["mul_bcast_acts"] = True
        if n.op_type == "Add" and any(shapes.get(i) == [1, shapes[n.output[0]][1], 1, 1] and i in g.inits for i in n.input):
            found["add_param_11"] = True
        if n.op_type == "Pad" and a.get("mode", b"constant") == b"constant":
            nxt = g.consumers[n.output[0]]
            if len(nxt) == 1 and nxt[0].op_type == "Conv" and list(attrs(nxt[0])["pads"]) == [0, 0, 0, 0]:
                found["pad_then_conv_p0"] = True
        if n.op_type == "Slice":
            axes, steps = const(n.input[3]).tolist(), const(n.input[4]).tolist()
            assert steps == [1] * len(steps), (n.name, steps)
            if axes == [1]:
                found["slice_channel"] = True
            if set(axes) & {2, 3}:
                found["slice_spatial"] = True
        if n.op_type == "Conv":
            xin = conv_in[n.name.split("/")[-2]]
            if list(a["strides"]) == [2, 2] and all(d % 2 == 0 for d in xin[2:]):
                found["conv_s2_even"] = True
            if list(a["dilations"]) == [2, 2]:
                found["conv_dil2"] = True
            if a["group"] == 2 and xin[1] != 2:
                found["conv_group2"] = True
        if n.op_type == "MaxPool" and list(a["kernel_shape"]) == [2, 2] and list(a["strides"]) == [2, 2]:
            found["maxpool_2"] = True
        if n.op_type == "MatMul" and is_act(n.input[0]) and (n.input[1] in g.inits or g.producer[n.input[1]].input[0] in g.inits):
            found["matmul_const"] = True
        if n.op_type in ("Squeeze", "Unsqueeze") and is_act(n.input[0]) and len(shapes[n.input[0]]) >= 2:
            found[n.op_type.lower()] = True
    assert all(found.values()), {k: v for k, v in found.items() if not v}
    return {op: cov[op] for op in sorted(cov)}


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------


def save(path, arr):
    arr = np.ascontiguousarray(arr)
    assert arr.dtype == np.float32
    np.save(path, arr.astype("<f4", copy=False))


def make_one(arch: str, ort_cases: list):
    out = os.path.join(OUT_ROOT, arch)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    model = A.build(arch, seed=MODEL_SEED)
    shape = A.input_shape(arch)
    x = torch.randn((BATCH, *shape), generator=torch.Generator().manual_seed(INPUT_SEED))

    res = G.gaia_scores(model, x)
    cc64 = G.crosscheck(model, x)

    kept_bytes = export(model, x, keep_bn=True)
    folded_bytes = export(model, x, keep_bn=False)
    kept_p, folded_p = check_model(kept_bytes), check_model(folded_bytes)
    kept, folded = Graph(kept_p), Graph(folded_p)
    assert kept.count("BatchNormalization") > 0
    assert folded.count("BatchNormalization") < kept.count("BatchNormalization")
    with open(os.path.join(out, KEPT), "wb") as f:
        f.write(kept_bytes)
    with open(os.path.join(out, FOLDED), "wb") as f:
        f.write(folded_bytes)

    taps_json, fold_pairs = map_taps(model, res, kept, folded)
    conv_rows = conv_naming_report(kept, folded, taps_json)
    ccf = folded_crosscheck(model, fold_pairs, x, res)

    save(os.path.join(out, "input.npy"), x.numpy())
    save(os.path.join(out, "logits.npy"), res.logits.numpy())
    save(os.path.join(out, "gaia_z.npy"), res.gaia_z.numpy())
    save(os.path.join(out, "gaia_a.npy"), res.gaia_a.numpy())
    save(os.path.join(out, "gaia_a_o.npy"), res.gaia_a_o.numpy())
    save(os.path.join(out, "msp.npy"), res.msp.numpy())
    save(os.path.join(out, "energy.npy"), res.energy.numpy())
    for l, (g, r) in enumerate(zip(res.grads, res.ratios)):
        save(os.path.join(out, f"grad_{l}.npy"), g.numpy())
        save(os.path.join(out, f"ratio_{l}.npy"), r.numpy())

    def gaia_a_tensors(g: Graph):
        gap = g.single("GlobalAveragePool")
        gemm = g.single("Gemm")
        return {"last_feature_map": gap.input[0], "penultimate": gemm.input[0]}

    expected = {
        "arch": arch,
        "input_shape": [BATCH, *shape],
        "num_classes": int(res.logits.shape[1]),
        "opset": OPSET,
        "ir_version": {KEPT: kept_p.ir_version, FOLDED: folded_p.ir_version},
        "seeds": {"model": MODEL_SEED, "input": INPUT_SEED},
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "taps": taps_json,
        "gaia_a": {
            "last_feature_map_shape": list(res.last_feature_map_shape),
            "penultimate_shape": list(res.penultimate_shape),
            "inner_taps": [t["index"] for t in taps_json if t["gaia_a_inner"]],
            "spatial_sizes_in_order": [
                list(hw) for hw in dict.fromkeys((t["shape"][2], t["shape"][3]) for t in taps_json)
            ],
            "onnx_tensors": {KEPT: gaia_a_tensors(kept), FOLDED: gaia_a_tensors(folded)},
        },
        "bn_nodes": {KEPT: kept.count("BatchNormalization"), FOLDED: folded.count("BatchNormalization")},
        "onnx_op_types": {KEPT: kept.op_types(), FOLDED: folded.op_types()},
        "folded_convs": conv_rows,
        "folded_conv_rule": (
            "In model.folded.onnx (torch 1.13 eval peephole) a Conv that absorbed a BatchNormalization has "
            "both its weight and bias initializers renamed to 'onnx::Conv_<n>' and always has a bias input; "
            "Convs that did not absorb a BN keep their parameter names ('<module>.weight', '<module>.bias'). "
            "The Conv node keeps the Conv module's scope name (e.g. /layer1/layer1.0/conv1/Conv); the BN module "
            "name does not appear anywhere in the folded graph."
        ),
        "float64_crosscheck": {k: cc64[k] for k in ("gaia_z_max_rel_err", "gaia_a_max_rel_err")},
        "float64_crosscheck_details": cc64,
        "torch_folded_crosscheck": ccf,
    }
    if getattr(model, "output_is_softmax", False):
        # The graph output "logits" holds softmax probabilities; logits.npy and every score
        # use the Softmax input (the pre-softmax logits), as the compiler does.
        expected["output_is_softmax"] = True
        expected["softmax_input"] = {KEPT: softmax_input(kept), FOLDED: softmax_input(folded)}
        expected["ops_between_first_tap_and_logits"] = {
            fname: op_zoo_coverage(proto, g, taps_json[0]["onnx_output"][fname], conv_input_shapes(model, x))
            for fname, proto, g in ((KEPT, kept_p, kept), (FOLDED, folded_p, folded))
        }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    # onnxruntime-node comparison of every tap tensor (forward values), logits, GAIA-A tensors
    for fname, proto, g in ((KEPT, kept_p, kept), (FOLDED, folded_p, folded)):
        if expected.get("output_is_softmax"):
            refs = {
                "logits": torch.softmax(res.logits, dim=1).numpy(),
                expected["softmax_input"][fname]: res.logits.numpy(),
            }
        else:
            refs = {"logits": res.logits.numpy()}
        for t, v in zip(taps_json, res.extra["tap_values"]):
            refs[t["onnx_output"][fname]] = v.numpy()
        ga = gaia_a_tensors(g)
        refs[ga["last_feature_map"]] = res.extra["last_feature_map"].numpy()
        refs[ga["penultimate"]] = res.extra["penultimate"].numpy()
        ort_cases.append((arch, fname, proto, x.numpy(), refs))

    size = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    assert size < 1.5e6, (arch, size)
    print(
        f"{arch:18s} taps={len(taps_json):2d} inner={sum(t['gaia_a_inner'] for t in taps_json):2d} "
        f"BN kept/folded={kept.count('BatchNormalization')}/{folded.count('BatchNormalization')} "
        f"ir={kept_p.ir_version}/{folded_p.ir_version} size={size / 1e6:.3f}MB\n"
        f"    gaia_z={np.round(res.gaia_z.numpy(), 5).tolist()} gaia_a={np.round(res.gaia_a.numpy(), 5).tolist()} "
        f"msp={np.round(res.msp.numpy(), 3).tolist()}\n"
        f"    float64: {cc64}\n    torch-folded: {ccf}"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", choices=A.PARITY_ARCHITECTURES)
    ap.add_argument("--no-ort", action="store_true", help="skip the onnxruntime-node comparison")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, numpy {np.__version__}")
    cases = []
    for arch in args.arch or A.PARITY_ARCHITECTURES:
        make_one(arch, cases)
    if args.no_ort:
        print("onnxruntime-node check skipped (--no-ort)")
    elif not ort_available():
        print("onnxruntime-node check skipped (node or node_modules/onnxruntime-node missing)")
    else:
        for k, v in ort_check(cases).items():
            print(f"ort {k:32s} {v}")


if __name__ == "__main__":
    main()
