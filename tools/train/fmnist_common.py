"""Shared helpers for the bundled fmnist-cnn model (training, sample frames, sanity checks).

Nothing here needs a network connection: the data come from Debian packages
(dataset-fashion-mnist, opencv-doc), the checks use numpy only.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODEL_DIR = os.path.join(REPO, "models", "fmnist-cnn")

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
DIGITS_PNG = "/usr/share/doc/opencv-doc/examples/data/digits.png"

LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# Normalisation: x = (v / 255 - MEAN) / STD, v the 8-bit grey value.
MEAN = 0.2860
STD = 0.3530
SIDE = 28


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------


def _open_maybe_gz(path: str) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    return raw


def find_idx(stem: str, root: str = FMNIST_DIR) -> str:
    """Path of ``<stem>`` or ``<stem>.gz`` under root (the package ships .gz)."""
    for name in (stem, stem + ".gz"):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}[.gz] not found under {root} (is dataset-fashion-mnist installed?)")


def read_idx(path: str) -> np.ndarray:
    """Reads an IDX file (MNIST format: big-endian header, magic 0x00 0x00 <type> <ndim>)."""
    data = _open_maybe_gz(path)
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    dtype = np.dtype(dtypes[data[2]])
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    n = int(np.prod(dims))
    arr = np.frombuffer(data, dtype=dtype, count=n, offset=off)
    if len(data) != off + n * dtype.itemsize:
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(dims)


def load_split(split: str):
    """split: 'train' or 't10k'. Returns (images uint8 [N,28,28], labels int64 [N], sha256 of both payloads)."""
    ip, lp = find_idx(f"{split}-images-idx3-ubyte"), find_idx(f"{split}-labels-idx1-ubyte")
    x = read_idx(ip)
    y = read_idx(lp).astype(np.int64)
    assert x.shape[0] == y.shape[0] and x.shape[1:] == (SIDE, SIDE), (x.shape, y.shape)
    h = hashlib.sha256()
    h.update(x.tobytes())
    h.update(y.tobytes())
    return x, y, h.hexdigest()


def load_digits() -> np.ndarray:
    """opencv-doc digits.png: 2000x1000, 50 rows x 100 columns of 20x20 cells, 500 per digit
    in order 0..9 (five cell rows each). Returns uint8 [5000, 20, 20]; digit of cell i is i // 500."""
    from PIL import Image

    a = np.asarray(Image.open(DIGITS_PNG).convert("L"))
    assert a.shape == (1000, 2000), a.shape
    cells = a.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(5000, 20, 20)
    return np.ascontiguousarray(cells)


def dpkg_version(pkg: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ----------------------------------------------------------------------------------------
# preprocessing (the policy models/fmnist-cnn/manifest.json describes)
# ----------------------------------------------------------------------------------------


def contain_geometry(w: int, h: int, box_w: int = SIDE, box_h: int = SIDE):
    """'contain' resize: scale = min(box_w/w, box_h/h); new size rounded half-up (at least 1 px,
    at most the box); placed centred, offsets floor((box - new) / 2). Returns (new_w, new_h, left, top)."""
    s = min(box_w / w, box_h / h)
    nw = max(1, min(box_w, int(np.floor(w * s + 0.5))))
    nh = max(1, min(box_h, int(np.floor(h * s + 0.5))))
    return nw, nh, (box_w - nw) // 2, (box_h - nh) // 2


def preprocess_image(img, spec: dict) -> np.ndarray:
    """PIL image -> float32 [C, H, W] following a manifest's "input" object (this model: gray,
    contain-resize to 28x28 bilinear on a 0 background, x = (v * scale - mean) / std)."""
    from PIL import Image

    assert spec["layout"] == "NCHW" and spec["channels"] == "gray" and spec.get("gray", "bt601") == "bt601"
    r = spec["resize"]
    assert r["mode"] == "contain" and r["interpolation"] == "bilinear" and r["align"] == "center", r
    bw, bh = r["width"], r["height"]
    g = img.convert("L")  # ITU-R BT.601 luma: L = 0.299 R + 0.587 G + 0.114 B
    if g.size != (bw, bh):
        nw, nh, left, top = contain_geometry(*g.size, bw, bh)
        canvas = Image.new("L", (bw, bh), int(r["background"]))
        canvas.paste(g.resize((nw, nh), Image.BILINEAR), (left, top))
        g = canvas
    v = np.asarray(g, dtype=np.float32)
    x = (v * np.float32(spec["scale"]) - np.float32(spec["mean"][0])) / np.float32(spec["std"][0])
    return x[None].astype(np.float32)


# ----------------------------------------------------------------------------------------
# a tiny numpy ONNX evaluator (onnx 1.12 has no onnx.reference) for the ops this model uses
# ----------------------------------------------------------------------------------------


def _attrs(node):
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, a):
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError("Conv with group/dilation")
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, hh, ww = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (hh - kh) // sh + 1, (ww - kw) // sw + 1
    s = x.strides
    cols = np.lib.stride_tricks.as_strided(
        x, (n, c, kh, kw, oh, ow), (s[0], s[1], s[2], s[3], s[2] * sh, s[3] * sw), writeable=False
    )
    y = np.einsum("nckloq,dckl->ndoq", cols, w, optimize=True)
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def run_onnx_numpy(proto, feeds: dict) -> dict:
    """Evaluates a (small, plain) ONNX graph in float64 numpy. Returns all graph outputs."""
    from onnx import numpy_helper

    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in proto.graph.initializer}
    env.update({k: np.asarray(v, dtype=np.float64) for k, v in feeds.items()})
    for node in proto.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            out = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "GlobalAveragePool":
            out = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "ReduceMean":
            out = ins[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2]
        elif op == "Identity":
            out = ins[0]
        else:
            raise NotImplementedError(f"op {op}")
        env[node.output[0]] = out
    return {o.name: env[o.name] for o in proto.graph.output}


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
