#!/usr/bin/python3
"""Build the benchmark image sets (ID, near-OOD, far-OOD, noise) from Debian packages.

    scripts/data/install-packages.sh                 # once: dataset-fashion-mnist opencv-doc gimp-data
    /usr/bin/python3 scripts/data/build_sets.py      # -> data/sets/<name>/..., data/sets/INDEX.json

Every set is a stack of 28x28 8-bit grey images stored as

    data/sets/<name>/images-idx3-ubyte   IDX: magic 0x00000803, N, 28, 28 (big-endian u32), N*784 uint8
    data/sets/<name>/labels-idx1-ubyte   IDX: magic 0x00000801, N, N uint8 (fmnist-* and digits only)
    data/sets/<name>/manifest.json       what it is, where it comes from, how it was made

Sets (see scripts/data/README.md for the details and licences):

    fmnist-train  id        60000  Fashion-MNIST training set, unchanged
    fmnist-calib  id         5000  half of the Fashion-MNIST test set (calibration)
    fmnist-eval   id         5000  the other half (evaluation)
    digits        near-ood   5000  OpenCV digits.png, 20x20 cells padded to 28x28
    photos        far-ood    5000  28x28 crops of downscaled natural photos (opencv-doc)
    textures      far-ood    5000  28x28 crops of GIMP texture patterns (gimp-data)
    noise         far-ood    5000  2500 clipped Gaussian + 2500 uniform noise images
    letters       near-ood   4160  Latin letters A-Z a-z from 34 TrueType faces (DejaVu, Liberation, FreeFont)
    cjk           near-ood   4000  46 hiragana + 54 kanji from WenQuanYi Zen Hei and AR PL UKai
    icons         near-ood   3000  Adwaita symbolic icons as white-on-black silhouettes

Everything is seeded (``--seed``, default 0): each set draws from its own generator
``numpy.random.default_rng([seed, <set number>])`` (set numbers in ``SET_STREAMS``), so the
sets do not depend on each other or on the order they are built in. Output is deterministic;
rerunning rewrites identical bytes (the script reports which sets changed). Nothing is
downloaded: the inputs are files installed by Debian packages (or placed by hand at the same
paths, or passed with --fmnist-dir / --opencv-data-dir / --gimp-patterns-dir).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
OPENCV_DATA_DIR = "/usr/share/doc/opencv-doc/examples/data"
GIMP_PATTERNS_DIR = "/usr/share/gimp/2.0/patterns"
FONTS_DIR = "/usr/share/fonts/truetype"
ICONS_DIR = "/usr/share/icons/Adwaita/96x96"

SIDE = 28
SET_STREAMS = {"fmnist-split": 1, "digits": 2, "photos": 3, "textures": 4, "noise": 5,
               "letters": 6, "cjk": 7, "icons": 8}

# Natural photographs among opencv-doc's example images (samples/data upstream). Excluded:
# drawings, logos, renders (Blender_Suzanne*, HappyFish, blox, smarties, pic1-6, ml, cards),
# calibration boards (chessboard, left01-14/right01-14), synthetic test images (gradient,
# ellipses, detect_blob, mask, templ, tmpl, pca_test1), text (imageText*, notes, sudoku,
# text_*), a painting (starry_night), a depth map (aloeGT), a motion-blurred frame
# (licenseplate_motion), digits.png (the near-OOD set) and the second image of each
# stereo/flow/edit pair (aloeR, basketball2, ela_modified, graf3, leuvenB, right,
# rubberwhale2). Debian's opencv-doc does not ship lena.jpg (Files-Excluded).
PHOTO_FILES = [
    "aero1.jpg",
    "aero3.jpg",
    "aloeL.jpg",
    "apple.jpg",
    "baboon.jpg",
    "basketball1.png",
    "board.jpg",
    "box_in_scene.png",
    "building.jpg",
    "butterfly.jpg",
    "chicky_512.png",
    "ela_original.jpg",
    "fruits.jpg",
    "graf1.png",
    "home.jpg",
    "left.jpg",
    "leuvenA.jpg",
    "messi5.jpg",
    "orange.jpg",
    "rubberwhale1.png",
    "squirrel_cls.jpg",
    "stuff.jpg",
]
PHOTO_SHORT_SIDES = [64, 72, 80, 88, 96]  # each photo is downscaled to these shorter sides

# Photographic texture patterns of gimp-data (GIMP .pat files). Excluded: the whole Legacy/
# folder (drawn or rendered tiles: stripes, grids, cubes, "Warning!" ...) and, from the other
# folders, renders and drawings: Sky/lightning, Sky/starfield, Stone/Craters, Stone/terra,
# Water/electric, Water/rain, Food/choc_swirl, Animal/leopard, Wood/pine, Wood/wood2.
TEXTURE_FILES = [
    "Animal/leather.pat",
    "Fabric/burlap.pat",
    "Food/java.pat",
    "Paper/crinklepaper.pat",
    "Paper/paper.pat",
    "Plant/leaves.pat",
    "Sky/sky.pat",
    "Stone/Moonfoot.pat",
    "Stone/amethyst.pat",
    "Stone/brick.pat",
    "Stone/cracked.pat",
    "Stone/granite1.pat",
    "Stone/ground1.pat",
    "Stone/marble1.pat",
    "Stone/marble2.pat",
    "Stone/marble3.pat",
    "Stone/pink_marble.pat",
    "Stone/rock.pat",
    "Stone/slate.pat",
    "Stone/stone33.pat",
    "Water/ice.pat",
    "Water/pool.pat",
    "Wood/bark.pat",
    "Wood/burlwood.pat",
    "Wood/corkboard.pat",
    "Wood/parque1.pat",
    "Wood/parque2.pat",
    "Wood/parque3.pat",
    "Wood/walnut.pat",
    "Wood/wood1.pat",
    "Wood/wood3.pat",
    "Wood/wood4.pat",
    "Wood/wood5.pat",
]
TEXTURE_MAX_SHORT_SIDE = 64  # patterns with a longer shorter side are downscaled to 64 first

# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: str) -> str:
    with open(path, "rb") as fh:
        return sha256_bytes(fh.read())


def dpkg_version(pkg: str) -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def copyright_licence(pkg: str, stanza_files: str = "*") -> dict:
    """The ``License:`` line of the ``Files: <stanza_files>`` stanza of the package's Debian
    copyright file (machine-readable DEP-5 format), with the file's path."""
    path = f"/usr/share/doc/{pkg}/copyright"
    out = {"file": path, "stanza": f"Files: {stanza_files}", "license": None, "copyright": None}
    try:
        with open(path, encoding="utf-8") as fh:
            paras = fh.read().split("\n\n")
    except OSError:
        return out
    for para in paras:
        lines = para.strip("\n").split("\n")
        if not lines or lines[0].strip() != f"Files: {stanza_files}":
            continue
        holders, in_copyright = [], False
        for ln in lines[1:]:
            if ln.startswith("Copyright:"):
                in_copyright = True
                rest = ln[len("Copyright:") :].strip()
                if rest:
                    holders.append(rest)
            elif ln.startswith(" ") and in_copyright:
                holders.append(ln.strip())
            else:
                in_copyright = False
            if ln.startswith("License:"):
                out["license"] = ln[len("License:") :].strip()
        out["copyright"] = holders
        break
    return out


