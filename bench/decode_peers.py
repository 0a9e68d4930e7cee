"""Decode + preprocess of camera JPEGs to the model's RGB input, by the peers of the agent's
sharp path (offline tooling, never run by the product): Pillow and OpenCV, each exactly
(full decode, then resize) and with its JPEG shortcut (Pillow ``draft``, OpenCV
``IMREAD_REDUCED_COLOR_*``: DCT-domain scaling to the smallest power-of-two reduction that
still covers the size the resize needs). Called by bench/decode-camera.ts, which times the
agent's paths in the same run and compares the pixels.

    /usr/bin/python3 bench/decode_peers.py --frames DIR --size 224 --crop 1 --out DIR [--rounds 1]

Prints one JSON object: CPU-ms per frame (process time, one thread) per path, and writes
each path's output as <out>/<path>.u8 (N x size x size x 3, uint8, frames in name order).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)


def needed(w: int, h: int, size: int, crop: float) -> tuple[int, int]:
    """The size the frame is resized to before the centre crop, in torchvision's integers
    (Resize(floor(size / crop)) on the shorter side, the longer one truncated), as the
    agent's src/frames/pixels.ts coverCrop."""
    short = int(size / crop + 1e-9)
    if w <= h:
        return short, int(short * h / w)
    return int(short * w / h), short


def centre(a: np.ndarray, size: int) -> np.ndarray:
    h, w = a.shape[:2]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return a[top : top + size, left : left + size]


def pillow(data: bytes, size: int, crop: float, draft: bool) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    rw, rh = needed(im.width, im.height, size, crop)
    if draft:
        im.draft("RGB", (rw, rh))  # the largest DCT scaling that keeps the image >= (rw, rh)
    im = im.convert("RGB").resize((rw, rh), Image.BILINEAR)
    return centre(np.asarray(im), size)


def reduced_flag(w: int, h: int, rw: int, rh: int) -> int:
    for f, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if w // f >= rw and h // f >= rh:
            return flag
    return cv2.IMREAD_COLOR


def opencv(data: bytes, size: int, crop: float, reduced: bool, header: tuple[int, int]) -> np.ndarray:
    buf = np.frombuffer(data, np.uint8)
    w, h = header
    rw, rh = needed(w, h, size, crop)
    im = cv2.imdecode(buf, reduced_flag(w, h, rw, rh) if reduced else cv2.IMREAD_COLOR)
    im = cv2.resize(im, (rw, rh), interpolation=cv2.INTER_AREA)
    return centre(cv2.cvtColor(im, cv2.COLOR_BGR2RGB), size)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", required=True)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--crop", type=float, default=1.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    names = sorted(n for n in os.listdir(a.frames) if n.lower().endswith((".jpg", ".jpeg")))
    frames = [open(os.path.join(a.frames, n), "rb").read() for n in names]
    # Frame sizes from the header, once (the agent reads them from the bytes too).
    headers = [Image.open(io.BytesIO(f)).size for f in frames]
    paths = {
        "pillow-exact": lambda f, hd: pillow(f, a.size, a.crop, False),
        "pillow-draft": lambda f, hd: pillow(f, a.size, a.crop, True),
        "opencv-exact": lambda f, hd: opencv(f, a.size, a.crop, False, hd),
        "opencv-reduced": lambda f, hd: opencv(f, a.size, a.crop, True, hd),
    }
    result = {}
    for name, fn in paths.items():
        fn(frames[0], headers[0])  # warm-up
        best = []
        out = None
        for _ in range(a.rounds):
            t0 = time.process_time()
            out = [fn(f, hd) for f, hd in zip(frames, headers)]
            best.append((time.process_time() - t0) * 1000 / len(frames))
        np.stack(out).astype(np.uint8).tofile(os.path.join(a.out, f"{name}.u8"))
        result[name] = {"cpuMsPerFrame": best}
    print(json.dumps({"frames": len(frames), "paths": result}))


if __name__ == "__main__":
    main()
