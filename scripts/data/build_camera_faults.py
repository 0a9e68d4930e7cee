#!/usr/bin/python3
"""Build the camera-fault sets of the development suite: what a fleet camera sends when it is
pointed at the wrong model or broken, as 1920x1080 JPEG files.

    scripts/data/install-packages.sh                 # opencv-doc, plasma-workspace-wallpapers, python-matplotlib-data
    /usr/bin/python3 scripts/data/build_camera_faults.py   # -> data/sets/camfault-<fault>/, CAMERA-FAULTS.json

Unlike the 28x28 IDX sets of build_sets.py and build_shifts.py, every frame here is a
full-resolution colour JPEG, so the agent's own preprocessing (decode, the model manifest's
grey conversion and letterbox to 28x28) is part of the test, as it is in production.

Sets (``--count`` frames each, default 200):

- ``camfault-photos-opencv``: the 22 opencv-doc photographs of the ``photos`` set
  (build_sets.PHOTO_FILES) as camera frames: scaled to cover 1920x1080 (a crop of 1.0-1.5x
  the covering size at a drawn position), mirrored with probability 1/2, brightness x0.8-1.2.
- ``camfault-photos-other``: the same from photographs of other packages: 11 KDE Plasma
  wallpapers that are photographs (plasma-workspace-wallpapers; the drawn/rendered ones are
  left out) and matplotlib's ``grace_hopper.jpg`` (python-matplotlib-data).
- ``camfault-black``: a capped lens or a dead sensor: a photo frame x0-0.06 plus an offset of
  0-8 and Gaussian sensor noise of sigma 1-4 (0..255 units).
- ``camfault-white``: over-exposure: a photo frame x4-12 plus 60-160, clipped (mostly white).
- ``camfault-defocus``: a photo frame under a Gaussian blur of sigma 12-40 px.
- ``camfault-covered``: a photo frame whose left, right, top or bottom 40-60 % is covered by a
  dark object (level 0-30 with noise sigma 2, edge softened by a 15-px blur).
- ``camfault-capped``: a lens cap: no detail at all, a smooth glow from level 0 at one side
  to 6-16 at the other (the side drawn), as light leaking past the cap.

The fault sets draw their photo from both photo pools (frame i: pool i mod 2). Randomness:
``default_rng([seed, 200, set number, frame])`` per frame, so a set can be rebuilt alone
(``--sets``). Each frame is JPEG-encoded (Pillow, quality drawn in 75-92, 4:2:0). Each set
folder holds ``frame-NNNN.jpg`` and ``manifest.json`` (what it is, its sources with sha256,
the per-frame parameters) and is replaced atomically; a rerun writes the same bytes and
reports ``unchanged``. ``CAMERA-FAULTS.json`` lists the group for bench/verdict-rules.ts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time

import numpy as np
import PIL
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sets as bs  # noqa: E402  (same folder: photo list, hashes, atomic replace)

STREAM = 200  # build_sets.py uses 1..9, build_shifts.py 100
WIDTH, HEIGHT = 1920, 1080
WALLPAPERS_DIR = "/usr/share/wallpapers"
# The photographs among plasma-workspace-wallpapers 5.27 (Autumn is a painting; Flow, Honeywave,
# PastelHills, SafeLanding, Shell, Volna and the PNG ones are renders or drawings).
WALLPAPER_PHOTOS = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
                    "Grey", "Kite", "OneStandsOut", "Path", "summer_1am"]
MATPLOTLIB_PHOTO = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"

# name -> (set number, what it shows)
SETS = {
    "camfault-photos-opencv": (1, "opencv-doc photographs as 1920x1080 camera frames"),
    "camfault-photos-other": (2, "photographs of other Debian packages (KDE wallpapers, matplotlib) as 1920x1080 camera frames"),
    "camfault-black": (3, "capped lens / dead sensor: a photo frame x0-0.06 + 0-8, Gaussian noise sigma 1-4"),
    "camfault-white": (4, "over-exposure: a photo frame x4-12 + 60-160, clipped"),
    "camfault-defocus": (5, "a photo frame under a Gaussian blur of sigma 12-40 px"),
    "camfault-covered": (6, "a photo frame with its left/right/top/bottom 40-60 % covered by a dark object"),
    "camfault-capped": (7, "a lens cap: no detail, a smooth glow from level 0 at one side to 6-16 at the other"),
}


def largest_jpg(folder: str) -> str:
    """The wallpaper's largest JPEG rendition (file names are WIDTHxHEIGHT.jpg)."""
    names = [n for n in os.listdir(folder) if n.endswith(".jpg")]
    if not names:
        raise FileNotFoundError(f"no JPEG in {folder}: run scripts/data/install-packages.sh")
    return os.path.join(folder, max(names, key=lambda n: int(n.split("x")[0]) * int(n.split("x")[1].split(".")[0])))