def source_block(pkg: str, files: list[tuple[str, str]], note: str | None = None) -> dict:
    """files: (display path, real path) pairs; records each file's sha256."""
    lic = copyright_licence(pkg)
    block = {
        "package": pkg,
        "version": dpkg_version(pkg),
        "files": [{"path": shown, "sha256": sha256_file(real)} for shown, real in files],
        "licence": lic["license"],
        "licence_source": f"{lic['file']} ({lic['stanza']})",
        "copyright": lic["copyright"],
    }
    holders = lic["copyright"] or []
    if len(holders) > 12:  # gimp-data's catch-all stanza lists 140+ holders
        block["copyright"] = (f"{len(holders)} holders listed in the '{lic['stanza']}' stanza of {lic['file']}, "
                              f"among them: " + "; ".join(h for h in holders if "gimp" in h.lower()))
    if note:
        block["licence_note"] = note
    return block


def idx_images_bytes(x: np.ndarray) -> bytes:
    assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[1:] == (SIDE, SIDE), (x.dtype, x.shape)
    return struct.pack(">IIII", 0x00000803, x.shape[0], SIDE, SIDE) + np.ascontiguousarray(x).tobytes()


def idx_labels_bytes(y: np.ndarray) -> bytes:
    assert y.ndim == 1 and y.min() >= 0 and y.max() <= 255
    return struct.pack(">II", 0x00000801, y.shape[0]) + y.astype(np.uint8).tobytes()


