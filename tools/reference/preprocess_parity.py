"""Preprocessing parity with torchvision: real photographs as camera-sized JPEGs, and what
torchvision's documented ImageNet eval transforms make of them, for
test/frames/torchvision-parity.test.ts (which runs gaia-sentinel's Preprocessor with the
`torchvision` preset on the same JPEGs and bounds the difference).

    apt-get install opencv-doc python3-torch python3-torchvision python3-pil
    /usr/bin/python3 tools/reference/preprocess_parity.py            # fixture + full set
    GAIA_PARITY_DIR=/tmp/gaia-preprocess-parity npx vitest run test/frames/torchvision-parity.test.ts

The photographs are the ones Debian's opencv-doc ships (OpenCV's sample data). Each is
cover-cropped to a camera aspect, resized with PIL (Lanczos) and re-encoded as a baseline
JPEG (quality 85, 4:2:0, as cameras send), all deterministic. The full set (51 images)
goes to --all (not committed); a subset of 13 is the committed fixture.

The reference is torchvision's own pipeline, as its ImageNet classifiers document it:
PIL decode + convert("RGB") (torchvision's pil_loader), Resize(256) (bilinear, antialiased
for PIL images), CenterCrop(224), ToTensor(), Normalize(ImageNet mean, std). It is stored
as the 8-bit values of the cropped image (CHW, raw uint8): ToTensor() divides those by 255
and Normalize is affine, so they are torchvision's tensor exactly, at a quarter of its
float32 size; the script checks that reconstruction against the real tensor and stops if
it differs.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "test" / "fixtures" / "preprocess-parity"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]

# Photographs only (no drawings, logos, renders or text scans); the last four are grey, as
# infrared cameras send.
SOURCES = [
    "aero1.jpg", "aero3.jpg", "aloeL.jpg", "aloeR.jpg", "apple.jpg", "baboon.jpg",
    "board.jpg", "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_modified.jpg",
    "ela_original.jpg", "fruits.jpg", "graf1.png", "graf3.png", "home.jpg", "left.jpg",
    "right.jpg", "leuvenA.jpg", "leuvenB.jpg", "licenseplate_motion.jpg", "messi5.jpg",
    "orange.jpg", "pca_test1.jpg", "rubberwhale1.png", "rubberwhale2.png", "smarties.png",
    "squirrel_cls.jpg", "starry_night.jpg", "stuff.jpg", "sudoku.png", "text_defocus.jpg",
    "text_motion.jpg", "box_in_scene.png", "basketball1.png", "left01.jpg", "right05.jpg",
]
# Camera and odd sizes; None keeps the photograph's own size. 640x480 → 341x256 makes
# CenterCrop round a half pixel (58.5 → 58, Python rounds half to even).
SIZES = [(1920, 1080), (1280, 720), (640, 480), (480, 640), (800, 800), (1366, 768), None]
# Sources that also get a 1920x1080 variant, the commonest camera frame.
EXTRA_1080P = 14
# Frames below the 256 box, which torchvision scales up (224x224 goes to 256x256 and back).
SMALL = [("fruits.jpg", (320, 240)), ("home.jpg", (224, 224))]
# The committed subset of the full set: every size, colour and grey.
FIXTURE_PICK = [
    ("aero1.jpg", (1920, 1080)), ("butterfly.jpg", (1920, 1080)), ("aero3.jpg", (1280, 720)),
    ("home.jpg", (1280, 720)), ("aloeL.jpg", (640, 480)), ("pca_test1.jpg", (640, 480)),
    ("aloeR.jpg", (480, 640)), ("apple.jpg", (800, 800)), ("baboon.jpg", (1366, 768)),
    ("board.jpg", None), ("squirrel_cls.jpg", None), ("box_in_scene.png", (1366, 768)),
    ("fruits.jpg", (320, 240)),
]


def camera_jpeg(src: Path, size: tuple[int, int] | None, dest: Path) -> None:
    """The photograph cover-cropped to `size`'s aspect, resized to it, saved as a JPEG."""
    img = Image.open(src)
    img = img.convert("L" if img.mode in ("L", "LA", "I;16") else "RGB")
    if size is not None:
        w, h = img.size
        tw, th = size
        if w * th > h * tw:  # wider than the target: cut the sides
            cw = h * tw // th
            img = img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
        else:
            ch = w * th // tw
            img = img.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
        img = img.resize(size, Image.Resampling.LANCZOS)
    img.save(dest, "JPEG", quality=85, subsampling="4:2:0", optimize=False, progressive=False)


def torchvision_reference(path: Path) -> np.ndarray:
    """torchvision's tensor for the JPEG, as the 8-bit CHW values it was computed from."""
    img = Image.open(path).convert("RGB")  # torchvision.datasets.folder.pil_loader
    cropped = transforms.CenterCrop(224)(transforms.Resize(256)(img))
    tensor = transforms.Normalize(MEAN, STD)(transforms.ToTensor()(cropped))
    u8 = np.asarray(cropped, dtype=np.uint8).transpose(2, 0, 1).copy()
    again = (torch.from_numpy(u8).float() / 255 - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    worst = (again - tensor).abs().max().item()
    if worst > 1e-5:
        raise SystemExit(f"{path.name}: the uint8 values do not reproduce torchvision's tensor ({worst})")
    return u8


def variants() -> list[tuple[str, tuple[int, int] | None]]:
    out = [(s, SIZES[i % len(SIZES)]) for i, s in enumerate(SOURCES)]
    out += [(s, (1920, 1080)) for s, size in out[:EXTRA_1080P] if size != (1920, 1080)]
    return out + SMALL


def name_of(source: str, size: tuple[int, int] | None) -> str:
    return f"{Path(source).stem}-{'native' if size is None else f'{size[0]}x{size[1]}'}.jpg"


def write_set(out: Path, picks: list[tuple[str, tuple[int, int] | None]], data: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    images = []
    for source, size in picks:
        name = name_of(source, size)
        camera_jpeg(data / source, size, out / name)
        ref = name.replace(".jpg", ".u8")
        torchvision_reference(out / name).tofile(out / ref)
        w, h = Image.open(out / name).size
        images.append({"file": name, "width": w, "height": h, "source": source, "reference": ref})
    index = {
        "generator": "tools/reference/preprocess_parity.py",
        "photographs": "Debian opencv-doc, /usr/share/doc/opencv-doc/examples/data (OpenCV sample data)",
        "transforms": "PIL convert('RGB'), Resize(256), CenterCrop(224), ToTensor(), Normalize(mean, std)",
        "reference": "uint8, shape [3, 224, 224], C order: torchvision's tensor is (v / 255 - mean) / std",
        "mean": MEAN,
        "std": STD,
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "PIL": PIL.__version__},
        "images": images,
    }
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"{out}: {len(images)} images, {total / 1e6:.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the photographs (default: opencv-doc's)")
    ap.add_argument("--all", type=Path, default=Path("/tmp/gaia-preprocess-parity"), help="where the full set goes")
    ap.add_argument("--fixture", type=Path, default=FIXTURE, help="where the committed subset goes")
    args = ap.parse_args()
    assert all(pick in variants() for pick in FIXTURE_PICK), "the fixture is a subset of the full set"
    write_set(args.all, variants(), args.data)
    write_set(args.fixture, FIXTURE_PICK, args.data)


if __name__ == "__main__":
    main()
