"""Fixtures for test/compile/saliency-parity.test.ts in test/fixtures/parity/<arch>/saliency/.

    /usr/bin/python3 tools/reference/make_saliency_fixtures.py [--arch NAME ...]   # ~5 s

Seeded and idempotent. The models are architectures.build(name, seed=0), as make_fixtures.py
builds them; the script checks their logits against the committed logits.npy (so the maps
belong to the committed model.onnx / model.folded.onnx) and writes, for input.npy:

    cam.npy        (B, h, w) the class activation map of the predicted class (saliency_reference.cam)
    layercam.npy   (B, h, w) LayerCAM at the last tap (saliency_reference.layercam)
    predicted.npy  (B,) float32 predicted class
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import architectures as A  # noqa: E402
import gaia_reference as G  # noqa: E402
import saliency_reference as S  # noqa: E402

ROOT = os.path.join(HERE, "..", "..", "test", "fixtures", "parity")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--arch", action="append")
    args = p.parse_args()
    torch.set_num_threads(1)
    for name in args.arch or A.PARITY_ARCHITECTURES:
        d = os.path.join(ROOT, name)
        out = os.path.join(d, "saliency")
        os.makedirs(out, exist_ok=True)
        model = A.build(name, seed=0)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy")))
        logits = G.logits_of(model, x).detach()
        ref = torch.from_numpy(np.load(os.path.join(d, "logits.npy")))
        assert (logits - ref).abs().max() <= 1e-5 * ref.abs().max(), f"{name}: the model is not the committed one"
        maps = {"cam": S.cam(model, x), "layercam": S.layercam(model, x)}
        for k, v in maps.items():
            v = v.detach().numpy().astype(np.float32)
            assert v.min() >= 0 and np.allclose(v.reshape(len(v), -1).max(1), 1), f"{name} {k}: not normalised"
            np.save(os.path.join(out, f"{k}.npy"), v)
        np.save(os.path.join(out, "predicted.npy"), logits.argmax(1).numpy().astype(np.float32))
        print(f"{name}: cam {tuple(maps['cam'].shape)} layercam {tuple(maps['layercam'].shape)} predicted {logits.argmax(1).tolist()}")


if __name__ == "__main__":
    main()
