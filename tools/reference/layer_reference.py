"""PyTorch / numpy reference of the layer_mahalanobis head (src/compile/heads/layer-mahalanobis.ts),
written from Lee et al. 2018's feature ensemble ("A Simple Unified Framework for Detecting
Out-of-Distribution Samples and Adversarial Attacks", §2.2: the Mahalanobis distance of every
layer's spatially averaged activation, combined over layers), class-agnostic and with a
diagonal covariance, for test/compile/layer-mahalanobis.test.ts (fixtures made by
make_layer_fixtures.py). Statistics and scores in float64 from the float32 model's activations.

Layers: the GAIA taps (every BatchNorm2d output, in call order, as gaia_reference.py hooks
them), at most MAX_LAYER_TAPS of them, evenly spaced from the first to the last.
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch
import torch.nn as nn

import baselines_reference as B

MAX_LAYER_TAPS = 32
VARIANCE_FLOOR = 1e-6  # a channel's variance floor, relative to its layer's mean variance


def read_layers(n_taps: int) -> List[int]:
    if n_taps <= MAX_LAYER_TAPS:
        return list(range(n_taps))
    # JavaScript's Math.round (half up), as the compiler picks them
    return [int(np.floor(i * (n_taps - 1) / (MAX_LAYER_TAPS - 1) + 0.5)) for i in range(MAX_LAYER_TAPS)]


def layer_means(model: nn.Module, x: torch.Tensor) -> List[np.ndarray]:
    """Each read layer's activation averaged over its positions: a list of (N, C_l) float64."""
    with torch.no_grad():
        taps = B._features(model, x)[3]
    return [taps[i].double().mean(dim=(2, 3)).numpy() for i in read_layers(len(taps))]


def layer_stats(train: List[np.ndarray]):
    """Per channel the mean and 1/sqrt(biased variance + floor); per layer 1/std of its ID distance."""
    mean, inv_std, scale = [], [], []
    for m in train:
        mu = m.mean(axis=0)
        var = ((m - mu) ** 2).mean(axis=0)
        floor = max(VARIANCE_FLOOR * var.mean(), np.finfo(np.float64).tiny)
        inv = 1.0 / np.sqrt(var + floor)
        d = (((m - mu) * inv) ** 2).mean(axis=1)
        sd = d.std()
        mean.append(mu)
        inv_std.append(inv)
        scale.append(1.0 / sd if sd > 0 else 1.0)
    return np.concatenate(mean), np.concatenate(inv_std), np.array(scale)


def layer_mahalanobis(means: List[np.ndarray], mean: np.ndarray, inv_std: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """mean over layers of d_l * scale_l, d_l = mean over channels of ((m - mu) / sigma)^2."""
    out = np.zeros(len(means[0]))
    at = 0
    for l, m in enumerate(means):
        c = m.shape[1]
        out += (((m - mean[at:at + c]) * inv_std[at:at + c]) ** 2).mean(axis=1) * scale[l]
        at += c
    return out / len(means)