def read_idx(path: str) -> np.ndarray:
    """IDX reader (gzip or not): big-endian header, magic 0x00 0x00 <type> <ndim>."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    dtype, ndim = np.dtype(dtypes[raw[2]]), raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    off, n = 4 + 4 * ndim, int(np.prod(dims))
    if len(raw) != off + n * dtype.itemsize:
        raise ValueError(f"{path}: size mismatch")
    return np.frombuffer(raw, dtype=dtype, count=n, offset=off).reshape(dims)


def find_file(root: str, name: str) -> str:
    for cand in (name, name + ".gz"):
        p = os.path.join(root, cand)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{name}[.gz] not found under {root}: run scripts/data/install-packages.sh")


def to_gray(img: Image.Image) -> Image.Image:
    """ITU-R BT.601 luma, 8 bits (PIL convert('L')); alpha ignored; palette images expanded."""
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("LA", "La"):
        img = img.getchannel(0)
    return img.convert("L")


# ----------------------------------------------------------------------------------------
# sets
# ----------------------------------------------------------------------------------------


class Built:
    def __init__(self, name, role, images, labels, source, construction, split=None, extra=None):
        self.name, self.role, self.images, self.labels = name, role, images, labels
        self.source, self.construction, self.split, self.extra = source, construction, split, extra or {}


def build_fmnist(args) -> list[Built]:
    paths = {k: find_file(args.fmnist_dir, f"{k}-ubyte") for k in
             ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")}
    xtr, ytr = read_idx(paths["train-images-idx3"]), read_idx(paths["train-labels-idx1"])
    xte, yte = read_idx(paths["t10k-images-idx3"]), read_idx(paths["t10k-labels-idx1"])
    assert xtr.shape == (60000, SIDE, SIDE) and ytr.shape == (60000,), (xtr.shape, ytr.shape)
    assert xte.shape == (10000, SIDE, SIDE) and yte.shape == (10000,), (xte.shape, yte.shape)

    def src(keys):
        shown = [(os.path.join(FMNIST_DIR, os.path.basename(paths[k])), paths[k]) for k in keys]
        return source_block("dataset-fashion-mnist", shown)

    train_src = src(["train-images-idx3", "train-labels-idx1"])
    test_src = src(["t10k-images-idx3", "t10k-labels-idx1"])

    # class-stratified halves: per class (0..9 in order) a permutation of that class's test
    # indices; its first half goes to calib, the rest to eval; each half in test-index order
    rng = np.random.default_rng([args.seed, SET_STREAMS["fmnist-split"]])
    calib, evl = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(yte == c))
        h = len(idx) // 2
        calib.append(idx[:h])
        evl.append(idx[h:])
    calib, evl = np.sort(np.concatenate(calib)), np.sort(np.concatenate(evl))
    assert len(calib) == len(evl) == 5000 and len(np.intersect1d(calib, evl)) == 0

    split_rule = (
        f"class-stratified halves of the 10,000-image Fashion-MNIST test set: "
        f"rng = numpy.random.default_rng([{args.seed}, {SET_STREAMS['fmnist-split']}]); for each class c = 0..9 "
        f"in order, p = rng.permutation(indices of class c in the test set) (1000 each); p[:500] -> "
        f"fmnist-calib, p[500:] -> fmnist-eval; each half is stored in ascending test-index order. "
        f"The halves are disjoint and together are the whole test set; 500 images per class each."
    )
    out = [
        Built("fmnist-train", "id", np.ascontiguousarray(xtr), ytr.astype(np.uint8), train_src,
              "The Fashion-MNIST training set (train-images-idx3-ubyte / train-labels-idx1-ubyte), "
              "decompressed, unchanged, in the original order. The only set the reference model is trained on.",
              extra={"labels_note": "0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot"}),
    ]
    for name, idx, use in (("fmnist-calib", calib, "calibration (threshold at 95% TPR); never used for evaluation"),
                           ("fmnist-eval", evl, "evaluation (ID side of FPR95/AUROC); never used for calibration")):
        out.append(Built(
            name, "id", np.ascontiguousarray(xte[idx]), yte[idx].astype(np.uint8), test_src,
            f"Half of the Fashion-MNIST test set (t10k-*), images unchanged; use: {use}.",
            split={"of": "t10k (Fashion-MNIST test set, 10000 images)", "seed": args.seed, "rule": split_rule,
                   "test_indices": idx.tolist()},
            extra={"labels_note": "0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot",
                   "per_class": np.bincount(yte[idx], minlength=10).tolist()}))
    return out


def build_digits(args) -> Built:
    path = os.path.join(args.opencv_data_dir, "digits.png")
    a = np.asarray(to_gray(Image.open(path)))
    assert a.shape == (1000, 2000), a.shape
    cells = a.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(5000, 20, 20)
    x = np.pad(cells, ((0, 0), (4, 4), (4, 4)))
    y = (np.arange(5000) // 500).astype(np.uint8)
    return Built(
        "digits", "near-ood", np.ascontiguousarray(x), y,
        source_block("opencv-doc", [(os.path.join(OPENCV_DATA_DIR, "digits.png"), path)],
                     note="digits.png has no stanza of its own in the copyright file; the catch-all 'Files: *' applies."),
        "OpenCV's digits.png (2000x1000 grey; upstream samples/data/digits.png) cut into its 5000 20x20 cells "
        "(50 rows x 100 columns, row-major: cell i = row i // 100, column i % 100); each cell padded with a "
        "4-pixel black (0) border to 28x28, as MNIST digits are. Label = digit = i // 500 (the image holds "
        "500 of each digit, in order 0..9). Stored in cell order. Pixels unchanged otherwise (white digit on black). "
        "No randomness.",
    )


def build_photos(args) -> Built:
    rng = np.random.default_rng([args.seed, SET_STREAMS["photos"]])
    scaled = []  # [photo][scale] -> uint8 array
    files = []
    for f in PHOTO_FILES:
        p = os.path.join(args.opencv_data_dir, f)
        files.append((os.path.join(OPENCV_DATA_DIR, f), p))
        g = to_gray(Image.open(p))
        w, h = g.size
        per = []
        for s in PHOTO_SHORT_SIDES:
            k = s / min(w, h)
            nw, nh = max(SIDE, int(round(w * k))), max(SIDE, int(round(h * k)))
            per.append(np.asarray(g.resize((nw, nh), Image.BILINEAR)))
        scaled.append(per)
    n = args.count
    x = np.empty((n, SIDE, SIDE), np.uint8)
    origin, seen, redrawn = [], set(), 0
    for i in range(n):
        pi = i % len(PHOTO_FILES)  # round-robin over the photos
        while True:
            si = int(rng.integers(len(PHOTO_SHORT_SIDES)))
            im = scaled[pi][si]
            top = int(rng.integers(im.shape[0] - SIDE + 1))
            left = int(rng.integers(im.shape[1] - SIDE + 1))
            c = im[top : top + SIDE, left : left + SIDE]
            if c.tobytes() not in seen:
                break
            redrawn += 1
        seen.add(c.tobytes())
        x[i] = c
        origin.append([pi, PHOTO_SHORT_SIDES[si], top, left])
    return Built(
        "photos", "far-ood", x, None,
        source_block("opencv-doc", files,
                     note="these images have no stanza of their own in the copyright file; the catch-all 'Files: *' applies."),
        f"{n} seeded 28x28 crops of {len(PHOTO_FILES)} natural photographs from OpenCV's sample images "
        f"(like the LSUN/TinyImageNet 'crop' OOD sets). Each photo is converted to 8-bit grey (BT.601, PIL "
        f"convert('L')) and downscaled (PIL bilinear, antialiased) so that its shorter side is each of "
        f"{PHOTO_SHORT_SIDES} px. Crop i comes from photo i mod {len(PHOTO_FILES)} (files in the listed order); "
        f"with rng = numpy.random.default_rng([{args.seed}, {SET_STREAMS['photos']}]), for each crop in order: "
        f"scale = rng.integers({len(PHOTO_SHORT_SIDES)}), top = rng.integers(H - 27), left = rng.integers(W - 27), "
        f"drawn again (same order) while the crop is pixel-for-pixel identical to an earlier one ({redrawn} redraws), "
        f"so all {n} crops differ. Pixels unchanged after the downscale. 'origins' lists [photo index, shorter side, top, left] per crop.",
        extra={"photos": PHOTO_FILES, "origins": origin},
    )


def read_gimp_pattern(path: str):
    """GIMP pattern (.pat, version 1): big-endian u32 header_size, version, width, height,
    bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), the magic 'GPAT', then the pattern
    name (UTF-8, NUL-terminated) up to header_size; then width*height*bpp bytes, row-major.
    Returns (name, PIL image)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 24:
        raise ValueError(f"{path}: too short for a GIMP pattern")
    header_size, version, width, height, bpp = struct.unpack(">5I", raw[:20])
    if raw[20:24] != b"GPAT" or version != 1 or bpp not in (1, 2, 3, 4) or header_size < 24:
        raise ValueError(f"{path}: not a version-1 GIMP pattern (magic {raw[20:24]!r}, version {version}, bpp {bpp})")
    name = raw[24:header_size].split(b"\0", 1)[0].decode("utf-8", "replace")
    need = header_size + width * height * bpp
    if len(raw) < need:
        raise ValueError(f"{path}: truncated ({len(raw)} < {need} bytes)")
    px = np.frombuffer(raw, np.uint8, width * height * bpp, header_size).reshape(height, width, bpp)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[bpp]
    img = Image.fromarray(px[:, :, 0] if bpp == 1 else px, mode)
    return name, img


