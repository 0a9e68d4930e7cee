#!/usr/bin/python3
"""Preview grids of the built sets (PNG), for checking by eye.

    /usr/bin/python3 scripts/data/preview_sets.py            # -> reports/data-preview/{shifts,semantic}.png

shifts.png: one row per corruption type: a few clean frames of shift-clean, then the same
frames at severity 1, 2 and 3. semantic.png: one row per set of INDEX.json (the first frames
after a fixed stride). Reads data/sets (or --sets); writes under the git-ignored reports/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sets as bs  # noqa: E402
import build_shifts as sh  # noqa: E402

Z, GAP, LABEL_W = 3, 6, 150


def load(sets, name):
    return bs.read_idx(os.path.join(sets, name, "images-idx3-ubyte"))


def canvas(rows, cols_px):
    return Image.new("L", (LABEL_W + cols_px, rows * (28 * Z + GAP) + GAP), 40)


def tile(img, draw_on, x, y):
    draw_on.paste(Image.fromarray(img).resize((28 * Z, 28 * Z), Image.NEAREST), (x, y))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default=os.path.join(bs.REPO, "data", "sets"))
    ap.add_argument("--out", default=os.path.join(bs.REPO, "reports", "data-preview"))
    ap.add_argument("--frames", type=int, default=4, help="frames per set (default 4)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    k = args.frames
    t = 28 * Z

    clean = load(args.sets, "shift-clean")
    pick = np.linspace(0, len(clean) - 1, k + 2).astype(int)[1:-1]
    types = [c for c in sh.CORRUPTIONS if os.path.isdir(os.path.join(args.sets, f"shift-{c}-s1"))]
    block = k * t + GAP * 3
    im = canvas(len(types) + 1, 4 * block)
    d = ImageDraw.Draw(im)
    for j, head in enumerate(["clean", "severity 1", "severity 2", "severity 3"]):
        d.text((LABEL_W + j * block, GAP + t // 2), head, fill=255)
    for r, c in enumerate(types, start=1):
        y = GAP + r * (t + GAP)
        d.text((4, y + t // 2 - 6), c, fill=255)
        for j in range(4):
            frames = clean if j == 0 else load(args.sets, f"shift-{c}-s{j}")
            for q, i in enumerate(pick):
                tile(frames[i], im, LABEL_W + j * block + q * t, y)
    p1 = os.path.join(args.out, "shifts.png")
    im.save(p1)

    with open(os.path.join(args.sets, "INDEX.json"), encoding="utf-8") as fh:
        names = [(e["name"], e["role"]) for e in json.load(fh)["sets"] if e["name"] != "fmnist-train"]
    n = 3 * k
    im = canvas(len(names), n * t)
    d = ImageDraw.Draw(im)
    for r, (name, role) in enumerate(names):
        x = load(args.sets, name)
        y = GAP + r * (t + GAP)
        d.text((4, y + t // 2 - 6), f"{name} ({role})", fill=255)
        for q, i in enumerate(np.linspace(0, len(x) - 1, n + 2).astype(int)[1:-1]):
            tile(x[i], im, LABEL_W + q * t, y)
    p2 = os.path.join(args.out, "semantic.png")
    im.save(p2)
    print(p1)
    print(p2)


if __name__ == "__main__":
    main()
