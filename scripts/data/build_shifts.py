#!/usr/bin/python3
"""Build the covariate-shift suite (CIFAR-10-C style) from the fmnist-eval set.

    /usr/bin/python3 scripts/data/build_sets.py      # first: builds data/sets/fmnist-eval (and the OOD sets)
    /usr/bin/python3 scripts/data/build_shifts.py    # -> data/sets/shift-<type>-s<1|2|3>/, shift-clean/, SUITE.json

A seeded class-stratified subset of fmnist-eval (default 1000 frames, 100 per class,
``--count``) is corrupted by each of 17 corruption types at 3 severities (1 subtle .. 3
strong). Every output is a set in the same format as build_sets.py's (IDX images + the
original labels + manifest.json with role ``covariate-shift``). ``shift-clean`` is the
uncorrupted subset (role ``id``), the reference for the shifted sets. ``SUITE.json`` lists
the groups: the clean subset, every corruption set, and the semantic OOD sets of INDEX.json.

Randomness: the subset is drawn with ``default_rng([seed, 100, 0])``; a corruption that draws
anything per frame uses ``default_rng([seed, 100, type number, severity, frame])``, where
frame is the frame's position in fmnist-eval, so a set can be rebuilt alone (``--types``,
``--severities``) and a frame's corruption does not depend on ``--count``. The type numbers
are fixed in ``CORRUPTIONS``. Output is deterministic and idempotent: a rerun reports
``unchanged``; each set folder is replaced atomically. See scripts/data/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import sys
import time

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sets as bs  # noqa: E402  (same folder: IDX helpers, hashes)

SIDE = bs.SIDE
STREAM = 100  # build_sets.py uses 1..9 for its sets
C = (SIDE - 1) / 2.0  # pixel-centre coordinate of the image centre (13.5)

# type -> (type number, family, parameter name, [s1, s2, s3], what the parameter is)
CORRUPTIONS = {
    "rotation": (1, "geometric", "degrees", [8, 20, 40],
                 "rotation about the image centre by the given angle, sign drawn per frame (+ = counter-clockwise), "
                 "bilinear, black (0) outside the frame"),
    "flip": (2, "geometric", "flip", ["horizontal", "vertical", "transpose"],
             "s1 mirror left-right, s2 mirror top-bottom, s3 transpose (swap rows and columns: a 90-degree "
             "rotation plus a mirror); exact pixel moves, no randomness"),
    "translation": (3, "geometric", "pixels", [2, 4, 7],
              "translation by the given distance in a direction drawn per frame (angle uniform in [0, 2pi)), "
              "rounded to whole pixels (dy, dx), black (0) fill"),
    "zoom": (4, "geometric", "factor", [1.12, 1.3, 1.6],
             "scaling about the image centre by the factor (zoom in, crops) or by 1/factor (zoom out, black "
             "border), in or out drawn per frame with probability 1/2, bilinear"),
    "brightness": (5, "photometric", "offset", [20, 50, 100],
                   "x + offset (0..255 units): the black background turns grey"),
    "contrast": (6, "photometric", "factor", [0.75, 0.5, 0.25],
                 "m + factor * (x - m), m = the frame's mean pixel value"),
    "inversion": (7, "photometric", "alpha", [0.1, 0.3, 1.0],
                  "(1 - alpha) * x + alpha * (255 - x): partial blend toward the negative, full negative at s3"),
    "gamma": (8, "photometric", "gamma", [0.8, 0.55, 0.3],
              "255 * (x / 255) ** gamma (gamma < 1 lifts the mid-tones)"),
    "gaussian-blur": (9, "blur", "sigma", [0.5, 0.9, 1.5],
                      "Gaussian kernel with this sigma (px), truncated at ceil(3 sigma), edge-replicated borders"),
    "motion-blur": (10, "blur", "length", [3, 5, 9],
                    "line kernel of this length (px) at an angle drawn per frame (uniform in [0, 180) degrees), "
                    "the segment (centred, length px long) sampled at the midpoints of 8 equal steps per px and splatted "
                    "bilinearly into a (2*(length//2)+1)^2 kernel (indices clipped to it), normalised; edge-replicated borders"),
    "defocus-blur": (11, "blur", "radius", [1.0, 1.6, 2.6],
                     "disk kernel of this radius (px), each kernel cell weighted by its area inside the disk "
                     "(8x8 supersampling), normalised; edge-replicated borders"),
    "gaussian-noise": (12, "noise", "sigma", [6, 16, 32],
                       "x + sigma * z, z ~ N(0, 1) i.i.d. per pixel (0..255 units)"),
    "impulse-noise": (13, "noise", "fraction", [0.01, 0.04, 0.1],
                      "salt and pepper: u ~ U[0, 1) per pixel; u < fraction/2 -> 0, fraction/2 <= u < fraction -> 255"),
    "speckle-noise": (14, "noise", "sigma", [0.06, 0.15, 0.35],
                      "x + x * sigma * z, z ~ N(0, 1) i.i.d. per pixel (multiplicative)"),
    "jpeg": (15, "digital", "quality", [40, 15, 5],
             "PIL JPEG encode (grey, this quality, no other options) and decode"),
    "pixelate": (16, "digital", "side", [20, 14, 9],
                 "PIL resize to side x side (BOX), then back to 28x28 (NEAREST)"),
    "elastic": (17, "digital", "rms_px", [0.5, 1.0, 2.0],
                "elastic deformation: per frame two N(0, 1) fields (dy, dx) smoothed with a Gaussian (sigma 3 px, "
                "reflected borders, truncated at 9 px), scaled so that the root-mean-square displacement length is "
                "rms_px; bilinear resampling at (row + dy, col + dx), black (0) outside"),
}
ELASTIC_SIGMA = 3.0
FAMILIES = ["geometric", "photometric", "blur", "noise", "digital"]


# ----------------------------------------------------------------------------------------
# image operations on float64 stacks (N, 28, 28), values 0..255
# ----------------------------------------------------------------------------------------


def gauss1d(sigma: float, radius: int | None = None) -> np.ndarray:
    r = int(math.ceil(3 * sigma)) if radius is None else radius
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def conv_sep(x: np.ndarray, k: np.ndarray, mode: str = "edge") -> np.ndarray:
    """Separable 'same' convolution of a stack with the symmetric 1-D kernel k along rows and columns."""
    r = len(k) // 2
    p = np.pad(x, ((0, 0), (0, 0), (r, r)), mode=mode)
    y = sum(k[a] * p[:, :, a : a + x.shape[2]] for a in range(len(k)))
    p = np.pad(y, ((0, 0), (r, r), (0, 0)), mode=mode)
    return sum(k[a] * p[:, a : a + x.shape[1], :] for a in range(len(k)))


def conv2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """'Same' correlation with odd kernels, edge-replicated borders. k: (kh, kw) for all frames or (N, kh, kw)."""
    kh, kw = k.shape[-2:]
    p = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)), mode="edge")
    out = np.zeros_like(x)
    for a in range(kh):
        for b in range(kw):
            w = k[a, b] if k.ndim == 2 else k[:, a, b][:, None, None]
            out += w * p[:, a : a + x.shape[1], b : b + x.shape[2]]
    return out


def sample(x: np.ndarray, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    """Bilinear sampling of each frame at source coordinates (row sy, column sx), 0 outside."""
    n = np.arange(x.shape[0])[:, None, None]
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    wy, wx = sy - y0, sx - x0
    out = np.zeros(sy.shape, np.float64)
    for dy, dx, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + dy, x0 + dx
        ok = (yi >= 0) & (yi < x.shape[1]) & (xi >= 0) & (xi < x.shape[2])
        v = x[n, np.clip(yi, 0, x.shape[1] - 1), np.clip(xi, 0, x.shape[2] - 1)]
        out += np.where(ok, v, 0.0) * w
    return out


def grid(n: int):
    r, c = np.meshgrid(np.arange(SIDE, dtype=np.float64), np.arange(SIDE, dtype=np.float64), indexing="ij")
    return np.broadcast_to(r, (n, SIDE, SIDE)), np.broadcast_to(c, (n, SIDE, SIDE))


def affine(x: np.ndarray, m: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    """Output pixel p (row, col) takes the source pixel m[n] @ (p - centre) + centre - t[n]."""
    r, c = grid(len(x))
    dr, dc = r - C, c - C
    sr = m[:, 0, 0, None, None] * dr + m[:, 0, 1, None, None] * dc + C
    sc = m[:, 1, 0, None, None] * dr + m[:, 1, 1, None, None] * dc + C
    if t is not None:
        sr, sc = sr - t[:, 0, None, None], sc - t[:, 1, None, None]
    return sample(x, sr, sc)


def disk_kernel(radius: float, ss: int = 8) -> np.ndarray:
    r = int(math.ceil(radius - 1e-9))
    sub = (np.arange(ss) + 0.5) / ss - 0.5
    t = np.arange(-r, r + 1, dtype=np.float64)
    yy = (t[:, None, None, None] + sub[None, None, :, None])
    xx = (t[None, :, None, None] + sub[None, None, None, :])
    k = ((yy ** 2 + xx ** 2) <= radius ** 2).mean(axis=(2, 3))
    return k / k.sum()


def motion_kernel(length: int, degrees: float) -> np.ndarray:
    r = length // 2
    k = np.zeros((2 * r + 1, 2 * r + 1))
    th = math.radians(degrees)
    t = (np.arange(8 * length) + 0.5) / 8 - length / 2  # midpoints of 8 equal steps per px along the segment
    py, px = r - t * math.sin(th), r + t * math.cos(th)  # angle counter-clockwise from the +column axis
    y0, x0 = np.floor(py).astype(int), np.floor(px).astype(int)
    wy, wx = py - y0, px - x0
    for dy, dx, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = np.clip(y0 + dy, 0, 2 * r), np.clip(x0 + dx, 0, 2 * r)
        np.add.at(k, (yi, xi), w)
    return k / k.sum()


# ----------------------------------------------------------------------------------------
# corruptions: f(x float (N,28,28), value, rngs) -> (float stack, per-frame record or None)
# ----------------------------------------------------------------------------------------


def c_rotation(x, deg, rngs):
    sign = np.array([1.0 if g.random() < 0.5 else -1.0 for g in rngs])
    a = np.radians(sign * deg)
    # content turns counter-clockwise by a: source = R(-a) (in x-right, y-up coordinates) of the output point
    ca, sa = np.cos(a), np.sin(a)
    m = np.stack([np.stack([ca, sa], 1), np.stack([-sa, ca], 1)], 1)  # rows: (row, col)
    return affine(x, m), {"degrees": (sign * deg).tolist()}


def c_flip(x, how, rngs):
    return {"horizontal": x[:, :, ::-1], "vertical": x[:, ::-1, :], "transpose": x.transpose(0, 2, 1)}[how], None


def c_translation(x, px, rngs):
    phi = np.array([g.uniform(0, 2 * math.pi) for g in rngs])
    t = np.stack([np.rint(px * np.sin(phi)), np.rint(px * np.cos(phi))], 1)  # (dy, dx): content moves by t
    eye = np.broadcast_to(np.eye(2), (len(x), 2, 2))
    return affine(x, eye, t), {"dy_dx": t.astype(int).tolist()}


def c_zoom(x, f, rngs):
    z = np.array([f if g.random() < 0.5 else 1.0 / f for g in rngs])
    m = np.eye(2)[None] / z[:, None, None]
    return affine(x, m), {"factor": z.tolist()}


def c_brightness(x, d, rngs):
    return x + d, None


def c_contrast(x, f, rngs):
    m = x.mean(axis=(1, 2), keepdims=True)
    return m + f * (x - m), None


def c_inversion(x, a, rngs):
    return (1 - a) * x + a * (255.0 - x), None


def c_gamma(x, g, rngs):
    return 255.0 * (x / 255.0) ** g, None


def c_gaussian_blur(x, s, rngs):
    return conv_sep(x, gauss1d(s)), None


def c_motion_blur(x, length, rngs):
    ang = np.array([g.uniform(0, 180) for g in rngs])
    k = np.stack([motion_kernel(length, a) for a in ang])
    return conv2d(x, k), {"degrees": ang.tolist()}


def c_defocus_blur(x, r, rngs):
    return conv2d(x, disk_kernel(r)), None


def c_gaussian_noise(x, s, rngs):
    return x + s * np.stack([g.standard_normal((SIDE, SIDE)) for g in rngs]), None


def c_impulse_noise(x, p, rngs):
    u = np.stack([g.random((SIDE, SIDE)) for g in rngs])
    y = x.copy()
    y[u < p / 2] = 0.0
    y[(u >= p / 2) & (u < p)] = 255.0
    return y, None


def c_speckle_noise(x, s, rngs):
    return x + x * s * np.stack([g.standard_normal((SIDE, SIDE)) for g in rngs]), None


def c_jpeg(x, q, rngs):
    out = np.empty_like(x)
    for i, f in enumerate(x):
        buf = io.BytesIO()
        Image.fromarray(np.clip(np.rint(f), 0, 255).astype(np.uint8), "L").save(buf, "JPEG", quality=q)
        out[i] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"), np.float64)
    return out, None


def c_pixelate(x, side, rngs):
    out = np.empty_like(x)
    for i, f in enumerate(x):
        im = Image.fromarray(np.clip(np.rint(f), 0, 255).astype(np.uint8), "L")
        out[i] = np.asarray(im.resize((side, side), Image.BOX).resize((SIDE, SIDE), Image.NEAREST), np.float64)
    return out, None


def c_elastic(x, rms, rngs):
    f = np.stack([g.standard_normal((2, SIDE, SIDE)) for g in rngs])  # (N, 2, 28, 28): dy, dx
    k = gauss1d(ELASTIC_SIGMA)
    f = conv_sep(f.reshape(-1, SIDE, SIDE), k, mode="reflect").reshape(f.shape)
    norm = np.sqrt((f ** 2).sum(axis=1).mean(axis=(1, 2)))  # rms displacement length per frame
    f *= (rms / norm)[:, None, None, None]
    r, c = grid(len(x))
    return sample(x, r + f[:, 0], c + f[:, 1]), None


FUNCS = {name: globals()["c_" + name.replace("-", "_")] for name in CORRUPTIONS}
RANDOM = {"rotation", "translation", "zoom", "motion-blur", "gaussian-noise", "impulse-noise", "speckle-noise", "elastic"}


# ----------------------------------------------------------------------------------------
# writing (same layout and atomic replace as build_sets.write_set)
# ----------------------------------------------------------------------------------------

_NUM_LIST = re.compile(r"\[\s*(-?[0-9][0-9.eE+-]*(?:\s*,\s*-?[0-9][0-9.eE+-]*)*)\s*\]")


def dumps_compact(obj) -> str:
    """json.dumps(indent=1) with lists of numbers kept on one line."""
    return _NUM_LIST.sub(lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", json.dumps(obj, indent=1))


def write_set(name: str, images: np.ndarray, labels: np.ndarray, manifest: dict, out_root: str) -> dict:
    files = {"images-idx3-ubyte": bs.idx_images_bytes(images), "labels-idx1-ubyte": bs.idx_labels_bytes(labels)}
    head = {"name": name, "role": manifest.pop("role"), "count": int(images.shape[0]), "shape": [SIDE, SIDE],
            "dtype": "uint8", "files": {k: {"bytes": len(v), "sha256": bs.sha256_bytes(v)} for k, v in files.items()},
            "labels": True}
    manifest = {**head, **manifest, "built_by": "scripts/data/build_shifts.py"}
    files["manifest.json"] = (dumps_compact(manifest) + "\n").encode("utf-8")
    unchanged = bs.replace_set(out_root, name, files)
    size = sum(len(v) for v in files.values())
    print(f"  {name:24s} {manifest['role']:15s} {head['count']:5d} images  {size / 1e6:5.2f} MB  "
          f"{'unchanged' if unchanged else 'written'}", flush=True)
    return {"name": name, "count": head["count"], "images_sha256": head["files"]["images-idx3-ubyte"]["sha256"],
            "bytes": size}


def load_source(src_dir: str):
    x = bs.read_idx(os.path.join(src_dir, "images-idx3-ubyte"))
    y = bs.read_idx(os.path.join(src_dir, "labels-idx1-ubyte"))
    with open(os.path.join(src_dir, "manifest.json"), encoding="utf-8") as fh:
        man = json.load(fh)
    block = {
        "set": os.path.basename(os.path.normpath(src_dir)),
        "files": {k: {"sha256": bs.sha256_file(os.path.join(src_dir, k))}
                  for k in ("images-idx3-ubyte", "labels-idx1-ubyte", "manifest.json")},
        "package": man["source"].get("package"),
        "version": man["source"].get("version"),
        "licence": man["source"].get("licence"),
        "licence_source": man["source"].get("licence_source"),
        "copyright": man["source"].get("copyright"),
    }
    test_idx = man.get("split", {}).get("test_indices")
    return x, y, block, test_idx, man


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(bs.REPO, "data", "sets"), help="output folder (default: data/sets)")
    ap.add_argument("--source", default=None, help="the clean set (default: <out>/fmnist-eval)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=1000, help="frames in the subset, a multiple of 10 (default 1000)")
    ap.add_argument("--types", default=None, help="comma-separated corruption types to build (default: all)")
    ap.add_argument("--severities", default="1,2,3", help="comma-separated severities to build (default 1,2,3)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    src_dir = args.source or os.path.join(args.out, "fmnist-eval")
    if not os.path.isfile(os.path.join(src_dir, "images-idx3-ubyte")):
        print(f"error: {src_dir} has no images-idx3-ubyte: run scripts/data/build_sets.py first", file=sys.stderr)
        sys.exit(2)
    types = list(CORRUPTIONS) if not args.types else [t.strip() for t in args.types.split(",") if t.strip()]
    bad = [t for t in types if t not in CORRUPTIONS]
    sevs = [int(s) for s in args.severities.split(",") if s.strip()]
    if bad or any(s not in (1, 2, 3) for s in sevs) or args.count % 10 or args.count <= 0:
        ap.error(f"unknown types {bad} (known: {', '.join(CORRUPTIONS)}), severities must be 1..3, "
                 f"--count a positive multiple of 10")

    x, y, src, test_idx, src_man = load_source(src_dir)
    per = args.count // 10
    counts = np.bincount(y, minlength=10)
    if per > counts.min():
        ap.error(f"--count {args.count}: the source has only {counts.min()} frames of its rarest class")
    rng = np.random.default_rng([args.seed, STREAM, 0])
    sub = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per] for c in range(10)]))
    xs, ys = x[sub], y[sub].astype(np.uint8)
    xf = xs.astype(np.float64)
    subset = {
        "of": src["set"],
        "rule": f"class-stratified: rng = numpy.random.default_rng([{args.seed}, {STREAM}, 0]); for each class c = 0..9 in "
                f"order, p = rng.permutation(positions of class c in {src['set']}); p[:{per}] are taken; the union is "
                f"stored in ascending position order. The same subset for every corruption.",
        "count": int(len(sub)),
        "per_class": np.bincount(ys, minlength=10).tolist(),
        "indices": sub.tolist(),
        "indices_note": f"positions in {src['set']} (0-based frame numbers of its IDX files)",
    }
    if test_idx is not None:
        subset["test_indices"] = [int(test_idx[i]) for i in sub]
        subset["test_indices_note"] = "the same frames as indices in the Fashion-MNIST test set (t10k)"
    common = {"labels_note": src_man.get("labels_note"), "source": src, "seed": args.seed, "subset": subset}

    os.makedirs(args.out, exist_ok=True)
    print(f"building the covariate-shift suite under {args.out} (seed {args.seed}, {len(sub)} frames of {src['set']})",
          flush=True)
    entries = {}
    full = not args.types and sevs == [1, 2, 3]
    if full or args.types is None:
        entries["shift-clean"] = write_set("shift-clean", xs, ys, {
            "role": "id",
            "construction": f"The {len(sub)}-frame subset of {src['set']} that every shift-* set corrupts, unchanged "
                            f"(the clean reference for the covariate-shift suite).",
            **common}, args.out)
    mad = {}
    for t in types:
        num, fam, pname, values, what = CORRUPTIONS[t]
        for s in sevs:
            v = values[s - 1]
            rngs = ([np.random.default_rng([args.seed, STREAM, num, s, int(i)]) for i in sub] if t in RANDOM else None)
            out, per_frame = FUNCS[t](xf, v, rngs)
            img = np.clip(np.rint(out), 0, 255).astype(np.uint8)
            name = f"shift-{t}-s{s}"
            mad[name] = float(np.abs(img.astype(np.int16) - xs).mean())
            man = {
                "role": "covariate-shift",
                "corruption": t,
                "family": fam,
                "severity": s,
                "parameters": {pname: v, "all_severities": {pname: values}},
                "construction": f"{t} ({fam}), severity {s} of 3: {what}; {pname} = {v}. Applied in float64 to each frame "
                                f"of the subset, then rint and clipped to 0..255, uint8. Labels are the original ones."
                                + (f" Per-frame randomness: rng = numpy.random.default_rng([{args.seed}, {STREAM}, {num}, "
                                   f"{s}, frame]) with frame = the position in {src['set']}." if t in RANDOM else
                                   " No randomness."),
                **common,
                "mean_abs_change": round(mad[name], 4),
            }
            if t == "jpeg":
                man["parameters"]["encoder"] = {"pillow": PIL.__version__,
                                                "libjpeg": getattr(Image.core, "jpeglib_version", None)}
            if per_frame is not None:
                man["per_frame"] = {"order": "as the frames (subset.indices)", **per_frame}
            entries[name] = {**write_set(name, img, ys, man, args.out), "type": t, "family": fam, "severity": s,
                             "parameters": {pname: v}}

    # SUITE.json: all shift sets present on disk (also those not rebuilt this run) + the semantic sets
    suite_path = os.path.join(args.out, "SUITE.json")
    corr = []
    for t, (num, fam, pname, values, _) in CORRUPTIONS.items():
        for s in (1, 2, 3):
            name = f"shift-{t}-s{s}"
            e = entries.get(name)
            if e is None:
                mp = os.path.join(args.out, name, "manifest.json")
                if not os.path.isfile(mp):
                    continue
                with open(mp, encoding="utf-8") as fh:
                    m = json.load(fh)
                e = {"name": name, "count": m["count"], "images_sha256": m["files"]["images-idx3-ubyte"]["sha256"],
                     "type": t, "family": fam, "severity": s, "parameters": {pname: values[s - 1]}}
            corr.append({k: e[k] for k in ("name", "type", "family", "severity", "parameters", "count", "images_sha256")})
    semantic = []
    ip = os.path.join(args.out, "INDEX.json")
    if os.path.isfile(ip):
        with open(ip, encoding="utf-8") as fh:
            for e in json.load(fh)["sets"]:
                if e["role"] in ("near-ood", "far-ood"):
                    semantic.append({k: e[k] for k in ("name", "role", "count", "source_package", "images_sha256")})
    suite = {
        "built_by": "scripts/data/build_shifts.py (corruptions), scripts/data/build_sets.py (semantic, id)",
        "seed": args.seed,
        "id": {"calibration": "fmnist-calib", "evaluation": src["set"], "clean_subset": "shift-clean"},
        "families": FAMILIES,
        "corruptions": corr,
        "semantic": semantic,
    }
    with open(suite_path + ".tmp", "w") as fh:
        fh.write(json.dumps(suite, indent=1) + "\n")
    os.replace(suite_path + ".tmp", suite_path)
    total = sum(e["bytes"] for e in entries.values())
    print(f"done: {len(entries)} sets, {total / 1e6:.1f} MB, {time.perf_counter() - t0:.1f}s; suite {suite_path}")
    if mad:
        print("mean |corrupted - clean| per set (0..255):")
        for t in types:
            print(f"  {t:15s} " + "  ".join(f"s{s} {mad[f'shift-{t}-s{s}']:6.2f}" for s in sevs))


if __name__ == "__main__":
    main()