def build_textures(args) -> Built:
    rng = np.random.default_rng([args.seed, SET_STREAMS["textures"]])
    tiles, files, names = [], [], []
    for f in TEXTURE_FILES:
        p = os.path.join(args.gimp_patterns_dir, f)
        files.append((os.path.join(GIMP_PATTERNS_DIR, f), p))
        name, img = read_gimp_pattern(p)
        g = to_gray(img)
        w, h = g.size
        if min(w, h) > TEXTURE_MAX_SHORT_SIDE:
            k = TEXTURE_MAX_SHORT_SIDE / min(w, h)
            g = g.resize((int(round(w * k)), int(round(h * k))), Image.BILINEAR)
        tiles.append(np.asarray(g))
        names.append({"file": f, "name": name, "size": [w, h], "used_size": list(g.size)})
    n = args.count
    x = np.empty((n, SIDE, SIDE), np.uint8)
    origin, seen, redrawn = [], set(), 0
    for i in range(n):
        ti = i % len(TEXTURE_FILES)
        t = tiles[ti]
        while True:
            top = int(rng.integers(t.shape[0]))
            left = int(rng.integers(t.shape[1]))
            d = int(rng.integers(8))
            rows = (top + np.arange(SIDE)) % t.shape[0]
            cols = (left + np.arange(SIDE)) % t.shape[1]
            c = t[np.ix_(rows, cols)]
            if d & 4:
                c = c.T
            c = np.ascontiguousarray(np.rot90(c, d & 3))
            if c.tobytes() not in seen:
                break
            redrawn += 1
        seen.add(c.tobytes())
        x[i] = c
        origin.append([ti, top, left, d])
    return Built(
        "textures", "far-ood", x, None,
        source_block("gimp-data", files,
                     note="the patterns have no stanza of their own in gimp-data's copyright file; the catch-all "
                          "'Files: *' applies (GIMP's data files, GPL-3+ and others as listed)."),
        f"{n} seeded 28x28 crops of {len(TEXTURE_FILES)} photographic texture patterns shipped with GIMP "
        f"(GIMP .pat files, parsed by this script). Each pattern is converted to 8-bit grey (BT.601, PIL convert('L')); "
        f"a pattern whose shorter side exceeds {TEXTURE_MAX_SHORT_SIDE} px is first downscaled (PIL bilinear, antialiased) "
        f"to a shorter side of {TEXTURE_MAX_SHORT_SIDE}. Patterns are seamless tiles, so crops wrap around the tile "
        f"edges (several patterns are smaller than 56 px). Crop i comes from pattern i mod {len(TEXTURE_FILES)}; with "
        f"rng = numpy.random.default_rng([{args.seed}, {SET_STREAMS['textures']}]), for each crop in order: top = rng.integers(H), "
        f"left = rng.integers(W), d = rng.integers(8); the 28x28 window at (top, left) (indices modulo H, W) is "
        f"transposed if d & 4, then rotated by 90 degrees (numpy.rot90) d & 3 times; "
        f"(top, left, d) are drawn again while the crop is pixel-for-pixel identical to an earlier one ({redrawn} redraws), "
        f"so all {n} crops differ. 'origins' lists [pattern index, "
        f"top, left, d] per crop.",
        extra={"patterns": names, "origins": origin},
    )