def photo_pools(args) -> tuple[list[str], list[str], list[dict]]:
    opencv = [os.path.join(args.opencv_data_dir, f) for f in bs.PHOTO_FILES]
    other = [largest_jpg(os.path.join(args.wallpapers_dir, w, "contents", "images")) for w in WALLPAPER_PHOTOS]
    other.append(args.matplotlib_photo)
    for p in opencv + other:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p} is missing: run scripts/data/install-packages.sh")
    sources = [
        bs.source_block("opencv-doc", [(os.path.join(bs.OPENCV_DATA_DIR, os.path.basename(p)), p) for p in opencv]),
        bs.source_block("plasma-workspace-wallpapers", [(p, p) for p in other[:-1]]),
        bs.source_block("python-matplotlib-data", [(MATPLOTLIB_PHOTO, other[-1])]),
    ]
    return opencv, other, sources


_cache: dict[str, Image.Image] = {}


def load(path: str) -> Image.Image:
    if path not in _cache:
        _cache[path] = Image.open(path).convert("RGB")
    return _cache[path]


def camera_frame(path: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The photo as a 1920x1080 frame: covered, cropped at a drawn zoom and position, maybe mirrored."""
    im = load(path)
    zoom = float(rng.uniform(1.0, 1.5))
    cover = max(WIDTH / im.width, HEIGHT / im.height) * zoom
    w, h = max(WIDTH, round(im.width * cover)), max(HEIGHT, round(im.height * cover))
    left, top = int(rng.integers(0, w - WIDTH + 1)), int(rng.integers(0, h - HEIGHT + 1))
    mirror = bool(rng.integers(0, 2))
    gain = float(rng.uniform(0.8, 1.2))
    frame = im.resize((w, h), Image.BILINEAR).crop((left, top, left + WIDTH, top + HEIGHT))
    if mirror:
        frame = frame.transpose(Image.FLIP_LEFT_RIGHT)
    x = np.asarray(frame, dtype=np.float64) * gain
    return x, {"photo": os.path.basename(path), "zoom": round(zoom, 4), "left": left, "top": top, "mirror": mirror, "gain": round(gain, 4)}


def apply_fault(name: str, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    if name == "camfault-black":
        g, off, sigma = rng.uniform(0, 0.06), rng.uniform(0, 8), rng.uniform(1, 4)
        return x * g + off + sigma * rng.standard_normal(x.shape), {"gain": g, "offset": off, "noise_sigma": sigma}
    if name == "camfault-white":
        g, off = rng.uniform(4, 12), rng.uniform(60, 160)
        return x * g + off, {"gain": g, "offset": off}
    if name == "camfault-defocus":
        sigma = rng.uniform(12, 40)
        img = Image.fromarray(np.clip(np.rint(x), 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(sigma))
        return np.asarray(img, dtype=np.float64), {"blur_sigma": sigma}
    if name == "camfault-covered":
        side = ["left", "right", "top", "bottom"][int(rng.integers(0, 4))]
        frac, level = rng.uniform(0.4, 0.6), rng.uniform(0, 30)
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        if side in ("left", "right"):
            k = round(WIDTH * frac)
            mask[:, :k] = 255 if side == "left" else 0
            if side == "right":
                mask[:, WIDTH - k:] = 255
        else:
            k = round(HEIGHT * frac)
            mask[:k] = 255 if side == "top" else 0
            if side == "bottom":
                mask[HEIGHT - k:] = 255
        m = np.asarray(Image.fromarray(mask).filter(ImageFilter.GaussianBlur(15)), dtype=np.float64)[..., None] / 255
        dark = level + 2 * rng.standard_normal(x.shape)
        return x * (1 - m) + dark * m, {"side": side, "fraction": frac, "level": level}
    if name == "camfault-capped":
        return capped(rng)
    return x, {}


def capped(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A lens cap: a linear glow from 0 to `level` across the frame, from the drawn side; no photo shows."""
    level = rng.uniform(6, 16)
    side = ["left", "right", "top", "bottom"][int(rng.integers(0, 4))]
    along = WIDTH if side in ("left", "right") else HEIGHT
    ramp = level * np.arange(along) / along
    if side in ("right", "bottom"):
        ramp = ramp[::-1]
    glow = np.broadcast_to(ramp[None, :] if side in ("left", "right") else ramp[:, None], (HEIGHT, WIDTH))
    return np.repeat(glow[..., None], 3, 2), {"level": level, "side": side}


def build_set(name: str, args, opencv: list[str], other: list[str]) -> tuple[dict, list[dict]]:
    number = SETS[name][0]
    files: dict[str, bytes] = {}
    per_frame = []
    for i in range(args.count):
        rng = np.random.default_rng([args.seed, STREAM, number, i])
        pool = opencv if name == "camfault-photos-opencv" else other if name == "camfault-photos-other" else (opencv, other)[i % 2]
        x, params = camera_frame(pool[int(rng.integers(0, len(pool)))], rng)
        x, fault = apply_fault(name, x, rng)
        quality = int(rng.integers(75, 93))
        buf = io.BytesIO()
        Image.fromarray(np.clip(np.rint(x), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality, subsampling=2)
        files[f"frame-{i:04d}.jpg"] = buf.getvalue()
        per_frame.append({**params, **{k: round(float(v), 4) if not isinstance(v, str) else v for k, v in fault.items()}, "quality": quality})
    return files, per_frame


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(bs.REPO, "data", "sets"), help="output folder (default: data/sets)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=200, help="frames per set (default 200)")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of: " + ", ".join(SETS))
    ap.add_argument("--opencv-data-dir", default=bs.OPENCV_DATA_DIR)
    ap.add_argument("--wallpapers-dir", default=WALLPAPERS_DIR)
    ap.add_argument("--matplotlib-photo", default=MATPLOTLIB_PHOTO)
    args = ap.parse_args()
    asked = [s for s in args.sets.split(",") if s]
    unknown = [s for s in asked if s not in SETS]
    if unknown:
        ap.error(f"--sets: unknown {', '.join(unknown)}; choose from {', '.join(SETS)}")
    t0 = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    try:
        opencv, other, sources = photo_pools(args)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    for name in asked:
        files, per_frame = build_set(name, args, opencv, other)
        manifest = {
            "name": name, "role": "camera-fault", "count": args.count, "format": f"{WIDTH}x{HEIGHT} RGB JPEG files",
            "construction": SETS[name][1], "seed": args.seed, "stream": [args.seed, STREAM, SETS[name][0], "frame"],
            "pillow": PIL.__version__, "source": sources, "per_frame": per_frame,
            "files": {k: bs.sha256_bytes(v) for k, v in files.items()},
            "built_by": "scripts/data/build_camera_faults.py",
        }
        files["manifest.json"] = (bs.dumps_compact(manifest) + "\n").encode("utf-8")
        unchanged = bs.replace_set(args.out, name, files)
        size = sum(len(v) for v in files.values())
        print(f"  {name:24s} {args.count:5d} frames {size / 1e6:7.1f} MB  {'unchanged' if unchanged else 'written'}", flush=True)
    present = [s for s in SETS if os.path.isdir(os.path.join(args.out, s))]
    with open(os.path.join(args.out, "CAMERA-FAULTS.json"), "w") as fh:
        json.dump({"built_by": "scripts/data/build_camera_faults.py", "seed": args.seed, "camera_faults": present}, fh, indent=1)
        fh.write("\n")
    print(f"done: {len(asked)} sets, {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
