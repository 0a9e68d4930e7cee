"""RankFeat's power iteration (the compiled graph) against an exact SVD, on a real model and
real frames: the relative error of the score, and of the removed rank-1 component.

    node bin/gaia-sentinel.js compile --model models/fmnist-resnet18/model.onnx \\
      --out /tmp/rankfeat.gaia.onnx --heads logits,rankfeat
    /opt/torchenv/bin/python tools/reference/rankfeat_error.py /tmp/rankfeat.gaia.onnx \\
      models/fmnist-resnet18/model.onnx data/sets/fmnist-eval data/sets/noise
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def idx_images(folder: str, n: int) -> np.ndarray:
    raw = open(os.path.join(folder, "images-idx3-ubyte"), "rb").read()
    count = int.from_bytes(raw[4:8], "big")
    x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, 1, 28, 28)[:n].astype(np.float32)
    return (x / 255.0 - 0.286) / 0.353


def main() -> None:
    compiled, plain, *sets = sys.argv[1:]
    m = onnx.load(plain)
    pool = next(n for n in m.graph.node if n.op_type == "GlobalAveragePool")
    gemm = next(n for n in m.graph.node if n.op_type == "Gemm")
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    w, b = inits[gemm.input[1]], inits[gemm.input[2]]
    m.graph.output.append(helper.make_tensor_value_info(pool.input[0], onnx.TensorProto.FLOAT, None))
    plain_s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    comp_s = ort.InferenceSession(compiled, providers=["CPUExecutionProvider"])
    for folder in sets:
        x = idx_images(folder, 512)
        fm = plain_s.run([pool.input[0]], {"input": x})[0].astype(np.float64)
        bsz, c, h, wd = fm.shape
        mat = fm.reshape(bsz, c, h * wd)
        u, s, vt = np.linalg.svd(mat, full_matrices=False)
        rest = mat - s[:, :1, None] * u[:, :, :1] @ vt[:, :1, :]
        logits = rest.mean(axis=2) @ w.T.astype(np.float64) + b
        exact = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
        ours = comp_s.run(["rankfeat"], {"input": x})[0]
        rel = np.abs(ours - exact) / np.abs(exact)
        gap = s[:, 1] / s[:, 0]
        print(f"{os.path.basename(folder)}: {bsz} frames, [C, HW] = [{c}, {h * wd}], sigma2/sigma1 median {np.median(gap):.3f} "
              f"max {gap.max():.3f}; rankfeat relative error median {np.median(rel):.1e}, max {rel.max():.1e}")


if __name__ == "__main__":
    main()