def build_noise(args) -> Built:
    rng = np.random.default_rng([args.seed, SET_STREAMS["noise"]])
    n = args.count
    ng = n // 2
    z = rng.standard_normal((ng, SIDE, SIDE))
    gauss = np.clip(np.rint(255.0 * (0.5 + 0.25 * z)), 0, 255).astype(np.uint8)
    unif = rng.integers(0, 256, size=(n - ng, SIDE, SIDE), dtype=np.uint8)
    x = np.concatenate([gauss, unif])
    return Built(
        "noise", "far-ood", x, None,
        {"package": None, "version": None, "files": [], "licence": "n/a",
         "licence_note": "generated by this script from a seeded random generator; no third-party content"},
        f"With rng = numpy.random.default_rng([{args.seed}, {SET_STREAMS['noise']}]): images 0..{ng - 1} are clipped Gaussian "
        f"noise, v = clip(rint(255 * (0.5 + 0.25 * z)), 0, 255), z = rng.standard_normal(({ng}, 28, 28)) (i.i.d. per "
        f"pixel: mean 127.5, sd 63.75 before clipping); images {ng}..{n - 1} are uniform noise, "
        f"rng.integers(0, 256, size=({n - ng}, 28, 28), dtype=uint8) (drawn after the Gaussian block).",
        extra={"parts": [{"kind": "gaussian", "first": 0, "count": ng}, {"kind": "uniform", "first": ng, "count": n - ng}]},
    )


# Latin letters (notMNIST-like): these faces of three Debian font packages
LETTER_FONTS = [
    ("fonts-dejavu-core", "dejavu/DejaVuSans.ttf"),
    ("fonts-dejavu-core", "dejavu/DejaVuSans-Bold.ttf"),
    ("fonts-dejavu-core", "dejavu/DejaVuSerif.ttf"),
    ("fonts-dejavu-core", "dejavu/DejaVuSerif-Bold.ttf"),
    ("fonts-dejavu-core", "dejavu/DejaVuSansMono.ttf"),
    ("fonts-dejavu-core", "dejavu/DejaVuSansMono-Bold.ttf"),
] + [("fonts-liberation", f"liberation/Liberation{fam}-{sty}.ttf")
     for fam in ("Sans", "Serif", "Mono", "SansNarrow") for sty in ("Regular", "Bold", "Italic", "BoldItalic")] + [
    ("fonts-freefont-ttf", f"freefont/Free{f}.ttf")
    for f in ("Sans", "SansBold", "SansOblique", "SansBoldOblique", "Serif", "SerifBold", "SerifItalic",
              "SerifBoldItalic", "Mono", "MonoBold", "MonoOblique", "MonoBoldOblique")]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LETTERS_PER_CLASS = 80
# CJK glyphs (Kuzushiji-like): the 46 basic hiragana and 54 grade-1 kanji (Japanese school list,
# in its usual order, leaving out the one- to three-stroke bars 一 二 三); faces (file, ttc index)
CJK_FONTS = [
    ("fonts-wqy-zenhei", "wqy/wqy-zenhei.ttc", 0),   # WenQuanYi Zen Hei (sans)
    ("fonts-wqy-zenhei", "wqy/wqy-zenhei.ttc", 2),   # WenQuanYi Zen Hei Sharp
    ("fonts-arphic-ukai", "arphic/ukai.ttc", 0),     # AR PL UKai CN (brush, kaishu)
]
CJK_HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
CJK_KANJI = "右雨円王音下火花貝学気九休玉金空月犬見五口校左山子四糸字耳七車手十出女小上森人水正生青夕石赤千川先早草足村大"
CJK_CHARS = CJK_HIRAGANA + CJK_KANJI
assert len(CJK_HIRAGANA) == 46 and len(CJK_KANJI) == 54
CJK_PER_CLASS = 40
ICONS_COUNT = 3000
# licences of packages whose copyright file has no machine-readable 'Files: *' stanza (or whose
# font files have their own stanza)
FONT_LICENCES = {
    "fonts-liberation": ("GPL-2 with the Liberation font exception (Red Hat EULA in the copyright file, which is "
                         "not in the machine-readable format)", ["(C) 2007 Red Hat, Inc."]),
    "fonts-arphic-ukai": ("Arphic-1999 (Arphic Public License; the copyright file is not in the machine-readable format)",
                          ["Copyright (C) 1999 Arphic Technology Co., Ltd."]),
}
FONT_STANZAS = {"fonts-freefont-ttf": "*/*.ttf */*.otf */*.woff"}


