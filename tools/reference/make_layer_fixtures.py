"""Fixtures of the layer_mahalanobis head for test/compile/layer-mahalanobis.test.ts, in
test/fixtures/parity/<arch>/baselines/ (only these files; the other baselines are left alone):

    /usr/bin/python3 tools/reference/make_layer_fixtures.py [--arch NAME ...]

The same seeded "training" inputs as make_baseline_fixtures.py (256 randn frames, seed 4321)
and the same committed models (architectures.build(name, seed=0), checked against logits.npy):

    layer_train_means.npy   (N, Σ C) float32 channel means of the training inputs (for the estimator test)
    layer_channels.npy      (L,) float64 channel count of each read layer
    layer_mean.npy, layer_inv_std.npy (Σ C,), layer_scale.npy (L,)   float64 statistics
    layer_means.npy         (B, Σ C) float32 channel means of input.npy
    layer_mahalanobis.npy   (B,) float64 scores of input.npy
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import architectures as A  # noqa: E402
import layer_reference as L  # noqa: E402
from make_baseline_fixtures import STATS_FRAMES, STATS_SEED, committed_models  # noqa: E402


def main() -> None:
    for name, out, model, x, _logits in committed_models(__doc__):
        gen = torch.Generator().manual_seed(STATS_SEED)
        train = torch.randn((STATS_FRAMES, *A.input_shape(name)), generator=gen)
        # Statistics from the float32 means the graph would hand calibrate, as calibrate estimates them.
        train_means = [m.astype(np.float32).astype(np.float64) for m in L.layer_means(model, train)]
        mean, inv_std, scale = L.layer_stats(train_means)
        means = L.layer_means(model, x)
        save = lambda n, v: np.save(os.path.join(out, f"{n}.npy"), v)  # noqa: E731
        save("layer_train_means", np.concatenate(train_means, axis=1).astype(np.float32))
        save("layer_channels", np.array([m.shape[1] for m in means], dtype=np.float64))
        save("layer_mean", mean)
        save("layer_inv_std", inv_std)
        save("layer_scale", scale)
        save("layer_means", np.concatenate(means, axis=1).astype(np.float32))
        score = L.layer_mahalanobis(means, mean, inv_std, scale)
        save("layer_mahalanobis", score)
        print(f"{name}: layers={len(means)} channels={mean.shape[0]} scores={score.round(3)}")


if __name__ == "__main__":
    main()
