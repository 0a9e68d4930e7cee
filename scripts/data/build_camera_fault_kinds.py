#!/usr/bin/env python3
"""Camera-fault frames for the development suite (issue #25): what a broken or misdirected
camera sends a model instead of its own frames, as 1920x1080 JPEGs.

    /usr/bin/python3 scripts/data/build_camera_faults.py   # -> data/sets/camera-*/ (about 40 s, 60 MB)

Kinds (one folder each, data/sets/camera-<kind>/, and all of them in data/sets/camera-faults/
as relative symlinks):

- `photo`: photographs fed as a wrong-model camera: OpenCV's sample photographs (opencv-doc)
  and KDE Plasma's wallpapers (plasma-workspace-wallpapers), a random 16:9 crop of 60-100 % of
  the largest one, scaled to 1920x1080
- `black`: a dead or covered camera at night: level 0-2
- `white`: a blinded or overexposed camera: level 253-255
- `capped`: a lens cap: dark (level 6-16 at the bright side), a smooth glow across, no detail
- `defocused`: a photo as above, Gaussian blur of sigma 24 px at 1080p
- `half-covered`: a photo as above with its left half behind a flat dark grey (level 20) obstruction

Each frame is a JPEG of quality 80-91 (4:2:0). Deterministic for a seed; inputs are Debian
packages only (scripts/data/install-packages.sh installs opencv-doc; plasma-workspace-wallpapers
is optional, the photos come from opencv-doc alone without it). manifest.json in each folder
records the inputs' sha256 and the construction. The agent reads any of these folders with
`calibrate`/`eval` (a folder of image files), through the model's own preprocessing.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image, ImageFilter

OPENCV_DATA_DIR = "/usr/share/doc/opencv-doc/examples/data"
OPENCV_PHOTOS = ["aero1.jpg", "aero3.jpg", "baboon.jpg", "building.jpg", "butterfly.jpg", "fruits.jpg", "home.jpg",
                 "leuvenA.jpg", "leuvenB.jpg", "messi5.jpg", "orange.jpg", "apple.jpg", "lena.jpg", "starry_night.jpg"]
WALLPAPER_DIR = "/usr/share/wallpapers"
KINDS = ["photo", "black", "white", "capped", "defocused", "half-covered"]
W, H = 1920, 1080


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def photo_files(opencv_dir, wallpaper_dir):
    files = [os.path.join(opencv_dir, f) for f in OPENCV_PHOTOS if os.path.exists(os.path.join(opencv_dir, f))]
    if os.path.isdir(wallpaper_dir):
        for name in sorted(os.listdir(wallpaper_dir)):
            images = os.path.join(wallpaper_dir, name, "contents", "images")
            if not os.path.isdir(images):
                continue
            # The landscape picture of each wallpaper, the largest first.
            jpgs = sorted((f for f in os.listdir(images) if f.endswith(".jpg")),
                          key=lambda f: -int(f.split("x")[0]) if f.split("x")[0].isdigit() else 0)
            landscape = [f for f in jpgs if "x" in f and f.split(".")[0].split("x")[0].isdigit()
                         and int(f.split("x")[0]) > int(f.split(".")[0].split("x")[1])]
            if landscape:
                files.append(os.path.join(images, landscape[0]))
    if not files:
        sys.exit(f"no photographs found in {opencv_dir} (install opencv-doc: scripts/data/install-packages.sh)")
    return files


def view(photos, cache, rng):
    """A random 16:9 crop of 60-100 % of the largest such box of a random photo, at 1920x1080 (RGB)."""
    path = photos[rng.integers(len(photos))]
    if path not in cache:
        img = Image.open(path).convert("RGB")
        # Big wallpapers are first halved: crops of them still exceed 1080p.
        while img.width > 3 * W:
            img = img.resize((img.width // 2, img.height // 2), Image.BILINEAR)
        cache[path] = img
    img = cache[path]
    full_w = min(img.width, img.height * 16 // 9)
    w = max(32, int(full_w * rng.uniform(0.6, 1.0)))
    h = max(18, w * 9 // 16)
    left = int(rng.integers(img.width - w + 1))
    top = int(rng.integers(img.height - h + 1))
    return img.crop((left, top, left + w, top + h)).resize((W, H), Image.BILINEAR), path


def frame(kind, photos, cache, rng):
    if kind == "black":
        return Image.new("RGB", (W, H), (int(rng.integers(3)),) * 3), None
    if kind == "white":
        return Image.new("RGB", (W, H), (255 - int(rng.integers(3)),) * 3), None
    if kind == "capped":
        level = rng.uniform(6, 16)
        row = np.round(level * np.arange(W) / W).astype(np.uint8)
        return Image.fromarray(np.repeat(np.repeat(row[None, :, None], H, 0), 3, 2)), None
    img, src = view(photos, cache, rng)
    if kind == "defocused":
        return img.filter(ImageFilter.GaussianBlur(24)), src
    if kind == "half-covered":
        a = np.asarray(img).copy()
        a[:, : W // 2] = 20
        return Image.fromarray(a), src
    return img, src


def build(out_root, count, seed, photos):
    made = {}
    for k, kind in enumerate(KINDS):
        rng = np.random.default_rng([seed, k])
        cache = {}
        tmp = tempfile.mkdtemp(prefix=f".camera-{kind}-", dir=out_root)
        origins = []
        for i in range(count):
            img, src = frame(kind, photos, cache, rng)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=int(rng.integers(80, 92)), subsampling=2)
            name = f"{kind}-{i:04d}.jpg"
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(buf.getvalue())
            origins.append({"file": name, "photo": src})
        manifest = {
            "name": f"camera-{kind}", "role": "camera-fault", "count": count, "shape": [H, W, 3], "format": "jpeg",
            "seed": seed, "construction": __doc__.split("Kinds")[1].split("Each frame")[0].strip(),
            "kind": kind, "origins": origins,
            "sources": [{"file": p, "sha256": sha256(p)} for p in photos] if kind in ("photo", "defocused", "half-covered") else [],
        }
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        final = os.path.join(out_root, f"camera-{kind}")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        made[kind] = final
        print(f"camera-{kind}: {count} frames -> {final}")
    combined = os.path.join(out_root, "camera-faults")
    shutil.rmtree(combined, ignore_errors=True)
    os.makedirs(combined)
    for kind, folder in made.items():
        for name in sorted(os.listdir(folder)):
            if name.endswith(".jpg"):
                os.symlink(os.path.join("..", os.path.basename(folder), name), os.path.join(combined, name))
    print(f"camera-faults: {count * len(KINDS)} frames (symlinks) -> {combined}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/sets")
    ap.add_argument("--count", type=int, default=50, help="frames per kind (default 50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opencv-data-dir", default=OPENCV_DATA_DIR)
    ap.add_argument("--wallpaper-dir", default=WALLPAPER_DIR)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    build(a.out, a.count, a.seed, photo_files(a.opencv_data_dir, a.wallpaper_dir))


if __name__ == "__main__":
    main()