def font_source(pkgs_files: dict) -> dict:
    """One source block for a set drawn from several packages: per package version, files,
    licence; 'package' names them all (comma-separated)."""
    blocks = []
    for pkg, files in pkgs_files.items():
        stanza = FONT_STANZAS.get(pkg, "*")
        lic = copyright_licence(pkg, stanza)
        b = {"package": pkg, "version": dpkg_version(pkg),
             "files": [{"path": shown, "sha256": sha256_file(real)} for shown, real in files],
             "licence": lic["license"], "licence_source": f"{lic['file']} ({lic['stanza']})",
             "copyright": lic["copyright"]}
        if pkg in FONT_LICENCES:
            b["licence"], b["copyright"] = FONT_LICENCES[pkg]
            b["licence_source"] = f"{lic['file']} (read by hand)"
        blocks.append(b)
    return {"package": ", ".join(pkgs_files), "version": {b["package"]: b["version"] for b in blocks},
            "files": [f for b in blocks for f in b["files"]],
            "licence": "; ".join(f"{b['package']}: {b['licence']}" for b in blocks),
            "licence_source": "per package, see 'packages'", "copyright": None, "packages": blocks}


def place_glyph(big: Image.Image, box: int, angle: float, dy: float, dx: float) -> np.ndarray:
    """High-resolution white-on-black 'L' image -> 28x28: rotate (bicubic, expand), crop to the ink,
    downscale (PIL bilinear, antialiased) so that the longer side is `box` px, and paste so that the
    centre of mass lands at (13.5 + dy, 13.5 + dx) rounded to whole pixels (as MNIST centres by mass)."""
    g = big.rotate(angle, resample=Image.BICUBIC, expand=True) if angle else big
    bb = g.getbbox()
    if bb is None:
        raise ValueError("empty glyph")
    g = g.crop(bb)
    w, h = g.size
    k = box / max(w, h)
    g = g.resize((max(1, int(round(w * k))), max(1, int(round(h * k)))), Image.BILINEAR)
    a = np.asarray(g, np.float64)
    tot = a.sum()
    if tot <= 0:
        raise ValueError("empty glyph after scaling")
    cy = (a.sum(1) * np.arange(a.shape[0])).sum() / tot
    cx = (a.sum(0) * np.arange(a.shape[1])).sum() / tot
    hh, ww = a.shape
    top = min(max(int(round((SIDE - 1) / 2 + dy - cy)), 0), SIDE - hh)
    left = min(max(int(round((SIDE - 1) / 2 + dx - cx)), 0), SIDE - ww)
    out = np.zeros((SIDE, SIDE), np.uint8)
    out[top : top + hh, left : left + ww] = np.asarray(g)
    return out


def render_char(font, ch: str) -> Image.Image:
    """The glyph drawn white on black, cropped to its ink with a 2-px black margin."""
    side = 2 * font.size
    im = Image.new("L", (side, side), 0)
    ImageDraw.Draw(im).text((side // 2, side // 2), ch, fill=255, font=font, anchor="mm")
    bb = im.getbbox()
    if bb is None:
        raise ValueError(f"{font.getname()} draws nothing for {ch!r}")
    return im.crop((bb[0] - 2, bb[1] - 2, bb[2] + 2, bb[3] + 2))


GLYPH_RULE = ("each glyph is drawn white (255) on black at {px} px (PIL ImageDraw.text, anchor 'mm', FreeType "
              "antialiasing) and cropped to its ink; then, with rng = numpy.random.default_rng([{seed}, {stream}]), per "
              "frame in order: box = rng.integers({b0}, {b1}), angle = rng.uniform(-{rot}, {rot}) degrees, "
              "(dy, dx) = rng.uniform(-{off}, {off}, 2); the glyph is rotated by angle (bicubic, expanded), cropped to "
              "its ink, downscaled (PIL bilinear, antialiased) so that its longer side is box px (aspect kept), and "
              "pasted into a black 28x28 frame so that its centre of mass is at (13.5 + dy, 13.5 + dx), rounded to "
              "whole pixels and kept inside the frame (MNIST-style centring). 'origins' lists [class, face, box, "
              "angle, dy, dx] per frame.")


def build_glyph_set(args, name, stream, chars, faces, per_class, px, box, rot, off, what, labels_note):
    rng = np.random.default_rng([args.seed, stream])
    fonts = [ImageFont.truetype(real, px, index=idx) for (_, _, real, idx) in faces]
    cache = {}
    n = len(chars) * per_class
    x = np.empty((n, SIDE, SIDE), np.uint8)
    y = np.empty(n, np.uint8)
    origins = []
    for i in range(n):
        c, f = i % len(chars), (i // len(chars)) % len(faces)
        b = int(rng.integers(box[0], box[1] + 1))
        ang = float(rng.uniform(-rot, rot))
        dy, dx = (float(v) for v in rng.uniform(-off, off, 2))
        if (c, f) not in cache:
            cache[(c, f)] = render_char(fonts[f], chars[c])
        x[i] = place_glyph(cache[(c, f)], b, ang, dy, dx)
        y[i] = c
        origins.append([c, f, b, round(ang, 4), round(dy, 4), round(dx, 4)])
    pkgs = {}
    for pkg, shown, real, _ in faces:
        if (shown, real) not in pkgs.setdefault(pkg, []):
            pkgs[pkg].append((shown, real))
    construction = (f"{n} frames of {what}: frame i shows class c = i mod {len(chars)} (the characters in the listed "
                    f"order) in face f = (i // {len(chars)}) mod {len(faces)} (the faces in the listed order), "
                    f"{per_class} frames per class; " + GLYPH_RULE.format(px=px, seed=args.seed, stream=stream, b0=box[0],
                                                                          b1=box[1] + 1, rot=rot, off=off))
    return Built(name, "near-ood", x, y, font_source(pkgs), construction,
                 extra={"labels_note": labels_note, "characters": chars,
                        "faces": [{"package": p, "file": s, "index": k, "name": " ".join(fonts[j].getname())}
                                  for j, (p, s, _, k) in enumerate(faces)],
                        "per_class": np.bincount(y, minlength=len(chars)).tolist(), "origins": origins})


def build_letters(args) -> Built:
    faces = [(pkg, os.path.join(FONTS_DIR, f), os.path.join(args.fonts_dir, f), 0) for pkg, f in LETTER_FONTS]
    return build_glyph_set(args, "letters", SET_STREAMS["letters"], LETTERS, faces, LETTERS_PER_CLASS, 112,
                           (16, 22), 10, 1.5, f"the 52 Latin letters A-Z a-z in {len(faces)} TrueType faces "
                           f"(notMNIST-like)", "label = position in 'characters': 0-25 A-Z, 26-51 a-z")


def build_cjk(args) -> Built:
    faces = [(pkg, os.path.join(FONTS_DIR, f), os.path.join(args.fonts_dir, f), k) for pkg, f, k in CJK_FONTS]
    return build_glyph_set(args, "cjk", SET_STREAMS["cjk"], CJK_CHARS, faces, CJK_PER_CLASS, 112,
                           (18, 23), 8, 1.5, f"{len(CJK_CHARS)} Japanese characters (46 hiragana, then "
                           f"{len(CJK_CHARS) - 46} grade-1 kanji) in {len(faces)} CJK faces (Kuzushiji-like)",
                           "label = position in 'characters': 0-45 hiragana, 46-99 kanji")


def build_icons(args) -> Built:
    rng = np.random.default_rng([args.seed, SET_STREAMS["icons"]])
    found = {}
    for sub in sorted(os.listdir(args.icons_dir)):
        d = os.path.join(args.icons_dir, sub)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith("-symbolic.symbolic.png") and "-rtl" not in f and f not in found:
                found[f] = f"{sub}/{f}"
    icons, files, seen, dups = [], [], set(), 0
    for f in sorted(found):
        rel = found[f]
        im = Image.open(os.path.join(args.icons_dir, rel))
        im.load()
        a = im.convert("RGBA").getchannel("A")  # symbolic icons: one grey, the shape is the alpha
        key = a.tobytes()
        if a.getbbox() is None or key in seen:
            dups += 1
            continue
        seen.add(key)
        icons.append(a)
        files.append(rel)
    n = ICONS_COUNT
    x = np.empty((n, SIDE, SIDE), np.uint8)
    origins = []
    for i in range(n):
        j = i % len(icons)
        b = int(rng.integers(18, 25))
        ang = float(rng.uniform(-8, 8))
        dy, dx = (float(v) for v in rng.uniform(-1.5, 1.5, 2))
        x[i] = place_glyph(icons[j], b, ang, dy, dx)
        origins.append([j, b, round(ang, 4), round(dy, 4), round(dx, 4)])
    shown = os.path.join(ICONS_DIR)
    src = source_block("adwaita-icon-theme", [(os.path.join(shown, r), os.path.join(args.icons_dir, r)) for r in files],
                       note="the catch-all 'Files: *' stanza; the copyright file also has stanzas for some other "
                            "icon files (CC-BY-SA-3.0-US or LGPL-3 and others)")
    return Built(
        "icons", "near-ood", x, None, src,
        f"{n} frames of {len(icons)} distinct Adwaita symbolic icons (96x96 PNG renders, the *-symbolic.symbolic.png "
        f"files of all categories of {ICONS_DIR}, right-to-left variants and pixel-identical or empty icons left out "
        f"({dups})) as white-on-black silhouettes: the icon's alpha channel is the grey value (the icons are one "
        f"flat grey); frame i shows icon i mod {len(icons)} (sorted by file name); with rng = "
        f"numpy.random.default_rng([{args.seed}, {SET_STREAMS['icons']}]), per frame in order: box = rng.integers(18, 25), "
        f"angle = rng.uniform(-8, 8) degrees, (dy, dx) = rng.uniform(-1.5, 1.5, 2); rotated (bicubic, expanded), "
        f"cropped to the ink, downscaled (PIL bilinear, antialiased) to a longer side of box px and pasted with its "
        f"centre of mass at (13.5 + dy, 13.5 + dx) rounded (MNIST-style centring). 'origins' lists "
        f"[icon, box, angle, dy, dx] per frame.",
        extra={"icons": files, "origins": origins})


# ----------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------


_NUM_LIST = re.compile(r"\[\s*(-?\d[\d.eE+-]*(?:\s*,\s*-?\d[\d.eE+-]*)*)\s*\]")


def dumps_compact(obj) -> str:
    """json.dumps(indent=1), with lists of numbers kept on one line (test indices, origins)."""
    return _NUM_LIST.sub(lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", json.dumps(obj, indent=1))



def replace_set(out_root: str, name: str, files: dict) -> bool:
    """Writes a set's files to out_root/name unless they are there byte for byte already (returns
    True then); a new version is written to a temporary folder that then replaces the old one,
    so a reader never sees a half-written set."""
    final = os.path.join(out_root, name)
    unchanged = os.path.isdir(final) and sorted(os.listdir(final)) == sorted(files) and all(
        open(os.path.join(final, k), "rb").read() == v for k, v in files.items())
    if not unchanged:
        tmp = tempfile.mkdtemp(prefix=f".{name}.", dir=out_root)
        os.chmod(tmp, 0o755)
        for k, v in files.items():
            with open(os.path.join(tmp, k), "wb") as fh:
                fh.write(v)
        if os.path.isdir(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
    return unchanged

def write_set(b: Built, out_root: str, seed: int) -> dict:
    files = {"images-idx3-ubyte": idx_images_bytes(b.images)}
    if b.labels is not None:
        assert len(b.labels) == len(b.images)
        files["labels-idx1-ubyte"] = idx_labels_bytes(np.asarray(b.labels))
    manifest = {
        "name": b.name,
        "role": b.role,
        "count": int(b.images.shape[0]),
        "shape": [SIDE, SIDE],
        "dtype": "uint8",
        "files": {k: {"bytes": len(v), "sha256": sha256_bytes(v)} for k, v in files.items()},
        "labels": b.labels is not None,
        "source": b.source,
        "construction": b.construction,
        "seed": seed,
        "built_by": "scripts/data/build_sets.py",
    }
    if b.split is not None:
        manifest["split"] = b.split
    manifest.update(b.extra)
    files["manifest.json"] = (dumps_compact(manifest) + "\n").encode("utf-8")

    unchanged = replace_set(out_root, b.name, files)
    size = sum(len(v) for v in files.values())
    print(f"  {b.name:13s} {b.role:8s} {manifest['count']:6d} images  {size / 1e6:7.2f} MB  "
          f"{'unchanged' if unchanged else 'written'}", flush=True)
    return {
        "name": b.name,
        "role": b.role,
        "count": manifest["count"],
        "path": b.name,
        "labels": b.labels is not None,
        "images_sha256": manifest["files"]["images-idx3-ubyte"]["sha256"],
        "source_package": b.source.get("package"),
        "bytes": size,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "data", "sets"), help="output folder (default: data/sets)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=5000, help="images in photos, textures and noise (default 5000)")
    ap.add_argument("--fmnist-dir", default=FMNIST_DIR)
    ap.add_argument("--opencv-data-dir", default=OPENCV_DATA_DIR)
    ap.add_argument("--gimp-patterns-dir", default=GIMP_PATTERNS_DIR)
    ap.add_argument("--fonts-dir", default=FONTS_DIR, help="TrueType fonts root (letters, cjk)")
    ap.add_argument("--icons-dir", default=ICONS_DIR, help="Adwaita icon folder of one size (icons)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    print(f"building sets under {args.out} (seed {args.seed})", flush=True)
    try:
        entries = []
        for fn in (build_fmnist, build_digits, build_photos, build_textures, build_noise,
                   build_letters, build_cjk, build_icons):
            res = fn(args)
            for b in (res if isinstance(res, list) else [res]):
                entries.append(write_set(b, args.out, args.seed))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

    index = {
        "built_by": "scripts/data/build_sets.py",
        "seed": args.seed,
        "format": "per set: images-idx3-ubyte (IDX, magic 0x00000803, N x 28 x 28 uint8), labels-idx1-ubyte "
                  "(IDX, magic 0x00000801) where labels exist, manifest.json",
        "sets": entries,
    }
    with open(os.path.join(args.out, "INDEX.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")
    total = sum(e["bytes"] for e in entries)
    print(f"done: {len(entries)} sets, {total / 1e6:.1f} MB, {time.perf_counter() - t0:.1f}s; index {os.path.join(args.out, 'INDEX.json')}")


if __name__ == "__main__":
    main()
